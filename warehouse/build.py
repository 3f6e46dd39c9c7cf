"""Build the warehouse: DDL, reference tables, marts (one SQL file per model) and data tests."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from decimal import Decimal
from graphlib import TopologicalSorter
from importlib import resources
from pathlib import Path

import duckdb
import pyarrow as pa

from fupin.core import yamltext
from fupin.core.progress import report
from fupin.core.reference import (
    EXIT_THRESHOLD,
    aliases,
    area_counties,
    area_prefectures,
    areas,
    counties,
    prefectures,
    provinces,
    region_of,
)
from fupin.core.sql import escape_literal as _quote
from fupin.warehouse.comments import chinese_column, chinese_title
from fupin.warehouse.contracts import contracts
from fupin.warehouse.labels import labels
from fupin.warehouse.migrations import migrate, stamp
from fupin.warehouse.relations import of_build, relation


def _sql(path: str) -> str:
    return resources.files("fupin.warehouse").joinpath(path).read_text(encoding="utf-8")


# a reference in a model's SQL to another mart; comments are left out before looking
_MART_REFERENCE = re.compile(r"\bmarts\.([a-z_][a-z0-9_]*)\b", re.IGNORECASE)
_COMMENT = re.compile(r"--[^\n]*")


@dataclass(frozen=True)
class Mart:
    """One mart: its SQL and the documentation written above it (a YAML header in ``--`` comments)."""

    name: str
    sql: str
    description: str
    columns: dict[str, str]

    @property
    def reads(self) -> set[str]:
        """The other marts its SQL reads."""
        return {m.lower() for m in _MART_REFERENCE.findall(_COMMENT.sub("", self.sql))} - {self.name}


def read_mart(name: str) -> Mart:
    """models/marts/<name>.sql with its header: ``-- description: …`` and ``-- columns: {column: comment}``."""
    sql = _sql(f"models/marts/{name}.sql")
    header = []
    for line in sql.splitlines():
        if not line.startswith("--"):
            break
        header.append(line[3:] if line.startswith("-- ") else line[2:])
    doc = yamltext.safe_load("\n".join(header))
    return Mart(name, sql, doc["description"], doc.get("columns") or {})


def marts() -> list[Mart]:
    """Every mart, in an order where each comes after the marts its SQL reads (graphlib)."""
    folder = resources.files("fupin.warehouse").joinpath("models/marts")
    found = {
        m.name: m for m in (read_mart(e.name.removesuffix(".sql")) for e in folder.iterdir() if e.name.endswith(".sql"))
    }
    graph = {name: found[name].reads & set(found) for name in sorted(found)}
    return [found[name] for name in TopologicalSorter(graph).static_order()]


def fact_views() -> list[str]:
    """The current-version views of core: one per dataset contract, and the household registries'."""
    return [*(c.view.removeprefix("core.") for c in contracts().values()), "household_registry"]


def apply_ddl(con: duckdb.DuckDBPyConnection) -> None:
    """Create the schemas, the declared tables (relation specs) and the contract tables that do not exist yet, with
    their comments; current-fact views share their tables' comments. An existing warehouse is first brought to the
    current schema version (warehouse/migrations.py); a new one is stamped with it."""
    new = migrate(con) is None  # an existing warehouse brought to the current version first
    con.execute(_sql("ddl.sql"))
    for spec in of_build("table"):
        con.execute(spec.create_sql())
        if spec.current:
            con.execute(spec.current_view_sql())
        con.execute(spec.comment_sql())
    for contract in contracts().values():
        con.execute(contract.ddl())
        table = contract.table.removeprefix("core.")
        table_comment = con.execute(
            "select comment from duckdb_tables() where schema_name = 'core' and table_name = ?", [table]
        ).fetchone()[0]
        current = table_comment.split("; ", 1)[-1]  # the history's Chinese title and 'Every version of …' left out
        titled = chinese_title(contract.view, current + " Current versions only.")
        con.execute(f"comment on view {contract.view} is '{_quote(titled)}'")
        for column, comment in con.execute(
            "select column_name, comment from duckdb_columns() where schema_name = 'core' and table_name = ? "
            "and column_name not in ('valid_from', 'valid_to')",
            [table],
        ).fetchall():
            con.execute(f"comment on column {contract.view}.{column} is '{_quote(comment or '')}'")
    if new:
        stamp(con)


