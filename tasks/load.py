"""Load: ledger, facts and marts into DuckDB — built in a copy, swapped in atomically.

The run writes ``warehouse.duckdb.building`` (a copy of the current file), loads each submission
in its own transaction, rebuilds the marts, checkpoints, closes, and renames the copy over
``warehouse.duckdb``. An analyst holding the old file open keeps reading the old version; a
run that dies leaves the old file untouched.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from fupin.tasks import gate
from fupin.tasks.archive import export_ledger
from fupin.tasks.calendar import build_submission_status
from fupin.tasks.receipt import sync_receipts, write_receipt
from fupin.tasks.records import Outcome
from fupin.tasks.summary import create_runs_view
from fupin.warehouse.build import apply_ddl, build_marts, create_household_views, load_reference, run_data_tests
from fupin.warehouse.comments import chinese_first
from fupin.warehouse.contracts import contracts
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from fupin.core.config import Paths
from fupin.core.faults import fault_point
from fupin.core.messages import CODE_SQL, code_in, render, say
from fupin.core.progress import report
from fupin.core.reference import MINISTRY_CODE
from fupin.core.safe_text import shown_name

REGISTRY_TABLE = "core.household_registry_history"  # the households themselves stay in the lake


def fact_table(dataset: str) -> str:
    """The history table of a dataset's facts: each keeps every version, core.fct_* views show the current ones."""
    return REGISTRY_TABLE if dataset == "household_registry" else contracts()[dataset].table


def fact_tables() -> list[str]:
    return [*(c.table for c in contracts().values()), REGISTRY_TABLE]


def guarded_totals(dataset: str) -> list[tuple[str, str, str]]:
    """(column, Chinese label, display unit) of each total the plausibility gate watches for a dataset."""
    return gate.guarded(dataset)


# the run's bound on a total's fall (the shrink guard), replacing the contracts' plausibility.max_fall when set:
# FUPIN_SHRINK_GUARD, or the flow parameter shrink_guard; None: each contract's own
SHRINK_GUARD = float(os.environ["FUPIN_SHRINK_GUARD"]) if os.environ.get("FUPIN_SHRINK_GUARD") else None
# registry and county figures may differ by rounding and timing; beyond this share they are listed
RECONCILIATION_TOLERANCE = 0.005
LIVE = ("loaded", "partially_loaded")
STORAGE_COMPATIBILITY = "v1.4.0"
LEDGER_COLUMNS = (
    "submission_id",
    "province_code",
    "dataset",
    "file_name",
    "source_path",
    "sha256",
    "received_at",
    "status",
    "years",
    "rows_total",
    "rows_loaded",
    "rows_rejected",
    "message",
    "raw_path",
    "kind",
    "applied_at",
    "message_code",
)


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
        seen[f"{province}|{shown_name(path)}|{sha}"] = sid  # as pull_source shows it (a ledger of before the gate)
        if status != "duplicate":
            seen.setdefault(f"{province}|{sha}", sid)
    return seen


def _partition(lake_file: str) -> tuple[str, str, int]:
    """(dataset, province, year) from data/lake/<dataset>/province=<p>/year=<y>/<id>.parquet."""
    p = Path(lake_file)
    return p.parents[2].name, p.parents[1].name.split("=", 1)[1], int(p.parent.name.split("=", 1)[1])


def _migrate(con: duckdb.DuckDBPyConnection) -> None:
    """Bring a warehouse written before key-level revisions up to date (ledger kind, applied_at, reason codes)."""
    columns = {
        (t, c)
        for t, c in con.execute(
            "select table_name, column_name from duckdb_columns() where schema_name = 'meta'"
        ).fetchall()
    }
    if ("submissions", "submission_id") in columns and ("submissions", "applied_at") not in columns:
        con.execute("alter table meta.submissions add column kind varchar default 'correction'")
        con.execute("alter table meta.submissions add column applied_at timestamptz")
        # before held submissions existed, whatever loaded took effect on arrival
        con.execute(
            "update meta.submissions set applied_at = received_at "
            "where status in ('loaded', 'partially_loaded', 'superseded')"
        )
    if ("rejections", "submission_id") in columns and ("rejections", "reason_code") not in columns:
        con.execute("alter table meta.rejections add column reason_code varchar")
    if ("header_mappings", "submission_id") in columns and ("header_mappings", "source") not in columns:
        con.execute("alter table meta.header_mappings add column source varchar")
        con.execute("update meta.header_mappings set source = 'header'")  # before, only headers were read
    if ("submissions", "submission_id") in columns and ("submissions", "message_code") not in columns:
        con.execute("alter table meta.submissions add column message_code varchar")
        con.execute(f"update meta.submissions set message_code = {CODE_SQL.format('message')}")


