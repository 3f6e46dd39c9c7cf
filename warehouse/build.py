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
import yaml
from fupin.warehouse.comments import chinese_column, chinese_title
from fupin.warehouse.contracts import contracts
from fupin.warehouse.labels import labels
from fupin.warehouse.migrations import migrate, stamp

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

REFERENCE_COMMENTS = {
    "core.dim_county": (
        "One row per current county-level division (GB/T 2260, from python-stdnum's list).",
        {
            "county_code": "Current 6-digit code.",
            "county_name": "Current name.",
            "prefecture_code": "6-digit code of the prefecture (地级) it belongs to.",
            "prefecture_name": "Name of the prefecture.",
            "province_code": "2-digit province code.",
            "province_name": "Province name.",
            "region": "east, central or west (NBS poverty-monitoring grouping).",
        },
    ),
    "core.dim_province": (
        "One row per province.",
        {
            "province_code": "2-digit code.",
            "province_name": "Name.",
            "region": "east, central or west.",
        },
    ),
    "core.area": (
        "One row per policy area of the areas reference file (seeds/areas.csv or <home>/config/areas.csv).",
        {
            "area_code": "Area id, e.g. luoxiao (罗霄山片区), designated_mca (民政部定点扶贫县), sanqu_sanzhou.",
            "area_name": "Area name.",
            "from_year": "First year the area applies (null: always).",
            "to_year": "Last year the area applies (null: still).",
            "show_counties": "True when its counties get rows of their own in the headline (the designated counties).",
        },
    ),
    "core.area_county": (
        "One row per area × county: each area expanded to its current counties (a county named twice counts once).",
        {
            "area_code": "Area id (core.area).",
            "area_name": "Area name.",
            "county_code": "Current 6-digit county code.",
            "level": "province, prefecture or county: how the area's definition names the county.",
            "defined_by": "The code in the area's definition that brings the county in (54, 5134, 360827 …).",
            "from_year": "First year the area applies (core.area): facts of earlier years do not count in it.",
            "to_year": "Last year the area applies (core.area): facts of later years do not count in it.",
        },
    ),
    "core.dim_prefecture": (
        "One row per current prefecture-level division (地级) that has counties (GB/T 2260, python-stdnum's list).",
        {
            "prefecture_code": "6-digit code, as core.dim_county.prefecture_code (513400).",
            "prefecture_name": "Current name.",
            "province_code": "2-digit province code.",
            "province_name": "Province name.",
            "counties": "Current counties in it, count.",
        },
    ),
    "core.area_prefecture": (
        "One row per area × prefecture whose current counties all lie in the area: where rows that target a "
        "whole prefecture (a training held in 凉山州) count.",
        {
            "area_code": "Area id (core.area).",
            "area_name": "Area name.",
            "prefecture_code": "6-digit prefecture code (core.dim_prefecture).",
            "level": "province, prefecture or county: how the area's definition names the prefecture's counties.",
            "defined_by": "The code(s) in the area's definition that bring it in (54, 5134 …).",
            "from_year": "First year the area applies (core.area).",
            "to_year": "Last year the area applies (core.area).",
        },
    ),
    "core.area_place": (
        "One row per area × place a row may name: each county of the area and each prefecture it holds whole. "
        "A fact's place is coalesce(county_code, prefecture_code); the two never share a code (a prefecture's "
        "ends in 00).",
        {
            "area_code": "Area id (core.area).",
            "area_name": "Area name.",
            "place_code": "A county code (core.area_county) or a whole prefecture's code (core.area_prefecture).",
            "level": "county or prefecture: what the place is.",
            "from_year": "First year the area applies (core.area).",
            "to_year": "Last year the area applies (core.area).",
        },
    ),
    "core.county_alias": (
        "One row per alias × county: every current or former name or code that resolves to a current county.",
        {
            "alias": "A name, short name or code as submissions write it.",
            "county_code": "Current county code it resolves to.",
            "province_code": "2-digit province of the county.",
            "kind": "code, name, short_name, old_code, old_name or old_short_name.",
        },
    ),
    "core.exit_threshold": (
        "One row per region: the incidence below which a poor county may exit (脱贫摘帽).",
        {
            "region": "east, central or west.",
            "threshold": "Incidence threshold as a fraction.",
        },
    ),
    "core.labels": (
        "One row per code a person reads, with its Chinese and English name: indicators, areas, datasets, fund "
        "types and levels, submission, calendar and run statuses (seeds/labels.csv, the contracts, "
        "seeds/indicator_definitions.csv and the areas file).",
        {
            "kind": "What the code is: indicator, area, dataset, fund_type, fund_level, row_action, "
            "submission_status, submission_kind, calendar_status, run_outcome, decision, region, area_level, "
            "area_part or unit.",
            "code": "The code as the warehouse stores it (e.g. civil_affairs, partially_loaded, luoxiao).",
            "name_zh": "Chinese name, as reports, exports and the CLI print it.",
            "name_en": "English name.",
            "ordinal": "Position within its kind, as its seed or contract lists it.",
        },
    ),
    "core.indicator_definition": (
        "One row per indicator published in marts.indicators, with its unit and definition.",
        {
            "ordinal": "Position in the printed indicator table.",
            "indicator": "Indicator id.",
            "unit": "yuan, fraction, persons, count or boolean.",
            "dataset": "The dataset its figures come from (fund_allocation, poverty_status, …).",
            "name": "Chinese name, as reports and exports print it.",
            "unit_name": "Unit in Chinese (元, 比例, 人, 个, 期, 是/否).",
            "definition": "How the indicator is computed.",
        },
    ),
}


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
    doc = yaml.safe_load("\n".join(header))
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


