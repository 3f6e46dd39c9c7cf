"""Load: ledger, facts and marts into DuckDB — built in a copy, swapped in atomically.

The run writes ``warehouse.duckdb.building`` (a copy of the current file), loads each submission
in its own transaction, rebuilds the marts, checkpoints, closes, and renames the copy over
``warehouse.duckdb``. An analyst holding the old file open keeps reading the old version; a
run that dies leaves the old file untouched. Its parts: the ledger (tasks/load/ledger.py), facts into their
history tables (facts.py), one submission's transaction with the plausibility gate (apply.py),
the record of changed figures (changes.py) and the swap's safety (swap.py); apply_ddl migrates
an older warehouse first (warehouse/migrations.py).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import duckdb
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from fupin.core.config import Paths
from fupin.core.faults import fault_point
from fupin.core.progress import report
from fupin.tasks.archive import export_ledger, read_only
from fupin.tasks.calendar import build_submission_status
from fupin.tasks.load.apply import load_submission
from fupin.tasks.load.changes import record_indicator_changes, snapshot_indicators
from fupin.tasks.load.ledger import LIVE
from fupin.tasks.load.swap import WarehouseBusy, claim_warehouse, still_ours
from fupin.tasks.receipt import sync_receipts, write_receipt
from fupin.tasks.records import Outcome
from fupin.tasks.summary import create_runs_view
from fupin.warehouse.build import apply_ddl, build_marts, load_reference, run_data_tests
from fupin.warehouse.comments import chinese_first
from fupin.warehouse.migrations import is_current

# the run's bound on a total's fall (the shrink guard), replacing the contracts' plausibility.max_fall when set:
# FUPIN_SHRINK_GUARD, or the flow parameter shrink_guard; None: each contract's own
SHRINK_GUARD = float(os.environ["FUPIN_SHRINK_GUARD"]) if os.environ.get("FUPIN_SHRINK_GUARD") else None
# registry and county figures may differ by rounding and timing; beyond this share they are listed
RECONCILIATION_TOLERANCE = 0.005
STORAGE_COMPATIBILITY = "v1.4.0"
# DuckDB's share of the run's memory while it loads millions of households and rebuilds the marts over them: it
# spills to disk beyond this, so the run's peak stays the same at 2 and at 30 million households
# (benchmarks/scale.py); the flow's own ~400 MiB (Prefect, the registry's reader) come on top
LOAD_MEMORY = "384MB"


def up_to_date(warehouse: Path) -> bool:
    """Whether the warehouse has the current schema version (a newer one is refused: SchemaTooNew)."""
    with read_only(warehouse) as con:
        return is_current(con)


# the data test (warehouse/tests/) that fails when a headline figure lacks counties
HEADLINE_TEST = "assert_headline_figures_complete"


def headline_incomplete(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The headline figures that lack counties (data test assert_headline_figures_complete), as people read them."""
    cur = con.execute(
        "select indicator, indicator_name, scope_code, scope_name, period, coverage_note from marts.headline "
        "where counties_covered < counties_expected order by ordinal, scope_code, period"
    )
    return [dict(zip([d[0] for d in cur.description], row, strict=True)) for row in cur.fetchall()]


