"""Backfill: process again, from the raw archive, the submissions of some provinces and years.

For a fixed parser or mapping: the files are not pulled again; each archived submission goes
through parse → normalise → validate → lake once more and only the given years' facts are
replaced in the warehouse, in the submissions' original arrival order.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from typing import Any

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from fupin.core.config import Paths
from fupin.core.locking import run_lock
from fupin.core.reference import resolve_province
from fupin.flows.nightly import collect_outcomes, finish, submit_chain
from fupin.tasks.archive import archived_submissions, keep_years
from fupin.tasks.load import SHRINK_GUARD, load_warehouse
from fupin.tasks.recover import recover_warehouse
from fupin.tasks.summary import mark_crashed_runs, record_run, summarise_run


@flow(name="backfill", task_runner=ThreadPoolTaskRunner(max_workers=4))
def backfill(
    provinces: list[str],
    years: list[int] | None = None,
    home: str | None = None,
    lock_wait_seconds: float = 60.0,
    shrink_guard: float | None = SHRINK_GUARD,
) -> dict[str, Any]:
    """Re-process the archived files of ``provinces`` (codes or names) for ``years`` (all years if empty)."""
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    paths = Paths.from_home(home)
    codes = [resolve_province(str(p)) for p in provinces]
    record_run(paths, started_at, None, flow_name="backfill")
    with run_lock(paths.lock, lock_wait_seconds):
        mark_crashed_runs(paths)
        recover_warehouse(paths)
        received = archived_submissions(paths, codes, years)
        failed: dict[str, str] = {}
        outcome_paths = collect_outcomes([(r, submit_chain(r, paths)) for r in received], failed)
        outcome_paths = [keep_years(p, years) for p in outcome_paths]
        loaded = load_warehouse(outcome_paths, paths, shrink_guard)
        summary = summarise_run(outcome_paths, loaded, failed, paths)
        shutil.rmtree(paths.staging, ignore_errors=True)
    return finish(summary, paths, started_at, flow_name="backfill")
