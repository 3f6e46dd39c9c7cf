"""One way to read the warehouse: the read-only connection and the queries over the marts and the ledger.

``connect(warehouse)`` opens a home's warehouse for reading: the analysts' sandbox of
``fupin.core.readonly`` (read-only, no file but the warehouse's own lake files and run records, no
extensions, settings locked), or with ``as_of`` the warehouse as it stood then (``fupin.warehouse.asof``:
facts valid at that moment, marts rebuilt from them in memory, then the same fence). Every reader of
fupin — the CLI, the report, exports, artifacts, the reporting calendar, the data dictionary, doctor —
opens it here.

The functions below take such a connection and return plain rows (a list of dicts keyed by column
name, values as DuckDB gives them: DECIMAL as ``Decimal``, timestamps aware). Their SQL lives in
``warehouse/queries/<name>.sql`` beside the marts, loaded by name (``query_sql``); a query's
parameters are named (``$since``), bound by DuckDB, never formatted into the text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from fupin.core.readonly import connect_readonly, fence, listed_lake_files
from fupin.core.sql import dicts, quote_identifier
from fupin.warehouse.asof import SHANGHAI, connect_as_of, parse_moment

Rows = list[dict[str, Any]]
# the name fupin.warehouse.asof attaches the warehouse file under
AS_OF_DATABASE = "wh"


@cache
def query_sql(name: str) -> str:
    """The text of ``warehouse/queries/<name>.sql``."""
    return resources.files("fupin.warehouse").joinpath("queries", f"{name}.sql").read_text(encoding="utf-8")


def rows(con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any] | Sequence[Any] | None = None) -> Rows:
    """The rows of the named query as dicts."""
    return dicts(con.execute(query_sql(name), params if params is not None else []))


def moment_of(as_of: str | date | datetime) -> datetime:
    """An as-of moment: '2018-10-30' or a date → the end of that day in Asia/Shanghai; a datetime as given
    (naive: Asia/Shanghai). A text that is neither raises ValueError."""
    if isinstance(as_of, str):
        return parse_moment(as_of)
    if isinstance(as_of, datetime):
        return as_of if as_of.tzinfo else as_of.replace(tzinfo=SHANGHAI)
    return datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=SHANGHAI)


def connect(warehouse: Path, as_of: str | date | datetime | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to ``warehouse``; with ``as_of``, the warehouse as it stood at that moment.

    Nothing is ever written to the file. duckdb.Error when it does not open (missing, damaged).
    """
    if as_of is None:
        return connect_readonly(Path(warehouse))
    con = connect_as_of(Path(warehouse), moment_of(as_of))
    try:  # the same fence as the sandbox's, once the marts of that moment are built in memory
        fence(con, Path(warehouse), listed_lake_files(con, AS_OF_DATABASE))
    except BaseException:
        con.close()
        raise
    return con


# --- indicators


def headline(con: duckdb.DuckDBPyConnection) -> Rows:
    """marts.headline: the briefing's first lines (indicator, scope, period, value, unit, definition)."""
    return rows(con, "headline")


def indicators(
    con: duckdb.DuckDBPyConnection, *, counties: bool = True, indicator: str | None = None, area: str | None = None
) -> Rows:
    """marts.indicators in the printed order: indicator, scope_code, scope_name, period, value, unit, definition.

    ``counties=False``: the areas, their provincial parts and the designated counties only (``fupin
    indicators`` without ``--all``); ``indicator``: one indicator's rows; ``area`` (an area code such as
    'luoxiao'): the area's own rows, its parts' and its counties'.
    """
    return rows(con, "indicators", {"counties": counties, "indicator": indicator, "area": area})


def indicator_definitions(con: duckdb.DuckDBPyConnection) -> Rows:
    """core.indicator_definition, every column, in the printed order."""
    return rows(con, "indicator_definitions")


def indicator_changes(con: duckdb.DuckDBPyConnection, since: datetime | None = None) -> tuple[Rows, int]:
    """Changes to published figures from ``since`` on (None: all), and how many figures were first published."""
    params = {"since": since}
    return rows(con, "indicator_changes", params), rows(con, "indicator_first_publications", params)[0]["n"]


def unit_kinds(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str | None]]:
    """(unit, unit_name) of the indicators, in the printed table's order, each once."""
    return [(r["unit"], r["unit_name"]) for r in rows(con, "unit_kinds")]


# --- the ledger