# core.fct_household_history: the households in the lake's registry files, each with the validity of
# its county's registry version (core.household_registry_history). Column → (type, comment).
HOUSEHOLD_COLUMNS = {
    "province_code": ("varchar", "2-digit code of the submitting province."),
    "year": ("integer", "Year the registry describes (its end)."),
    "household_id": (
        "varchar",
        "The household's number in the registry (户编号), as submitted: not a person's identifier.",
    ),
    "household_key": (
        "varchar",
        "HMAC-SHA256 of the head's resident ID number under the PII key, 64 hex characters: the same person "
        "gets the same key in every submission and year.",
    ),
    "county_code": ("varchar", "Current 6-digit county code."),
    "township": ("varchar", "Township (乡镇) as submitted."),
    "village": ("varchar", "Administrative village (行政村) as submitted."),
    "members": ("integer", "Household members, persons (1–20)."),
    "status": ("varchar", "已脱贫 (lifted), 未脱贫 (not yet lifted) or 返贫 (fell back)."),
    "registration_year": ("integer", "Year the household was registered (识别年度)."),
    "exit_year": ("integer", "Year the household was lifted out (脱贫年度), null if not yet."),
    "submission_id": ("varchar", "Submission the row came from."),
    "source_row": ("bigint", "Line number in the submitted file."),
    "valid_from": ("timestamptz", "When the submission carrying this version was received: valid from then."),
    "valid_to": ("timestamptz", "When a newer registry of the same county × year replaced it; null while current."),
}
HOUSEHOLD_COMMENT = (
    "Registered poor households (建档立卡): one row per household as of its submission's year — pseudonymised, "
    "no names, no ID numbers. Read from the lake's Parquet files where they lie (core.household_registry.lake_file, "
    "relative to the home: set file_search_path to the home folder)."
)


def apply_ddl(con: duckdb.DuckDBPyConnection) -> None:
    """Create the schemas and contract tables that do not exist yet; current-fact views share their comments.

    An existing warehouse is first brought to the current schema version (warehouse/migrations.py); a new one
    is stamped with it.
    """
    old_layout = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'core' and table_name = 'fct_household_history'"
    ).fetchone()[0]
    if old_layout:
        raise RuntimeError(
            "this warehouse keeps households in a table, as fupin did before households were read from the lake: "
            "rebuild it from the lake (deployment rebuild-warehouse with replace=true, force=true) or remove it"
        )
    new = migrate(con) is None
    con.execute(_COMMENT_STATEMENT.sub(_chinese_comment, _sql("ddl.sql")))
    for contract in contracts().values():
        con.execute(contract.ddl())
    for view in fact_views():
        table_comment = con.execute(
            "select comment from duckdb_tables() where schema_name = 'core' and table_name = ?", [f"{view}_history"]
        ).fetchone()[0]
        current = table_comment.split("; ", 1)[-1]  # the history's Chinese title and 'Every version of …' left out
        titled = chinese_title(f"core.{view}", current + " Current versions only.")
        con.execute(f"comment on view core.{view} is '{_quote(titled)}'")
        for column, comment in con.execute(
            "select column_name, comment from duckdb_columns() where schema_name = 'core' and table_name = ? "
            "and column_name not in ('valid_from', 'valid_to')",
            [f"{view}_history"],
        ).fetchall():
            con.execute(f"comment on column core.{view}.{column} is '{_quote(comment or '')}'")
    if new:
        stamp(con)


