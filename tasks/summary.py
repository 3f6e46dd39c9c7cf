"""Summarise a run: what was received, loaded and rejected, and the exit code it deserves."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from fupin.config import Paths
from tasks.records import Outcome

EXIT_OK, EXIT_FAILED, EXIT_REJECTED = 0, 1, 3


@task(cache_policy=NO_CACHE)
def summarise_run(
    outcome_paths: list[str], loaded: dict[str, Any], failed: dict[str, str], paths: Paths
) -> dict[str, Any]:
    """Counts per status, one line per submission, failed provinces, and the exit code."""
    outcomes = sorted((Outcome.load(p) for p in outcome_paths), key=lambda o: (o.province_code, o.file_name))
    submissions = [
        {
            "submission_id": o.submission_id,
            "province_code": o.province_code,
            "file_name": o.file_name,
            "dataset": o.dataset,
            "status": o.status,
            "rows_total": o.rows_total,
            "rows_loaded": o.rows_loaded,
            "rows_rejected": o.rows_rejected,
            "message": o.message,
        }
        for o in outcomes
    ]
    superseded = set(loaded.get("superseded", []))
    for s in submissions:
        if s["submission_id"] in superseded:
            s["status"] = "superseded"
    by_status: dict[str, int] = {}
    for s in submissions:
        by_status[s["status"]] = by_status.get(s["status"], 0) + 1
    rejected = any(o.status == "rejected" or o.rows_rejected for o in outcomes)
    exit_code = EXIT_FAILED if failed else EXIT_REJECTED if rejected else EXIT_OK
    return {
        "home": str(paths.home),
        "received": len(outcomes),
        "by_status": by_status,
        "rows_loaded": sum(o.rows_loaded for o in outcomes if o.status in ("loaded", "partially_loaded")),
        "rows_rejected": sum(o.rows_rejected for o in outcomes),
        "submissions": submissions,
        "failed_provinces": failed,
        "data_tests_failed": loaded.get("data_tests", {}),
        "warehouse_changed": loaded.get("changed", False),
        "exit_code": exit_code,
    }