def _write_ledger(con: duckdb.DuckDBPyConnection, o: Outcome) -> None:
    """The submission's ledger row and its rejections (replacing what an earlier load wrote)."""
    con.execute(
        f"insert or replace into meta.submissions ({', '.join(LEDGER_COLUMNS)}) "
        f"values ({', '.join('?' for _ in LEDGER_COLUMNS)})",
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
            o.kind,
            o.applied_at,
            o.message_code or code_in(o.message),  # code_in: an outcome replayed from an older ledger
        ],
    )
    con.execute("delete from meta.rejections where submission_id = ?", [o.submission_id])
    columns = "submission_id, row_number, field, value, reason, reason_code"
    if o.rejections:
        con.executemany(
            f"insert into meta.rejections ({columns}) values (?, ?, ?, ?, ?, ?)",
            [
                [o.submission_id, r.row_number, r.field, r.value, r.reason, r.code or code_in(r.reason)]
                for r in o.rejections
            ],
        )
    con.execute("delete from meta.header_mappings where submission_id = ?", [o.submission_id])
    if o.header_mapping:
        con.executemany(
            "insert into meta.header_mappings "
            "(submission_id, sheet, submitted_header, column_name, matched_by, source) values (?, ?, ?, ?, ?, ?)",
            [
                [
                    o.submission_id,
                    *(m.get(k) for k in ("sheet", "submitted_header", "column_name", "matched_by")),
                    m.get("source") or "header",
                ]
                for m in o.header_mapping
            ],
        )
    for rejection_file in o.rejection_files:  # millions of rejected rows travel as Parquet, not lists
        con.execute(
            f"insert into meta.rejections ({columns}) "
            "select ?, row_number, field, value, reason, reason_code from read_parquet(?)",
            [o.submission_id, rejection_file],
        )


def _key_match(dataset: str, left: str, right: str) -> str:
    """Same grain key within one province × year (the year lives in the lake file's partition, not its rows)."""
    return " and ".join(f"{left}.{k} is not distinct from {right}.{k}" for k in contracts()[dataset].key if k != "year")


def _apply_facts(con: duckdb.DuckDBPyConnection, o: Outcome, stamp: str) -> None:
    """Supersede the facts this submission replaces and insert its own, valid from ``stamp``.

    A correction (更正/补报) replaces only the keys it carries, and a row marked 撤销/作废 withdraws its key;
    a full resubmission (全量重报) retires every current key of the province × year that it does not carry —
    unless some of its rows were rejected: a rejected row never removes the fact it would have replaced.
    """
    full = o.kind == "full" and not o.rows_rejected
    for lake_file in o.lake_files:
        dataset, province, year = _partition(lake_file)
        if dataset == "household_registry":
            _load_registry(con, o, province, year, lake_file, stamp)
            fault_point("load")
            continue
        table = fact_table(dataset)
        con.execute(
            "create or replace temp table incoming as select * from read_parquet(?, hive_partitioning = false)",
            [lake_file],
        )
        present = {d[0] for d in con.execute("select * from incoming limit 0").description}
        has_action = "row_action" in present
        for column in contracts()[dataset].columns:  # a lake file written before the column existed: null in it
            if column.name not in present and column.name not in ("year", "row_action"):
                con.execute(f"alter table incoming add column {column.name} {column.type}")
        retire = "" if full else f" and exists (select 1 from incoming where {_key_match(dataset, 'incoming', 't')})"
        con.execute(
            f"update {table} as t set valid_to = ? where province_code = ? and year = ? and valid_to is null{retire}",
            [stamp, province, year],
        )
        keep = "where row_action is distinct from 'withdraw'" if has_action else ""
        con.execute(
            f"insert into {table} by name select ? as province_code, ? as year, ? as valid_from, "
            f"{'* exclude (row_action)' if has_action else '*'} from incoming {keep}",
            [province, year, stamp],
        )
        con.execute("drop table incoming")
        fault_point("load")