def first_received(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """When the first submission arrived; None when none has."""
    return rows(con, "first_received")[0]["first_received"]


def submissions(
    con: duckdb.DuckDBPyConnection,
    statuses: Sequence[str] | None = None,
    province: str | None = None,
    since: datetime | None = None,
) -> Rows:
    """The submission ledger by province, as received; ``statuses`` (codes), ``province`` (a code) and ``since``
    (received from then on) narrow it, each when given."""
    return rows(
        con,
        "submissions",
        {"statuses": list(statuses) if statuses else None, "province": province, "since": since},
    )


def submission(con: duckdb.DuckDBPyConnection, submission_id: str) -> dict[str, Any] | None:
    """One submission of the ledger; None when there is none by that id."""
    found = rows(con, "submission", {"submission_id": submission_id})
    return found[0] if found else None


def retirements(con: duckdb.DuckDBPyConnection, submission_ids: Sequence[str]) -> Rows:
    """What held submissions would retire if approved, per submission × dataset × place: place_name, years
    (2015–2017), rows, details (the rest of the keys in Chinese)."""
    return rows(con, "retirements", {"ids": list(submission_ids)}) if submission_ids else []


def held(con: duckdb.DuckDBPyConnection) -> Rows:
    """The held submissions, oldest first, each with ``retired``: its retirements rows."""
    found = rows(con, "held")
    retired = retirements(con, [h["submission_id"] for h in found])
    for h in found:
        h["retired"] = [r for r in retired if r["submission_id"] == h["submission_id"]]
    return found


def rejections(con: duckdb.DuckDBPyConnection, submission_id: str) -> Rows:
    """One submission's rejected rows (row_number, field, value, reason, reason_code), file-level ones first."""
    return rows(con, "rejections", {"submission_id": submission_id})


def header_mappings(con: duckdb.DuckDBPyConnection, submission_id: str) -> Rows | None:
    """How one submission's headers were read; None for a warehouse from before header mappings were kept."""
    try:
        return rows(con, "header_mappings", {"submission_id": submission_id})
    except duckdb.BinderException:  # a warehouse from before sources were kept: every value read from a header
        sql = query_sql("header_mappings").replace("matched_by, source", "matched_by, 'header' as source")
        return dicts(con.execute(sql, {"submission_id": submission_id}))
    except duckdb.CatalogException:
        return None


def lake_files(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The lake files the warehouse's household views read, as it names them (relative to the home)."""
    return [r["lake_file"] for r in rows(con, "lake_files")]


def relations(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(schema, name) of every table and view of the warehouse."""
    return [(r["schema_name"], r["table_name"]) for r in rows(con, "relations")]


def relation(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> tuple[list[str], Rows]:
    """Every row of one table or view: its column names and its rows. ``schema`` and ``name`` must come from
    ``relations`` (the catalogue), never from a person's text."""
    cur = con.execute(f"select * from {quote_identifier(schema)}.{quote_identifier(name)}")
    columns = [d[0] for d in cur.description]
    return columns, dicts(cur)


# names a person reads beside a code: the query names_<kind> gives (code, name)
NAMES = ("county", "prefecture", "province", "indicator", "indicator_unit")


def code_names(con: duckdb.DuckDBPyConnection, kind: str) -> dict[Any, Any] | None:
    """code → name of ``kind`` (one of NAMES); None when the warehouse has no such table (an older or partial one)."""
    if kind not in NAMES:
        raise ValueError(f"unknown kind of names: {kind!r}")
    try:
        return {r["code"]: r["name"] for r in rows(con, f"names_{kind}")}
    except duckdb.CatalogException:
        return None


# --- the reporting calendar


def submission_status(con: duckdb.DuckDBPyConnection, expected: pa.Table, failed_provinces: list[str]) -> Rows:
    """Every expected or received submission's state as of now: the reporting calendar's ``expected`` rows
    (province_code, dataset, period, due_date; empty without a calendar) beside the ledger: received, late, held,
    failed (``failed_provinces``: the last run's), discarded, missing or pending."""
    con.register("expected_rows", expected)
    try:
        return rows(con, "submission_status", {"failed": failed_provinces})
    finally:
        con.unregister("expected_rows")


# --- the nightly report


def report_data(con: duckdb.DuckDBPyConnection, since: datetime | None) -> dict[str, Rows]:
    """Everything the nightly report shows, read from the warehouse; ``since``: the submissions received from
    then on (None: all)."""
    submitted = rows(con, "report_submissions", {"since": since})
    ids = [s["submission_id"] for s in submitted]
    return {
        "headline": headline(con),
        "areas": rows(con, "report_areas"),
        "funds": rows(con, "report_funds"),
        "growth": rows(con, "report_growth"),
        "incidence": rows(con, "report_incidence"),
        "social": rows(con, "report_social"),
        "by_county": rows(con, "report_by_county"),
        "definitions": rows(con, "report_definitions"),
        "submissions": submitted,
        "rejections": rows(con, "report_rejections", {"ids": ids}) if ids else [],
        "ledger": rows(con, "ledger_counts"),
        "held": held(con),
    }


def fund_by_county_table(con: duckdb.DuckDBPyConnection) -> Rows:
    """The report's funds per county and year: the indicators' fund types and levels, and all funds (exact yuan)."""
    return rows(con, "report_fund_by_county")


def headline_contributions(con: duckdb.DuckDBPyConnection) -> Rows:
    """What each headline figure is made of per county and year (``kind`` county, or basis for a growth rate; none:
    no row where rows are expected), with ``counties_expected`` where the definition needs every county."""
    return rows(con, "report_contributions")


def indicator_coverage(con: duckdb.DuckDBPyConnection) -> Rows | None:
    """Each figure's counties covered and expected and its coverage note; None when marts.indicators keeps none."""
    try:
        return rows(con, "report_coverage")
    except duckdb.BinderException:  # a marts.indicators without coverage columns
        return None


# --- exports


def export_indicators(con: duckdb.DuckDBPyConnection) -> Rows:
    """marts.indicators, every row with its names and unit name, as the indicator export prints it."""
    return rows(con, "export_indicators")


# --- the catalogue (the data dictionary)


def catalog(con: duckdb.DuckDBPyConnection, schemas: Sequence[str]) -> dict[str, Rows]:
    """The tables, views (with their SQL) and columns of ``schemas``, with their comments."""
    params = {"schemas": list(schemas)}
    return {part: rows(con, f"catalog_{part}", params) for part in ("tables", "views", "columns")}