@task(cache_policy=NO_CACHE)
def load_warehouse(
    outcome_paths: list[str],
    paths: Paths,
    shrink_guard: float | None = SHRINK_GUARD,
    decisions: list[dict[str, Any]] | None = None,
    replay: bool = False,
) -> dict[str, Any]:
    """Load every outcome in the order it takes effect, rebuild marts, run data tests, swap the file in.

    ``shrink_guard`` replaces the contracts' bound on a total's fall (None: each contract's); ``replay``
    applies everything (a rebuild replays what was decided: nothing is held again); ``decisions`` are a
    person's approvals and discards, written to meta.decisions with the submissions they decide.
    """
    outcomes = sorted(
        ((Outcome.load(p), p) for p in outcome_paths),
        key=lambda op: (op[0].applied_at or op[0].received_at, op[0].submission_id),
    )
    if not outcomes and paths.warehouse.exists() and up_to_date(paths.warehouse):  # else: migrated below
        # nothing new, nothing written: the headline figures still published without all their counties are
        # reported again (the data test's verdict on the warehouse as it stands), so that no run reads as complete
        with read_only(paths.warehouse) as con:
            incomplete = headline_incomplete(con)
        checks = {HEADLINE_TEST: len(incomplete)} if incomplete else {}
        return {
            "loaded": [],
            "superseded": [],
            "held": [],
            "data_tests": checks,
            "incomplete": incomplete,
            "changed": False,
        }
    paths.home.mkdir(parents=True, exist_ok=True)
    building = paths.warehouse.with_name(paths.warehouse.name + ".building")
    for stale in (building, Path(str(building) + ".wal")):
        stale.unlink(missing_ok=True)
    claimed = claim_warehouse(paths.warehouse)
    if claimed:
        shutil.copyfile(paths.warehouse, building)
    superseded: list[str] = []
    # written in a storage format the duckdb CLI from PyPI (1.x) and BI drivers can still open
    con = duckdb.connect(str(building), config={"storage_compatibility_version": STORAGE_COMPATIBILITY})
    con.execute(f"set memory_limit = '{LOAD_MEMORY}'")
    try:
        con.execute("begin")
        apply_ddl(con)
        create_runs_view(con, paths)
        load_reference(con, paths.home / "config" / "areas.csv")
        con.execute("commit")
        snapshot_indicators(con)
        for o, _ in outcomes:
            superseded += load_submission(con, o, shrink_guard, replay)
        for d in decisions or []:
            con.execute(
                "insert into meta.decisions (submission_id, decision, decided_by, decided_at, reason) "
                "values (?, ?, ?, ?, ?)",
                [d["submission_id"], d["decision"], d["decided_by"], d["decided_at"], d.get("reason")],
            )
        con.execute("begin")
        build_marts(con)
        build_submission_status(con, paths)
        chinese_first(con)  # every comment: Chinese name first, English after (warehouse/comments.py)
        applied = [o.submission_id for o, _ in outcomes if o.status in LIVE]
        changes = record_indicator_changes(con, applied, flow_run.id or "local")
        failures = run_data_tests(con)
        incomplete = headline_incomplete(con) if failures else []
        unreconciled = con.execute(
            "select county_code, county_name, year, registry_poor, declared_poor, registry_lifted, declared_lifted "
            "from marts.household_reconciliation where greatest(poor_difference_share, lifted_difference_share) > ? "
            "order by county_code, year",
            [RECONCILIATION_TOLERANCE],
        ).fetchall()
        con.execute("commit")
        con.execute("checkpoint")
        fault_point("marts")
    except BaseException:
        con.close()
        building.unlink(missing_ok=True)
        raise
    con.close()
    try:
        still_ours(paths.warehouse, claimed)
    except WarehouseBusy:
        building.unlink(missing_ok=True)
        raise
    os.replace(building, paths.warehouse)
    fault_point("swap")
    export_ledger(paths)  # the ledger's copy outside the warehouse, for recovery (tasks.archive.recover_warehouse)
    for o, path in outcomes:
        o.save(Path(path))  # a held submission's status and message were decided here
        write_receipt(paths, o)
    sync_receipts(paths)  # those whose ledger row this load changed (superseded), and any a killed one left
    report("all", "load", f"{len(outcomes)} submissions")
    columns = ("county_code", "county_name", "year", "registry_poor", "declared_poor", "registry_lifted")
    return {
        "loaded": [o.submission_id for o, _ in outcomes],
        "superseded": superseded,
        "held": [o.submission_id for o, _ in outcomes if o.status == "held"],
        "indicator_changes": changes,
        "data_tests": failures,
        "incomplete": incomplete,
        "unreconciled": [dict(zip((*columns, "declared_lifted"), row, strict=True)) for row in unreconciled],
        "changed": True,
    }
