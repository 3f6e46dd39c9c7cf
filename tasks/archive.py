"""Re-read what fupin already holds: ledger rows back into Received/Outcome records, warehouses compared.

Used by the backfill flow (re-process archived files) and the rebuild-warehouse flow (the lake and
the ledger are enough to build the warehouse again).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
from prefect import task
from prefect.cache_policies import NO_CACHE

from fupin.config import Paths
from tasks.records import Outcome, Received, Rejection
from warehouse.home import search_home

LEDGER_SQL = (
    "select submission_id, province_code, dataset, file_name, source_path, sha256, "
    "strftime(received_at at time zone 'UTC', '%Y-%m-%dT%H:%M:%S.%f+00:00') as received_at, "
    "status, years, rows_total, rows_loaded, rows_rejected, message, raw_path, kind, "
    "strftime(applied_at at time zone 'UTC', '%Y-%m-%dT%H:%M:%S.%f+00:00') as applied_at "
    "from meta.submissions order by received_at, submission_id"
)
MAPPINGS_SQL = "select submission_id, sheet, submitted_header, column_name, matched_by from meta.header_mappings"
# the tables a rebuilt warehouse must reproduce row for row
COMPARED = {
    "meta.submissions": "select * exclude (message) from meta.submissions",
    "meta.rejections": "select * from meta.rejections",
    "meta.decisions": "select * from meta.decisions",
    "core.fct_fund_allocation": "select * from core.fct_fund_allocation",
    "core.fct_poverty_status": "select * from core.fct_poverty_status",
    "core.fct_social_org_project": "select * from core.fct_social_org_project",
    "core.fct_training": "select * from core.fct_training",
    "core.fct_household": "select * from core.fct_household",
    "marts.indicators": "select * from marts.indicators",
}


@contextmanager
def read_only(warehouse: Path):
    """A read-only connection, on a copy when someone holds the file open read-write."""
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.IOException:
        with tempfile.TemporaryDirectory(dir=warehouse.parent) as tmp:
            copy = Path(tmp) / warehouse.name
            shutil.copyfile(warehouse, copy)
            with duckdb.connect(str(copy), read_only=True) as con:
                yield con
        return
    with con:
        yield con


def ledger_rows(paths: Paths) -> list[dict[str, Any]]:
    """meta.submissions as dicts, in arrival order."""
    if not paths.warehouse.exists():
        return []
    with read_only(paths.warehouse) as con:
        cur = con.execute(LEDGER_SQL)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def _years(value: str | None) -> set[int]:
    return {int(y) for y in value.split(",")} if value else set()


@task(cache_policy=NO_CACHE)
def archived_submissions(paths: Paths, provinces: list[str], years: list[int] | None) -> list[Received]:
    """The archived files of these provinces to process again: current and rejected submissions touching ``years``.

    Superseded submissions stay as they are (re-loading them would bring their facts back);
    duplicates are the same bytes as another submission.
    """
    wanted = set(years or [])
    chosen = []
    for r in ledger_rows(paths):
        if r["province_code"] not in provinces or r["status"] in ("superseded", "duplicate", "discarded"):
            continue
        if wanted and r["status"] != "rejected" and not (_years(r["years"]) & wanted):
            continue
        if not r["raw_path"] or not Path(r["raw_path"]).exists():
            continue
        chosen.append(
            Received(
                submission_id=r["submission_id"],
                province_code=r["province_code"],
                source_url="backfill",
                source_path=r["source_path"],
                file_name=r["file_name"],
                sha256=r["sha256"],
                size=Path(r["raw_path"]).stat().st_size,
                raw_path=r["raw_path"],
                received_at=r["received_at"],
                kind=r["kind"] or "correction",
            )
        )
    return chosen


@task(cache_policy=NO_CACHE)
def keep_years(outcome_path: str, years: list[int] | None) -> str:
    """Limit an outcome's lake files to ``years`` so that only those years' facts are replaced."""
    if not years:
        return outcome_path
    outcome = Outcome.load(outcome_path)
    outcome.lake_files = [f for f in outcome.lake_files if int(Path(f).parent.name.split("=", 1)[1]) in years]
    return str(outcome.save(Path(outcome_path)))


def ledger_outcome_records(paths: Paths, only: set[str] | None = None) -> list[Outcome]:
    """Ledger rows as outcomes whose facts are their lake files (all of them, or the ids in ``only``)."""
    lake_files: dict[str, list[str]] = {}
    for f in sorted(paths.lake.glob("*/province=*/year=*/*.parquet")):
        if only is None or f.stem in only:
            lake_files.setdefault(f.stem, []).append(str(f))
    rejections: dict[str, list[Rejection]] = {}
    mappings: dict[str, list[dict]] = {}
    if paths.warehouse.exists():
        with read_only(paths.warehouse) as con:
            for sid, *rest in con.execute(
                "select submission_id, row_number, field, value, reason, reason_code from meta.rejections"
            ).fetchall():
                if only is None or sid in only:
                    rejections.setdefault(sid, []).append(Rejection(*rest))
            # a warehouse from before header mappings were kept has none to give
            kept = con.execute("select count(*) from duckdb_tables() where table_name = 'header_mappings'").fetchone()
            for sid, *mapped in con.execute(MAPPINGS_SQL).fetchall() if kept[0] else []:
                mappings.setdefault(sid, []).append(
                    dict(zip(("sheet", "submitted_header", "column_name", "matched_by"), mapped, strict=True))
                )
    outcomes = []
    for r in ledger_rows(paths):
        if only is not None and r["submission_id"] not in only:
            continue
        status = r["status"]
        if status == "superseded" and r["applied_at"]:  # current when applied; the later ones supersede it again
            status = "partially_loaded" if r["rows_rejected"] else "loaded"
        outcomes.append(
            Outcome(
                submission_id=r["submission_id"],
                province_code=r["province_code"],
                file_name=r["file_name"],
                sha256=r["sha256"],
                received_at=r["received_at"],
                source_path=r["source_path"],
                raw_path=r["raw_path"],
                dataset=r["dataset"],
                status=status,
                years=sorted(_years(r["years"])),
                rows_total=r["rows_total"],
                rows_loaded=r["rows_loaded"],
                rows_rejected=r["rows_rejected"],
                message=r["message"],
                lake_files=lake_files.get(r["submission_id"], []),
                rejections=rejections.get(r["submission_id"], []),
                kind=r["kind"] or "correction",
                applied_at=r["applied_at"],
                approved=True,
                header_mapping=mappings.get(
                    r["submission_id"], []
                ),  # already decided: replayed as it was, never held again
            )
        )
    return outcomes


@task(cache_policy=NO_CACHE)
def ledger_outcomes(paths: Paths, staging: Path) -> list[str]:
    """Every ledger row as an outcome whose facts are its lake files, saved under ``staging``."""
    return [str(o.save(staging / f"{o.submission_id}.json")) for o in ledger_outcome_records(paths)]


@task(cache_policy=NO_CACHE)
def carry_over_history(current: Path, rebuilt: Path) -> None:
    """Copy what only the warehouse remembers — decisions and published changes — into a rebuilt warehouse."""
    with duckdb.connect(str(rebuilt)) as con:
        con.execute(f"attach '{str(current).replace(chr(39), chr(39) * 2)}' as current (read_only)")
        for table in ("meta.decisions", "marts.indicator_changes"):
            present = con.execute(
                "select count(*) from duckdb_tables() where database_name = 'current' "
                "and schema_name || '.' || table_name = ?",
                [table],
            ).fetchone()[0]
            con.execute(f"delete from {table}")
            if present:
                con.execute(f"insert into {table} by name select * from current.{table}")


@task(cache_policy=NO_CACHE)
def compare_warehouses(current: Path, rebuilt: Path) -> dict[str, dict[str, int]]:
    """Rows only in the current and only in the rebuilt warehouse, per compared table (all zero: identical)."""
    differences: dict[str, dict[str, int]] = {}
    with duckdb.connect(":memory:") as con:
        search_home(con, current.parent)  # both list the home's lake files by the same relative paths
        con.execute(f"attach '{str(rebuilt).replace(chr(39), chr(39) * 2)}' as rebuilt (read_only)")
        con.execute(f"attach '{str(current).replace(chr(39), chr(39) * 2)}' as current (read_only)")
        for table, query in COMPARED.items():
            a = query.replace(" from ", " from current.", 1)
            b = query.replace(" from ", " from rebuilt.", 1)
            only_current = con.execute(f"select count(*) from ({a} except all {b})").fetchone()[0]
            only_rebuilt = con.execute(f"select count(*) from ({b} except all {a})").fetchone()[0]
            differences[table] = {"only_in_current": only_current, "only_in_rebuilt": only_rebuilt}
    return differences


@task(cache_policy=NO_CACHE)
def swap_in(rebuilt: Path, paths: Paths) -> str:
    """Rename the rebuilt file over the warehouse (atomic; readers keep the version they opened)."""
    os.replace(rebuilt, paths.warehouse)
    return str(paths.warehouse)
