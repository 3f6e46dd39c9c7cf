"""Re-read what fupin already holds: ledger rows back into Received/Outcome records, warehouses compared.

Used by the backfill flow (re-process archived files) and the rebuild-warehouse flow (the lake and
the ledger are enough to build the warehouse again).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from fupin.core.config import Paths
from fupin.core.files import atomic_write, plain_file
from fupin.core.home import search_home
from fupin.core.messages import CODE_SQL
from fupin.core.raw import raw_size
from fupin.core.sql import dicts, quote_literal
from fupin.tasks.deferred import NO_CACHE, task
from fupin.tasks.records import Outcome, Received, Rejection
from fupin.warehouse.contracts import contracts
from fupin.warehouse.relations import history_tables, ledger_tables, relation, relations

# what an older ledger (or its copy) lacks, read as a load would have written it; any other missing column reads null
LEGACY_COLUMNS = {
    ("meta.submissions", "message_code"): CODE_SQL.format("message"),
    ("meta.header_mappings", "source"): "'header'",  # before sources were kept, every mapping came from a header
}


def ledger_select(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """A select of a ledger table's declared columns (contracts/relations), timestamps as ISO text in UTC."""
    present = {c for (c,) in con.execute(f"select column_name from (describe {table})").fetchall()}
    columns = []
    for c in relation(table).columns:
        expr = c.name if c.name in present else LEGACY_COLUMNS.get((table, c.name), f"null::{c.type}")
        if c.type == "timestamptz":
            expr = f"strftime(({expr}) at time zone 'UTC', '%Y-%m-%dT%H:%M:%S.%f+00:00')"
        columns.append(f"{expr} as {c.name}")
    return f"select {', '.join(columns)} from {table}"


def compared() -> dict[str, str]:
    """The tables a rebuilt warehouse must reproduce row for row, with the query that reads each: the declared
    relations marked ``compare`` (the ledger, households), every dataset's current facts, the indicators."""
    declared = {r.current.relation if r.current else r.relation: r.compared_sql() for r in relations().values()}
    facts = {c.view: f"select * from {c.view}" for c in contracts().values()}
    return {**{k: q for k, q in declared.items() if q}, **facts, "marts.indicators": "select * from marts.indicators"}


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


# what only the warehouse knows beyond the lake: copied beside it as Parquet after every change
# (<home>/ledger/<table>.parquet) so that a damaged warehouse can be rebuilt from the lake and these; the specs
# marked ``ledger`` (and ``history``: not derivable from the lake and the ledger rows)
LEDGER_TABLES = ledger_tables()
HISTORY_TABLES = history_tables()


def ledger_dir(paths: Paths) -> Path:
    return paths.home / "ledger"


def damaged(warehouse: Path) -> str | None:
    """Why the warehouse file cannot be read; None when it reads (or another process merely holds it)."""
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            con.execute("select count(*) from meta.submissions").fetchone()
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            return None
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    except duckdb.Error as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return None


def export_ledger(paths: Paths) -> None:
    """Copy the ledger tables next to the warehouse (written to a temporary name, then renamed)."""
    folder = ledger_dir(paths)
    folder.mkdir(mode=0o700, exist_ok=True)
    with read_only(paths.warehouse) as con:
        for table in ledger_tables():
            with atomic_write(folder / f"{table}.parquet") as tmp:
                con.execute(f"copy (select * from {table}) to {quote_literal(tmp)} (format parquet)")
                os.chmod(tmp, 0o600)


@contextmanager
def ledger_connection(paths: Paths, copies: bool = False):
    """meta.* (and the change log) from the warehouse, or from the ledger copies when ``copies`` is asked for
    or the warehouse is missing or damaged."""
    if not copies and paths.warehouse.exists() and not damaged(paths.warehouse):
        with read_only(paths.warehouse) as con:
            yield con
        return
    with duckdb.connect() as con:
        for schema in sorted({table.split(".")[0] for table in ledger_tables()}):
            con.execute(f"create schema {schema}")
        for table in ledger_tables():
            copy = ledger_dir(paths) / f"{table}.parquet"
            if copy.exists():
                con.execute(f"create view {table} as select * from read_parquet({quote_literal(copy)})")
        yield con


