"""Load: ledger, facts and marts into DuckDB — built in a copy, swapped in atomically.

The run writes ``warehouse.duckdb.building`` (a copy of the current file), loads each submission
in its own transaction, rebuilds the marts, checkpoints, closes, and renames the copy over
``warehouse.duckdb``. An analyst holding the old file open keeps reading the old version; a
run that dies leaves the old file untouched.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import duckdb
from prefect import task
from prefect.cache_policies import NO_CACHE

from fupin.config import Paths
from fupin.faults import fault_point
from fupin.progress import report
from tasks.receipt import write_receipt
from tasks.records import Outcome
from tasks.summary import create_runs_view
from warehouse.build import apply_ddl, build_marts, create_household_views, load_reference, run_data_tests

# facts are versioned: each *_history table keeps every version, core.fct_* views show the current ones
FACT_TABLES = {
    "fund_allocation": "core.fct_fund_allocation_history",
    "poverty_status": "core.fct_poverty_status_history",
    "social_org_project": "core.fct_social_org_project_history",
    "training": "core.fct_training_history",
    "household_registry": "core.household_registry_history",  # the households themselves stay in the lake
}
# registry and county figures may differ by rounding and timing; beyond this share they are listed
RECONCILIATION_TOLERANCE = 0.005
LIVE = ("loaded", "partially_loaded")
STORAGE_COMPATIBILITY = "v1.4.0"


@task(cache_policy=NO_CACHE)
def read_ledger(paths: Paths) -> dict[str, str]:
    """Keys of files already received: 'province|path|sha' and 'province|sha' → submission id."""
    if not paths.warehouse.exists():
        return {}
    query = (
        "select submission_id, province_code, source_path, sha256, status from meta.submissions "
        "order by received_at, submission_id"
    )
    try:
        with duckdb.connect(str(paths.warehouse), read_only=True) as con:
            rows = con.execute(query).fetchall()
    except duckdb.IOException:
        # someone holds the file open read-write (e.g. the duckdb CLI without -readonly): read a copy
        with tempfile.TemporaryDirectory(dir=paths.home) as tmp:
            copy = Path(tmp) / "ledger.duckdb"
            shutil.copyfile(paths.warehouse, copy)
            with duckdb.connect(str(copy), read_only=True) as con:
                rows = con.execute(query).fetchall()
    seen: dict[str, str] = {}
    for sid, province, path, sha, status in rows:
        seen[f"{province}|{path}|{sha}"] = sid
        if status != "duplicate":
            seen.setdefault(f"{province}|{sha}", sid)
    return seen


def _partition(lake_file: str) -> tuple[str, str, int]:
    """(dataset, province, year) from data/lake/<dataset>/province=<p>/year=<y>/<id>.parquet."""
    p = Path(lake_file)
    return p.parents[2].name, p.parents[1].name.split("=", 1)[1], int(p.parent.name.split("=", 1)[1])


def _load_submission(con: duckdb.DuckDBPyConnection, o: Outcome) -> list[str]:
    """Ledger row, rejections and facts of one submission; returns the ids it superseded."""
    con.execute(
        "insert or replace into meta.submissions values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            o.submission_id,
            o.province_code,
            o.dataset,
            o.file_name,
            o.source_path,
            o.sha256,
            o.received_at,
            o.status,
            ",".join(map(str, o.years)) or None,
            o.rows_total,
            o.rows_loaded,
            o.rows_rejected,
            o.message,
            o.raw_path,
        ],
    )
    con.execute("delete from meta.rejections where submission_id = ?", [o.submission_id])
    if o.rejections:
        con.executemany(
            "insert into meta.rejections values (?, ?, ?, ?, ?)",
            [[o.submission_id, r.row_number, r.field, r.value, r.reason] for r in o.rejections],
        )
    con.execute("delete from meta.header_mappings where submission_id = ?", [o.submission_id])
    if o.header_mapping:
        con.executemany(
            "insert into meta.header_mappings values (?, ?, ?, ?, ?)",
            [
                [o.submission_id, *(m.get(k) for k in ("sheet", "submitted_header", "column_name", "matched_by"))]
                for m in o.header_mapping
            ],
        )
    for rejection_file in o.rejection_files:  # millions of rejected rows travel as Parquet, not lists
        con.execute(
            "insert into meta.rejections select ?, row_number, field, value, reason from read_parquet(?)",
            [o.submission_id, rejection_file],
        )
    if o.status not in LIVE:
        return []
    for lake_file in o.lake_files:
        dataset, province, year = _partition(lake_file)
        if dataset == "household_registry":
            _load_registry(con, o, province, year, lake_file)
            fault_point("load")
            continue
        table = FACT_TABLES[dataset]
        # the newest submission for province × dataset × year replaces what was there, which stays as history
        con.execute(
            f"update {table} set valid_to = ? where province_code = ? and year = ? and valid_to is null",
            [o.received_at, province, year],
        )
        con.execute(
            f"insert into {table} by name select ? as province_code, ? as year, ? as valid_from, * "
            "from read_parquet(?, hive_partitioning = false)",
            [province, year, o.received_at, lake_file],
        )
        fault_point("load")
    facts = " union all ".join(f"select submission_id from {t} where valid_to is null" for t in FACT_TABLES.values())
    superseded = [
        sid
        for (sid,) in con.execute(
            f"select submission_id from meta.submissions where province_code = ? and status in ('loaded', "
            f"'partially_loaded') and submission_id <> ? and submission_id not in ({facts})",
            [o.province_code, o.submission_id],
        ).fetchall()
    ]
    for sid in superseded:
        con.execute(
            "update meta.submissions set status = 'superseded', message = ? where submission_id = ?",
            [f"superseded by {o.submission_id} ({o.file_name})", sid],
        )
    return superseded


def _load_registry(con: duckdb.DuckDBPyConnection, o: Outcome, province: str, year: int, lake_file: str) -> None:
    """List a registry's counties; its households are read from the lake file by core.fct_household.

    Registries come one county at a time: a county's new registry replaces that county's only.
    """
    con.execute(
        "create or replace temp table incoming as select county_code, count(*) as households, "
        "sum(members) as persons from read_parquet(?) group by county_code",
        [lake_file],
    )
    con.execute(
        "update core.household_registry_history set valid_to = ? where province_code = ? and year = ? "
        "and valid_to is null and county_code in (select county_code from incoming)",
        [o.received_at, province, year],
    )
    con.execute(
        "insert into core.household_registry_history select ?, ?, county_code, ?, ?, households, persons, ?, null "
        "from incoming order by county_code",
        [province, year, o.submission_id, str(Path(lake_file).resolve()), o.received_at],
    )
    con.execute("drop table incoming")


@task(cache_policy=NO_CACHE)
def load_warehouse(outcome_paths: list[str], paths: Paths) -> dict[str, Any]:
    """Load every outcome in arrival order, rebuild marts, run data tests, swap the file in."""
    outcomes = sorted((Outcome.load(p) for p in outcome_paths), key=lambda o: (o.received_at, o.submission_id))
    if not outcomes and paths.warehouse.exists():
        return {"loaded": [], "superseded": [], "data_tests": {}, "changed": False}
    paths.home.mkdir(parents=True, exist_ok=True)
    building = paths.warehouse.with_name(paths.warehouse.name + ".building")
    for stale in (building, Path(str(building) + ".wal")):
        stale.unlink(missing_ok=True)
    if paths.warehouse.exists():
        shutil.copyfile(paths.warehouse, building)
    superseded: list[str] = []
    # written in a storage format the duckdb CLI from PyPI (1.x) and BI drivers can still open
    con = duckdb.connect(str(building), config={"storage_compatibility_version": STORAGE_COMPATIBILITY})
    con.execute("set memory_limit = '768MB'")  # marts read millions of households: spill rather than pass 1 GiB
    try:
        con.execute("begin")
        apply_ddl(con)
        create_runs_view(con, paths)
        load_reference(con)
        con.execute("commit")
        for o in outcomes:
            con.execute("begin")
            superseded += _load_submission(con, o)
            con.execute("commit")
        create_household_views(con)  # over the registry files now listed
        con.execute("begin")
        build_marts(con)
        failures = run_data_tests(con)
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
    os.replace(building, paths.warehouse)
    for o in outcomes:
        write_receipt(paths, o)
    report("all", "load", f"{len(outcomes)} submissions")
    return {
        "loaded": [o.submission_id for o in outcomes],
        "superseded": superseded,
        "data_tests": failures,
        "unreconciled": [
            dict(
                zip(
                    (
                        "county_code",
                        "county_name",
                        "year",
                        "registry_poor",
                        "declared_poor",
                        "registry_lifted",
                        "declared_lifted",
                    ),
                    row,
                    strict=True,
                )
            )
            for row in unreconciled
        ],
        "changed": True,
    }