def _supersede_held(con: duckdb.DuckDBPyConnection, o: Outcome) -> None:
    """Older held submissions of the same province, dataset and years are superseded: never applied later."""
    mine = {(d, y) for d, _, y in map(_partition, o.lake_files)}
    for sid, dataset, years, message in con.execute(
        "select submission_id, dataset, years, message from meta.submissions "
        "where province_code = ? and status = 'held' and submission_id <> ? and received_at < ?",
        [o.province_code, o.submission_id, o.received_at],
    ).fetchall():
        theirs = {(d, int(y)) for d in (dataset or "").split(",") for y in (years or "").split(",") if y}
        if theirs & mine:
            con.execute(
                "update meta.submissions set status = 'superseded', message = ?, message_code = 'held_superseded' "
                "where submission_id = ?",
                [
                    # the held reason kept in the ledger: the receipt, rewritten from it, keeps it too
                    say("held_superseded", id=o.submission_id, name=o.file_name, earlier=message or ""),
                    sid,
                ],
            )


def _load_submission(con: duckdb.DuckDBPyConnection, o: Outcome, guard: float | None, replay: bool) -> list[str]:
    """Ledger row, rejections and facts of one submission, in one transaction; returns the ids it superseded.

    A submission the plausibility gate finds beyond its contract's bounds (tasks/gate.py: a total falling or
    rising too far, a value corrected by too large a factor, a likely unit slip, an outlier) is held instead:
    none of its facts are applied until a person approves it. ``guard`` replaces the contracts' max_fall.
    """
    con.execute("begin")
    if o.status not in LIVE:
        _write_ledger(con, o)
        con.execute("commit")
        return []
    stamp = o.applied_at or o.received_at
    guarded = not o.approved and not replay  # approved, or replayed by a rebuild: never held again
    before = gate.snapshot(con, o) if guarded else {}
    _apply_facts(con, o, stamp)
    found = gate.problems(con, o, before, stamp, guard) if guarded else []
    if found:
        con.execute("rollback")
        con.execute("begin")
        o.status, o.applied_at = "held", None
        held = gate.held(o, found)
        o.message, o.message_code = render(held), held.code
    else:
        gate.drop_snapshot(con, before)
        o.applied_at = stamp
        if o.kind == "full" and o.rows_rejected:
            note = say("full_with_rejections")
            o.message = "；".join(filter(None, [o.message, note]))
            o.message_code = o.message_code or code_in(o.message)
    _supersede_held(con, o)
    _write_ledger(con, o)
    superseded = []
    if o.status in LIVE:
        facts = " union all ".join(f"select submission_id from {t} where valid_to is null" for t in fact_tables())
        ever = " union all ".join(f"select submission_id from {t}" for t in fact_tables())
        superseded = [
            sid
            for (sid,) in con.execute(
                f"select submission_id from meta.submissions where province_code = ? and status in ('loaded', "
                f"'partially_loaded') and submission_id <> ? and submission_id not in ({facts}) "
                f"and submission_id in ({ever})",
                [o.province_code, o.submission_id],
            ).fetchall()
        ]
        for sid in superseded:
            con.execute(
                "update meta.submissions set status = 'superseded', message = ?, message_code = 'superseded' "
                "where submission_id = ?",
                [say("superseded", id=o.submission_id, name=o.file_name), sid],
            )
    con.execute("commit")
    return superseded


def _load_registry(
    con: duckdb.DuckDBPyConnection, o: Outcome, province: str, year: int, lake_file: str, stamp: str
) -> None:
    """List a registry's counties; its households are read from the lake file by core.fct_household.

    Registries come one county at a time: a county's new registry replaces that county's only. The
    file is listed relative to the home (fupin/core/home.py), so the warehouse can move with its home.
    """
    from fupin.core.home import lake_home, search_home, stored_lake_path

    con.execute(
        "create or replace temp table incoming as select county_code, count(*) as households, "
        "sum(members) as persons from read_parquet(?) group by county_code",
        [lake_file],
    )
    con.execute(
        "update core.household_registry_history set valid_to = ? where province_code = ? and year = ? "
        "and valid_to is null and county_code in (select county_code from incoming)",
        [stamp, province, year],
    )
    con.execute(
        "insert into core.household_registry_history select ?, ?, county_code, ?, ?, households, persons, ?, null "
        "from incoming order by county_code",
        [province, year, o.submission_id, stored_lake_path(lake_file), stamp],
    )
    con.execute("drop table incoming")
    search_home(con, lake_home(lake_file))  # the views and marts built next in this session read it


