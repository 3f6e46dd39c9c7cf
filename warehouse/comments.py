"""Comments of the warehouse: Chinese first, English after, and those of relations built outside ddl.sql.

Every table, view and column COMMENT reads ``<Chinese name>｜<English description>``: DBeaver, the duckdb
CLI or any SQL client shows the Chinese name first. The English descriptions are written where each
relation is built (ddl.sql, the contracts, the marts' headers, warehouse.build); the Chinese names are in
``seeds/names_zh.csv`` (a relation's title, a column's name in one relation or in all) and, for the
datasets' own columns, their contract's ``zh``. ``chinese_first`` puts them in front after a build;
``split_comment`` takes a comment apart again (the data dictionary prints either language).
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

import duckdb

from fupin.core.sql import quote_literal

SEPARATOR = "｜"
SCHEMAS = ("meta", "core", "marts")

# meta.runs is a view over <home>/runs/*.json (tasks/summary.py); its columns are RUN_COLUMNS there
RUN_COLUMN_COMMENTS = {
    "run_id": "Prefect flow run id (also the JSON file's name).",
    "flow_name": "nightly, backfill or rebuild-warehouse.",
    "run_name": "Prefect's name of the flow run.",
    "started_at": "When the run started (UTC).",
    "ended_at": "When the run ended (UTC); null while running or if it died.",
    "outcome": "running, completed, rejected (some rows or files rejected), failed (a province or step failed) "
    "or crashed (the process died; marked by the next run).",
    "exit_code": "Exit code of `fupin run`: 0 all loaded, 1 failed, 3 some rejected.",
    "received": "Files received in the run, count.",
    "rows_loaded": "Data rows loaded in the run, count.",
    "rows_rejected": "Data rows rejected in the run, count (meta.rejections).",
    "failed_provinces": "2-digit codes of the provinces whose source or files failed.",
    "message": "Why the run failed, in one line; null otherwise.",
    "warehouse_changed": "True when the run replaced the warehouse file (false for a run that loaded nothing).",
}


def comment_runs_columns(con: duckdb.DuckDBPyConnection) -> None:
    """COMMENT every column of meta.runs that exists."""
    present = {
        c
        for (c,) in con.execute(
            "select column_name from duckdb_columns() where schema_name = 'meta' and table_name = 'runs'"
        ).fetchall()
    }
    for column, text in RUN_COLUMN_COMMENTS.items():
        if column in present:
            con.execute(f"comment on column meta.runs.{column} is {quote_literal(text)}")


@cache
def chinese_names() -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """(relation → Chinese title, (relation or '', column) → Chinese name) from seeds/names_zh.csv."""
    text = resources.files("fupin.warehouse").joinpath("seeds/names_zh.csv").read_text(encoding="utf-8")
    titles: dict[str, str] = {}
    columns: dict[tuple[str, str], str] = {}
    for r in csv.DictReader(text.splitlines()):
        if r["column"]:
            columns[(r["relation"], r["column"])] = r["name_zh"]
        else:
            titles[r["relation"]] = r["name_zh"]
    return titles, columns


def column_name_zh(relation: str, column: str) -> str | None:
    """The Chinese name of ``relation.column``: its own, the name the column has everywhere, or its contract's."""
    from fupin.warehouse.contracts import column_labels

    _, columns = chinese_names()
    return columns.get((relation, column)) or columns.get(("", column)) or column_labels().get(column)


def split_comment(text: str | None) -> tuple[str, str]:
    """A comment as (Chinese name, English description); ('', text) for one without a Chinese name."""
    zh, sep, en = (text or "").partition(SEPARATOR)
    return (zh, en) if sep else ("", zh)


def chinese_title(relation: str, text: str | None) -> str:
    """``text`` with the relation's Chinese title in front (unchanged when it has one, or none is known)."""
    zh = chinese_names()[0].get(relation)
    return _prefixed(zh, text)


def chinese_column(relation: str, column: str, text: str | None) -> str:
    """``text`` with the column's Chinese name in front (unchanged when it has one, or none is known)."""
    return _prefixed(column_name_zh(relation, column), text)


def _prefixed(zh: str | None, text: str | None) -> str:
    if not zh or (text or "").startswith(zh + SEPARATOR):
        return text or ""
    return zh + SEPARATOR + (text or "")


def chinese_first(con: duckdb.DuckDBPyConnection) -> None:
    """Put the Chinese name in front of every comment of meta, core and marts that lacks it (idempotent)."""
    titles = chinese_names()[0]
    relations = con.execute(
        "select schema_name, table_name, 'table', comment from duckdb_tables() "
        "where not internal and schema_name in (select unnest($1)) union all "
        "select schema_name, view_name, 'view', comment from duckdb_views() "
        "where not internal and schema_name in (select unnest($1))",
        [list(SCHEMAS)],
    ).fetchall()
    kinds = {}
    for schema, name, kind, comment in relations:
        qualified = f"{schema}.{name}"
        kinds[qualified] = kind
        wanted = _prefixed(titles.get(qualified), comment)
        if wanted != (comment or ""):
            con.execute(f"comment on {kind} {qualified} is {quote_literal(wanted)}")
    for schema, name, column, comment in con.execute(
        "select schema_name, table_name, column_name, comment from duckdb_columns() "
        "where not internal and schema_name in (select unnest(?))",
        [list(SCHEMAS)],
    ).fetchall():
        qualified = f"{schema}.{name}"
        wanted = chinese_column(qualified, column, comment)
        if qualified in kinds and wanted != (comment or ""):
            con.execute(f"comment on column {qualified}.{column} is {quote_literal(wanted)}")
