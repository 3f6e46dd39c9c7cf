"""Rebuild the warehouse from the Parquet lake and the ledger: the proof that the lake is the source of truth.

A fresh DuckDB file is built next to the warehouse from data/lake/** and meta.submissions /
meta.rejections, then compared table by table with the current one. With ``replace`` it is
renamed over the warehouse (only when identical, unless ``force``).
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.states import Completed, Failed, State

from fupin.core.config import Paths
from fupin.core.locking import run_lock
from fupin.tasks.archive import (
    carry_over_history,
    compare_warehouses,
    export_ledger,
    ledger_dir,
    ledger_outcomes,
    swap_in,
)
from fupin.tasks.load import load_warehouse
from fupin.tasks.recover import recover_warehouse
from fupin.tasks.summary import RunFailed


@flow(name="rebuild-warehouse")
def rebuild_warehouse(
    home: str | None = None, replace: bool = False, force: bool = False, lock_wait_seconds: float = 60.0
) -> dict[str, Any] | State:
    """Build <home>/rebuild/warehouse.duckdb from the lake and the ledger and compare it with the warehouse."""
    started = datetime.now(UTC).isoformat(timespec="seconds")
    paths = Paths.from_home(home)
    if not paths.warehouse.exists() and not (ledger_dir(paths) / "meta.submissions.parquet").exists():
        return Failed(message=f"no warehouse at {paths.warehouse} and no ledger copy: nothing to rebuild from")
    scratch = Paths(paths.home / "rebuild")
    shutil.rmtree(scratch.home, ignore_errors=True)
    with run_lock(paths.lock, lock_wait_seconds):
        recovered = recover_warehouse(paths)  # missing or unreadable: nothing to compare with, rebuilt in place
        if recovered:
            return Completed(
                message=recovered, data={"started_at": started, "replaced": True, "rebuilt": str(paths.warehouse)}
            )
        outcomes = ledger_outcomes(paths, scratch.staging)
        load_warehouse(outcomes, scratch, replay=True)  # replays what was decided: nothing is held again
        carry_over_history(paths, scratch.warehouse)
        differences = compare_warehouses(paths.warehouse, scratch.warehouse)
        identical = not any(n for d in differences.values() for n in d.values())
        replaced = bool(replace and (identical or force))
        if replaced:
            swap_in(scratch.warehouse, paths)
            export_ledger(paths)
    report = {
        "started_at": started,
        "submissions": len(outcomes),
        "identical": identical,
        "replaced": replaced,
        "differences": differences,
        "rebuilt": str(paths.warehouse if replaced else scratch.warehouse),
    }
    get_run_logger().info("rebuild: %s", report)
    if not identical:
        differing = ", ".join(t for t, d in differences.items() if any(d.values()))
        message = f"the rebuilt warehouse differs from the current one in {differing}"
        return Failed(message=message, data=RunFailed(message, report))
    return Completed(message="the rebuilt warehouse is identical to the current one", data=report)