def _snapshot_indicators(con: duckdb.DuckDBPyConnection) -> None:
    """Keep the published indicators as they stand before the run, to record what it changes."""
    con.execute(
        "create or replace temp table published_before (indicator varchar, scope_code varchar, "
        "scope_name varchar, period varchar, value decimal(38, 6), unit varchar)"
    )
    exists = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'marts' and table_name = 'indicators'"
    ).fetchone()[0]
    if exists:
        con.execute(
            "insert into published_before select indicator, scope_code, scope_name, period, value, unit "
            "from marts.indicators"
        )


def _record_indicator_changes(con: duckdb.DuckDBPyConnection, applied: list[str], run_id: str) -> int:
    """Append to marts.indicator_changes every published figure the run changed, with the submissions behind it.

    A figure's causes are the submissions applied in this run of the figure's dataset, from a province
    of its scope (or the Ministry's own source, whose lists span provinces), covering a year of its period.
    """
    con.execute("create or replace temp table applied_now (submission_id varchar)")
    if applied:
        con.executemany("insert into applied_now values (?)", [[sid] for sid in applied])
    # rows written before the column existed get their indicator's Chinese name
    con.execute(
        "update marts.indicator_changes as c set indicator_name = d.name from core.indicator_definition as d "
        "where c.indicator_name is null and d.indicator = c.indicator"
    )
    return con.execute(
        """
        insert into marts.indicator_changes by name
        with changed as (
            select coalesce(n.indicator, o.indicator) as indicator, coalesce(n.scope_code, o.scope_code) as scope_code,
                   coalesce(n.scope_name, o.scope_name) as scope_name, coalesce(n.period, o.period) as period,
                   o.value as value_before, n.value as value_after, coalesce(n.unit, o.unit) as unit
            from marts.indicators as n
            full join published_before as o using (indicator, scope_code, period)
            where o.value is null or n.value is null or abs(o.value - n.value) > 1e-9 * greatest(abs(o.value), 1)
        ),
        scoped as (
            select c.*, d.dataset, d.name as indicator_name,
                   cast(split_part(c.period, '-', 1) as integer) as y0,
                   cast(coalesce(nullif(split_part(c.period, '-', 2), ''), split_part(c.period, '-', 1))
                        as integer) as y1,
                   case when regexp_full_match(c.scope_code, '[0-9]{6}') then [left(c.scope_code, 2)]
                        when c.scope_code like '%:%' then [split_part(c.scope_code, ':', 2)]
                        else (select list(distinct left(a.county_code, 2)) from core.area_county as a
                              where a.area_code = c.scope_code) end as scope_provinces
            from changed as c
            left join core.indicator_definition as d using (indicator)
        ),
        applied as (
            select s.submission_id, s.province_code, unnest(string_split(s.dataset, ',')) as dataset,
                   unnest(string_split(s.years, ','))::integer as year
            from meta.submissions as s join applied_now using (submission_id)
        )
        select now() as changed_at, ? as run_id, s.indicator, s.indicator_name, s.scope_code, s.scope_name, s.period,
               s.value_before, s.value_after, s.unit,
               (select string_agg(distinct a.submission_id, ',' order by a.submission_id) from applied as a
                where a.dataset = s.dataset
                  and (list_contains(s.scope_provinces, a.province_code) or a.province_code = ?)
                  and a.year between s.y0 and s.y1) as submissions
        from scoped as s
        """,
        [run_id, MINISTRY_CODE],
    ).fetchone()[0]


class WarehouseBusy(RuntimeError):
    """Someone else holds the warehouse read-write: the run does not swap over their work."""


