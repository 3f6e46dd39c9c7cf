"""The warehouse's schema version and the numbered steps that bring an older warehouse up to it.

``meta.schema_version`` holds one row: the version the warehouse's tables have, when it was reached and by
which fupin. Every load runs ``migrate`` inside its transaction, before the DDL (warehouse.build.apply_ddl):

- a new warehouse (no table yet) has nothing to migrate: the DDL creates it as ``CURRENT`` and stamps it;
- a warehouse at version n gets each step above n, in order, each stamped as it is done (a step runs once);
- a warehouse with tables and no version was written before versions existed: it is at version 0;
- a warehouse newer than the code is refused (``SchemaTooNew``, code ``schema_too_new``): nothing is written.

Readers assume the current shape: the nightly run migrates the warehouse even when nothing new arrived.
A column added to a dataset's contract needs no step (``evolve`` adds it to an existing warehouse at every
load). Any other change: change the DDL or the contract (which a new warehouse is created from) and append a
step here that ALTERs an existing warehouse to the same shape; ``CURRENT`` follows the last step. A step must
leave a warehouse already in its shape as it is: ledger copies (tasks/archive.py) carry no version and are
migrated from 0 whenever they are read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

import duckdb

from fupin.core.messages import CODE_SQL, message, render
from fupin.warehouse.contracts import contracts
from fupin.warehouse.relations import of_build, relation

log = logging.getLogger(__name__)

# an absolute lake path as warehouses before version 1 could store it → the part from the home's lake folder on
LEGACY_ABSOLUTE = r"^.*/(lake/[^/]+/province=[^/]+/year=[^/]+/[^/]+)$"

SCHEMAS = ("meta", "core", "marts")


class SchemaTooNew(RuntimeError):
    """The warehouse was written by a newer fupin: this code does not know its shape and leaves it alone."""


@dataclass(frozen=True)
class Migration:
    number: int
    description: str
    apply: Callable[[duckdb.DuckDBPyConnection], None]


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    """Column name → DuckDB type of a base table; empty when there is no such table."""
    return dict(
        con.execute(
            "select column_name, data_type from duckdb_columns() where schema_name = ? and table_name = ? "
            "and table_name in (select table_name from duckdb_tables() where schema_name = ?)",
            [schema, table, schema],
        ).fetchall()
    )


def _before_versions(con: duckdb.DuckDBPyConnection) -> None:
    """Any shape fupin wrote before schema versions → version 1 (idempotent: a current shape is left as it is)."""
    # (households kept in a table, before they were read from the lake, cannot be migrated: apply_ddl refuses them)
    submissions = _columns(con, "meta", "submissions")
    if submissions and "applied_at" not in submissions:  # before key-level revisions and held submissions
        con.execute("alter table meta.submissions add column kind varchar default 'correction'")
        con.execute("alter table meta.submissions add column applied_at timestamptz")
        # before held submissions existed, whatever loaded took effect on arrival
        con.execute(
            "update meta.submissions set applied_at = received_at "
            "where status in ('loaded', 'partially_loaded', 'superseded')"
        )
    if submissions and "message_code" not in submissions:  # before message codes: read from the message
        con.execute("alter table meta.submissions add column message_code varchar")
        con.execute(f"update meta.submissions set message_code = {CODE_SQL.format('message')}")
    rejections = _columns(con, "meta", "rejections")
    if rejections and "reason_code" not in rejections:
        con.execute("alter table meta.rejections add column reason_code varchar")
    mappings = _columns(con, "meta", "header_mappings")
    if mappings and "source" not in mappings:
        con.execute("alter table meta.header_mappings add column source varchar")
        con.execute("update meta.header_mappings set source = 'header'")  # before, only headers were read
    changes = _columns(con, "marts", "indicator_changes")
    for column in ("value_before", "value_after"):  # DOUBLE before values were exact (marts.indicators.value)
        if changes.get(column) == "DOUBLE":
            con.execute(f"alter table marts.indicator_changes alter {column} type decimal(38, 6)")
    if changes and "indicator_name" not in changes:
        con.execute("alter table marts.indicator_changes add column indicator_name varchar")
    if changes and _columns(con, "core", "indicator_definition"):  # rows from before the column: named since
        con.execute(
            "update marts.indicator_changes as c set indicator_name = d.name from core.indicator_definition as d "
            "where c.indicator_name is null and d.indicator = c.indicator"
        )
    # fact tables' columns added since and ones that became nullable: evolve(), which every migration ends with
    if _columns(con, "core", "household_registry_history"):  # lake files named relative to the home
        con.execute(
            "update core.household_registry_history set lake_file = regexp_replace(lake_file, ?, '\\1') "
            "where lake_file like '/%'",
            [LEGACY_ABSOLUTE],
        )


def _chinese_definitions(con: duckdb.DuckDBPyConnection) -> None:
    """core.indicator_definition gains definition_zh (the report's Chinese definitions); every load then refills
    the table from the seed (warehouse.build.load_reference)."""
    if _columns(con, "core", "indicator_definition"):
        con.execute("alter table core.indicator_definition add column if not exists definition_zh varchar")


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "a warehouse from before schema versions", _before_versions),
    Migration(2, "Chinese definitions of the indicators", _chinese_definitions),
)
CURRENT = MIGRATIONS[-1].number


def evolve(con: duckdb.DuckDBPyConnection) -> None:
    """Additive changes that need no step: a column a relation spec or contract gained is added to its existing
    table (its default, or null, in older rows), and one a contract made nullable loses NOT NULL (county_code, once
    prefectures could be targeted). Run at every migration: adding a column is an edit of its spec alone."""
    for spec in of_build("table"):
        present = _columns(con, *spec.relation.split("."))
        for c in spec.columns if present else ():
            if c.name not in present:
                default = "" if c.default is None else f" default {c.default}"
                con.execute(f"alter table {spec.relation} add column {c.name} {c.type}{default}")
    for contract in contracts().values():
        schema, table = contract.table.split(".")
        present = _columns(con, schema, table)
        if not present:
            continue
        for column in contract.columns:
            if column.name not in present:
                con.execute(f"alter table {contract.table} add column {column.name} {column.type}")
            elif column.nullable:
                con.execute(f"alter table {contract.table} alter column {column.name} drop not null")


def stored_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The warehouse's schema version: None for a new (empty) one, 0 for one from before versions."""
    if _columns(con, "meta", "schema_version"):
        row = con.execute("select max(version) from meta.schema_version").fetchall()[0]
        if row[0] is not None:
            return row[0]
    found = con.execute(
        "select count(*) from duckdb_tables() where schema_name in (select unnest(?))", [list(SCHEMAS)]
    ).fetchall()[0][0]
    return 0 if found else None


def refuse_newer(found: int | None) -> None:
    """Raise ``SchemaTooNew`` (Chinese, with its code; English in the log) for a version above ``CURRENT``."""
    if found is None or found <= CURRENT:
        return
    refused = message("schema_too_new", found=found, current=CURRENT)
    log.error(render(refused, "en"))
    raise SchemaTooNew(render(refused))


def migrate(con: duckdb.DuckDBPyConnection) -> list[int] | None:
    """Apply, in order, every step above the warehouse's version, each stamped as done; the numbers applied.

    None for a new warehouse: the DDL creates it current, and ``stamp`` then records it. Runs in the
    caller's transaction: a step that fails leaves the warehouse as it was.
    """
    found = stored_version(con)
    refuse_newer(found)
    if found is None:
        return None
    applied = []
    for step in MIGRATIONS:
        if step.number > found:
            log.info("migrating the warehouse to schema version %s: %s", step.number, step.description)
            step.apply(con)
            stamp(con, step.number)
            applied.append(step.number)
    evolve(con)
    return applied


def stamp(con: duckdb.DuckDBPyConnection, number: int = CURRENT) -> None:
    """Record that the warehouse's tables have version ``number`` (one row, replaced)."""
    con.execute("create schema if not exists meta")
    con.execute(relation("meta.schema_version").create_sql())  # declared in contracts/relations/
    con.execute("delete from meta.schema_version")
    con.execute("insert into meta.schema_version values (?, now(), ?)", [number, _fupin_version()])


def is_current(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the warehouse has the shape this code reads (refusing one newer than the code)."""
    found = stored_version(con)
    refuse_newer(found)
    return found == CURRENT


def _fupin_version() -> str | None:
    try:
        return version("fupin")
    except PackageNotFoundError:  # run from a source tree that is not installed
        return None