# a COMMENT statement of ddl.sql: its Chinese name is put in front as it runs (warehouse/comments.py)
_COMMENT_STATEMENT = re.compile(
    r"comment on (table|column) ([a-z0-9_]+\.[a-z0-9_]+(?:\.[a-z0-9_]+)?) is '((?:[^']|'')*)';"
)


def _chinese_comment(m: re.Match) -> str:
    kind, target, text = m.group(1), m.group(2), m.group(3).replace("''", "'")
    if kind == "table":
        text = chinese_title(target, text)
    else:
        relation, column = target.rsplit(".", 1)
        text = chinese_column(relation, column, text)
    return f"comment on {kind} {target} is '{_quote(text)}';"


def create_household_views(con: duckdb.DuckDBPyConnection) -> None:
    """core.fct_household_history and core.fct_household over the registry files the warehouse lists.

    A join with core.household_registry_history gives each household its county's version
    validity, so a county's newer registry replaces only that county, as with every fact.
    The files are named relative to the home and found through ``file_search_path``
    (fupin/core/home.py).
    """
    from fupin.core.home import search_home

    if not con.execute("select current_setting('file_search_path')").fetchone()[0]:
        search_home(con)  # no registry loaded in this session: the warehouse's own folder is its home
    files = [
        f
        for (f,) in con.execute("select distinct lake_file from core.household_registry_history order by 1").fetchall()
    ]
    from_lake = [c for c in HOUSEHOLD_COLUMNS if c not in ("province_code", "year", "valid_from", "valid_to")]
    if files:
        listed = ", ".join(f"'{_quote(f)}'" for f in files)
        body = (
            f"select r.province_code, r.year, {', '.join('h.' + c for c in from_lake)}, r.valid_from, r.valid_to "
            f"from read_parquet([{listed}], union_by_name = true) h join core.household_registry_history r "
            "on h.submission_id = r.submission_id and h.county_code = r.county_code"
        )
    else:
        body = "select " + ", ".join(f"null::{t} as {c}" for c, (t, _) in HOUSEHOLD_COLUMNS.items()) + " where false"
    con.execute(f"create or replace view core.fct_household_history as {body}")
    con.execute(
        "create or replace view core.fct_household as "
        "select * exclude (valid_from, valid_to) from core.fct_household_history where valid_to is null"
    )
    every_version = "Every version of core.fct_household with its validity (valid_from, valid_to). "
    con.execute(f"comment on view core.fct_household_history is '{_quote(every_version + HOUSEHOLD_COMMENT)}'")
    con.execute(f"comment on view core.fct_household is '{_quote(HOUSEHOLD_COMMENT + ' Current versions only.')}'")
    for column, (_, comment) in HOUSEHOLD_COLUMNS.items():
        con.execute(f"comment on column core.fct_household_history.{column} is '{_quote(comment)}'")
        if column not in ("valid_from", "valid_to"):
            con.execute(f"comment on column core.fct_household.{column} is '{_quote(comment)}'")


def _replace(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table | str) -> None:
    """(Re)write a reference table from Arrow rows or a select over other reference tables, with its comments."""
    if isinstance(table, str):
        con.execute(f"create or replace table {name} as {table}")
    else:
        con.register("_incoming", table)
        try:
            con.execute(f"create or replace table {name} as select * from _incoming")
        finally:
            con.unregister("_incoming")
    comment, columns = REFERENCE_COMMENTS[name]
    con.execute(f"comment on table {name} is '{_quote(chinese_title(name, comment))}'")
    for column, text in columns.items():
        con.execute(f"comment on column {name}.{column} is '{_quote(chinese_column(name, column, text))}'")


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