def _holder(warehouse: Path) -> str | None:
    """The PID of another process holding the warehouse read-write, '?' when unknown, None when free."""
    try:
        duckdb.connect(str(warehouse), read_only=True).close()
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise
        found = re.search(r"PID (\d+)", str(exc))
        return found.group(1) if found else "?"
    return None


def _claim_warehouse(warehouse: Path) -> tuple[int, int] | None:
    """Make sure the run copies the whole warehouse; its (size, mtime) then, to notice a writer before the swap.

    A read-write session elsewhere that has written (a WAL beside the file) fails the run with one line
    naming it: its data is not in the file yet. A WAL left by a killed session is replayed first; one that
    does not belong to this file (left from before an earlier swap) is set aside under a new name, never
    deleted, and the run goes on.
    """
    if not warehouse.exists():
        return None
    wal = Path(f"{warehouse}.wal")
    if wal.exists():
        holder = _holder(warehouse)
        if holder:
            raise WarehouseBusy(say("warehouse_held", warehouse=warehouse, pid=holder))
        try:
            with duckdb.connect(str(warehouse)) as con:
                con.execute("checkpoint")
            get_run_logger().warning("replayed the WAL a killed session left beside %s", warehouse)
        except duckdb.Error as exc:
            aside = wal.with_name(f"{wal.name}.orphan-{datetime.now(UTC):%Y%m%dT%H%M%S}")
            os.replace(wal, aside)
            get_run_logger().warning(
                "a WAL beside %s does not belong to it (%s): kept as %s", warehouse, type(exc).__name__, aside
            )
    stat = warehouse.stat()
    return stat.st_size, stat.st_mtime_ns


def _still_ours(warehouse: Path, claimed: tuple[int, int] | None) -> None:
    """Refuse to swap when the warehouse changed or gained a WAL since the run copied it."""
    if claimed is None:
        return
    stat = warehouse.stat()
    if Path(f"{warehouse}.wal").exists() or (stat.st_size, stat.st_mtime_ns) != claimed:
        holder = _holder(warehouse)
        who = f"进程 PID {holder}" if holder else "另一个会话"
        raise WarehouseBusy(say("warehouse_changed_during_run", who=who, warehouse=warehouse))


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
    if not outcomes and paths.warehouse.exists():
        return {"loaded": [], "superseded": [], "held": [], "data_tests": {}, "changed": False}
    paths.home.mkdir(parents=True, exist_ok=True)
    building = paths.warehouse.with_name(paths.warehouse.name + ".building")
    for stale in (building, Path(str(building) + ".wal")):
        stale.unlink(missing_ok=True)
    claimed = _claim_warehouse(paths.warehouse)
    if claimed:
        shutil.copyfile(paths.warehouse, building)
    superseded: list[str] = []
    # written in a storage format the duckdb CLI from PyPI (1.x) and BI drivers can still open
    con = duckdb.connect(str(building), config={"storage_compatibility_version": STORAGE_COMPATIBILITY})
    con.execute("set memory_limit = '768MB'")  # marts read millions of households: spill rather than pass 1 GiB
    try:
        con.execute("begin")
        _migrate(con)
        apply_ddl(con)
        create_runs_view(con, paths)
        load_reference(con, paths.home / "config" / "areas.csv")
        con.execute("commit")
        _snapshot_indicators(con)
        for o, _ in outcomes:
            superseded += _load_submission(con, o, shrink_guard, replay)
        for d in decisions or []:
            con.execute(
                "insert into meta.decisions (submission_id, decision, decided_by, decided_at, reason) "
                "values (?, ?, ?, ?, ?)",
                [d["submission_id"], d["decision"], d["decided_by"], d["decided_at"], d.get("reason")],
            )
        create_household_views(con)  # over the registry files now listed
        con.execute("begin")
        build_marts(con)
        build_submission_status(con, paths)
        chinese_first(con)  # every comment: Chinese name first, English after (warehouse/comments.py)
        applied = [o.submission_id for o, _ in outcomes if o.status in LIVE]
        changes = _record_indicator_changes(con, applied, flow_run.id or "local")
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
    try:
        _still_ours(paths.warehouse, claimed)
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
        "unreconciled": [dict(zip((*columns, "declared_lifted"), row, strict=True)) for row in unreconciled],
        "changed": True,
    }