def ledger_rows(paths: Paths) -> list[dict[str, Any]]:
    """meta.submissions as dicts, in arrival order."""
    with ledger_connection(paths) as con:
        try:
            cur = con.execute(f"{ledger_select(con, 'meta.submissions')} order by received_at, submission_id")
        except duckdb.CatalogException:  # no warehouse and no ledger copy yet
            return []
        return dicts(cur)


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
        raw = paths.found(r["raw_path"])
        if raw is None or not raw.exists():
            continue
        chosen.append(
            Received(
                submission_id=r["submission_id"],
                province_code=r["province_code"],
                source_url="backfill",
                source_path=r["source_path"],
                file_name=r["file_name"],
                sha256=r["sha256"],
                size=raw_size(raw),  # of the bytes received (a compressed copy's decompressed)
                raw_path=str(raw),
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
        if not plain_file(f):  # a link planted in the lake (fupin doctor names it [linked_file]) is never read
            logging.getLogger(__name__).warning("lake file %s is a link or not a regular file: not read", f)
            continue
        if only is None or f.stem in only:
            lake_files.setdefault(f.stem, []).append(str(f))
    rejections: dict[str, list[Rejection]] = {}
    mappings: dict[str, list[dict]] = {}
    with ledger_connection(paths) as con:
        try:
            found = con.execute(
                "select submission_id, row_number, field, value, reason, reason_code from meta.rejections"
            ).fetchall()
        except duckdb.CatalogException:  # no warehouse and no ledger copy yet
            found = []
        for sid, *rest in found:
            if only is None or sid in only:
                rejections.setdefault(sid, []).append(Rejection(*rest))
        try:  # a warehouse from before header mappings were kept has none to give
            for mapped in dicts(con.execute(ledger_select(con, "meta.header_mappings"))):
                mappings.setdefault(mapped.pop("submission_id"), []).append(mapped)
        except duckdb.CatalogException:
            pass
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
                message_code=r["message_code"],
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
def carry_over_history(paths: Paths, rebuilt: Path, copies: bool = False) -> None:
    """Copy what neither the lake nor the ledger rows hold — decisions and published changes — into a rebuilt
    warehouse: from the current warehouse, or from the ledger copies (``copies``, or when it is damaged)."""
    history = {}
    with ledger_connection(paths, copies=copies) as source:
        for table in history_tables():
            try:
                history[table] = source.sql(f"select * from {table}").to_arrow_table()
            except duckdb.CatalogException:
                continue
    write_history(rebuilt, history)


def write_history(warehouse: Path, history: dict) -> None:
    """Replace each history table of ``warehouse`` with the given rows (Arrow tables by table name)."""
    with duckdb.connect(str(warehouse)) as con:
        for table, rows in history.items():
            con.register("history_rows", rows)
            con.execute(f"delete from {table}")
            con.execute(f"insert into {table} by name select * from history_rows")
            con.unregister("history_rows")


@task(cache_policy=NO_CACHE)
def compare_warehouses(current: Path, rebuilt: Path) -> dict[str, dict[str, int]]:
    """Rows only in the current and only in the rebuilt warehouse, per compared table (all zero: identical)."""
    differences: dict[str, dict[str, int]] = {}
    with duckdb.connect(":memory:") as con:
        search_home(con, current.parent)  # both list the home's lake files by the same relative paths
        con.execute(f"attach {quote_literal(rebuilt)} as rebuilt (read_only)")
        con.execute(f"attach {quote_literal(current)} as current (read_only)")
        for table, query in compared().items():
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
