"""Comments of the warehouse: Chinese first, English after.

Every table, view and column COMMENT reads ``<Chinese name>｜<English description>``: DBeaver, the duckdb
CLI or any SQL client shows the Chinese name first. The relations the specs declare (contracts/relations:
the ledger, households, reference tables, run records) carry both in their spec; the datasets' facts in their
contract (English) and ``seeds/names_zh.csv`` or the contract's ``zh`` (Chinese); the marts in their SQL
file's header (English) and ``seeds/names_zh.csv``. ``chinese_first`` puts the Chinese names in front after a
build; ``split_comment`` takes a comment apart again (the data dictionary prints either language).
"""

from __future__ import annotations

import duckdb

from fupin.core.sql import quote_literal
from fupin.warehouse.contracts import column_zh as contract_column_zh
from fupin.warehouse.relations import SEPARATOR, chinese_names, column_zh, title_zh, titled

SCHEMAS = ("meta", "core", "marts")


def column_name_zh(relation_name: str, column: str) -> str | None:
    """The Chinese name of ``relation.column``: its spec's, else its own or the one the column has everywhere in
    seeds/names_zh.csv, else its contract's."""
    return column_zh(relation_name, column) or contract_column_zh(relation_name, column)


def split_comment(text: str | None) -> tuple[str, str]:
    """A comment as (Chinese name, English description); ('', text) for one without a Chinese name."""
    zh, sep, en = (text or "").partition(SEPARATOR)
    return (zh, en) if sep else ("", zh)


def chinese_title(relation: str, text: str | None) -> str:
    """``text`` with the relation's Chinese title in front (unchanged when it has one, or none is known)."""
    return titled(title_zh(relation) or chinese_names()[0].get(relation), text)


def chinese_column(relation: str, column: str, text: str | None) -> str:
    """``text`` with the column's Chinese name in front (unchanged when it has one, or none is known)."""
    return titled(column_name_zh(relation, column), text)


def chinese_first(con: duckdb.DuckDBPyConnection) -> None:
    """Put the Chinese name in front of every comment of meta, core and marts that lacks it (idempotent)."""
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
        wanted = chinese_title(qualified, comment)
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