def _replace(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table | str) -> None:
    """(Re)write a reference table as its spec declares it, from Arrow rows or a select over other reference
    tables, with its comments."""
    spec = relation(name)
    con.execute(spec.create_sql(replace=True))
    if isinstance(table, str):
        con.execute(f"insert into {name} by name {table}")
    else:
        con.register("_incoming", table)
        try:
            con.execute(f"insert into {name} by name select * from _incoming")
        finally:
            con.unregister("_incoming")
    con.execute(spec.comment_sql())


def indicator_names() -> dict[str, str]:
    """Indicator id → Chinese name, from seeds/indicator_definitions.csv (the one place they are written)."""
    return {r["indicator"]: r["name"] for r in csv.DictReader(_sql("seeds/indicator_definitions.csv").splitlines())}


def load_reference(con: duckdb.DuckDBPyConnection, areas_override: Path | None = None) -> None:
    """(Re)write the reference tables from python-stdnum's division list and the seeds (areas: ``areas_override``
    when that file exists, e.g. <home>/config/areas.csv)."""
    cs = sorted(counties().values(), key=lambda c: c.county_code)
    _replace(con, "core.dim_county", pa.Table.from_pylist([c.__dict__ for c in cs]))
    _replace(
        con,
        "core.dim_province",
        pa.Table.from_pylist(
            [{"province_code": k, "province_name": v, "region": region_of(k)} for k, v in sorted(provinces().items())]
        ),
    )
    _replace(con, "core.area", pa.Table.from_pylist([a.__dict__ for a in areas(areas_override)]))
    _replace(con, "core.area_county", pa.Table.from_pylist([a.__dict__ for a in area_counties(areas_override)]))
    _replace(
        con,
        "core.dim_prefecture",
        pa.Table.from_pylist(
            [
                {
                    "prefecture_code": p.prefecture_code,
                    "prefecture_name": p.prefecture_name,
                    "province_code": p.province_code,
                    "province_name": p.province_name,
                    "counties": len(p.county_codes),
                }
                for _, p in sorted(prefectures().items())
            ]
        ),
    )
    _replace(con, "core.area_prefecture", pa.Table.from_pylist([a.__dict__ for a in area_prefectures(areas_override)]))
    _replace(
        con,
        "core.area_place",
        "select area_code, area_name, county_code as place_code, 'county' as level, from_year, to_year "
        "from core.area_county union all "
        "select area_code, area_name, prefecture_code, 'prefecture', from_year, to_year from core.area_prefecture",
    )
    _replace(
        con,
        "core.county_alias",
        pa.Table.from_pylist(
            [
                {"alias": alias, "county_code": code, "province_code": prov, "kind": kind}
                for alias, hits in sorted(aliases().items())
                for code, prov, kind in hits
            ]
        ),
    )
    _replace(
        con,
        "core.exit_threshold",
        pa.Table.from_pylist(
            [{"region": r, "threshold": Decimal(str(t))} for r, t in EXIT_THRESHOLD.items()],
            pa.schema([("region", pa.string()), ("threshold", pa.decimal128(5, 4))]),
        ),
    )
    _replace(con, "core.labels", pa.Table.from_pylist([x.__dict__ for x in labels(areas_override)]))
    rows = [
        {"ordinal": i, **row}
        for i, row in enumerate(csv.DictReader(_sql("seeds/indicator_definitions.csv").splitlines()), start=1)
    ]
    _replace(con, "core.indicator_definition", pa.Table.from_pylist(rows))


def build_marts(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild every mart from the core tables, in dependency order."""
    report("all", "load", "core tables loaded")  # progress lines time the load and the marts apart
    built = marts()
    for mart in built:
        table = f"marts.{mart.name}"
        con.execute(f"create or replace table {table} as {mart.sql}")
        con.execute(f"comment on table {table} is '{_quote(chinese_title(table, mart.description))}'")
        for column, text in mart.columns.items():
            con.execute(f"comment on column {table}.{column} is '{_quote(chinese_column(table, column, text))}'")
    report("all", "marts", f"{len(built)} marts built")


def run_data_tests(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Run warehouse/tests/assert_*.sql and each contract's generic tests (keys unique, required not null,
    accepted values); each returns the offending rows. Name → count of offenders."""
    tests: dict[str, tuple[str, list]] = {}
    folder = resources.files("fupin.warehouse").joinpath("tests")
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("assert_") and entry.name.endswith(".sql"):
            tests[entry.name.removesuffix(".sql")] = (entry.read_text(encoding="utf-8"), [])
    for contract in contracts().values():
        tests.update(contract.data_tests())
    failures = {}
    for name, (sql, params) in tests.items():
        n = con.execute(f"select count(*) from ({sql})", params).fetchone()[0]
        if n:
            failures[name] = n
    return failures
