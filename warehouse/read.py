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

import difflib
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from fupin.core.formatting import exact_text
from fupin.core.messages import CodedError, message
from fupin.core.readonly import connect_readonly, fence, listed_lake_files
from fupin.core.reference import MINISTRY_CODE, MINISTRY_NAME
from fupin.core.sql import dicts, quote_identifier
from fupin.warehouse.asof import SHANGHAI, connect_as_of, parse_moment
from fupin.warehouse.build import read_mart
from fupin.warehouse.contracts import contracts

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
    """marts.headline: the briefing's first lines (indicator, scope, period, value, unit, definition, and the
    coverage: counties_expected, counties_covered, missing_counties, missing_county_codes, coverage_note)."""
    return rows(con, "headline")


def indicators(
    con: duckdb.DuckDBPyConnection, *, counties: bool = True, indicator: str | None = None, area: str | None = None
) -> Rows:
    """marts.indicators in the printed order: indicator, scope_code, scope_name, period, value, unit, definition,
    counties_expected, counties_covered, missing_counties, missing_county_codes, coverage_note.

    ``counties=False``: the areas, their provincial parts and the designated counties only (``fupin
    indicators`` without ``--all``); ``indicator``: one indicator's rows; ``area`` (an area code such as
    'luoxiao'): the area's own rows, its parts' and its counties'.
    """
    return rows(con, "indicators", {"counties": counties, "indicator": indicator, "area": area})


def indicator_definitions(con: duckdb.DuckDBPyConnection) -> Rows:
    """core.indicator_definition, every column, in the printed order."""
    return rows(con, "indicator_definitions")


def indicator_changes(con: duckdb.DuckDBPyConnection, since: datetime | None = None) -> tuple[Rows, int]:
    """Changes to published figures from ``since`` on (None: all), each with the submissions behind it by name
    (``sources``, ``submission_names``), and how many figures were first published."""
    named = {"since": since, "ministry_code": MINISTRY_CODE, "ministry_name": MINISTRY_NAME}
    first = rows(con, "indicator_first_publications", {"since": since})[0]["n"]
    return rows(con, "indicator_changes", named), first


def unit_kinds(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str | None]]:
    """(unit, unit_name) of the indicators, in the printed table's order, each once."""
    return [(r["unit"], r["unit_name"]) for r in rows(con, "unit_kinds")]


# --- one figure explained: what it is made of, what it covers, how it changed


class UnknownFigure(CodedError, LookupError):
    """An indicator, scope or period that marts.indicators does not publish; the message names the near ones."""


def _near(wanted: str, known: dict[str, str], what: str, limit: int = 8) -> str:
    """'相近的有：a（名）、b（名）' from ``known`` (code → name) by closeness to ``wanted``, else the first few."""
    lowered = {k.lower(): k for k in known} | {n.lower(): k for k, n in known.items() if n}
    hits = difflib.get_close_matches(wanted.lower(), list(lowered), n=limit, cutoff=0.5)
    hits += [text for text in lowered if wanted.lower() in text and text not in hits]  # 罗霄 → 罗霄山片区
    codes = list(dict.fromkeys(lowered[h] for h in hits))[:limit]

    def named(code: str) -> str:
        return f"{code}（{known[code]}）" if known[code] and known[code] != code else code

    if codes:
        return "相近的有：" + "、".join(map(named, codes))
    shown = list(known)[:limit]
    more = f" 等 {len(known)} 个" if len(known) > limit else ""
    return f"{what}有：" + "、".join(map(named, shown)) + more


def _scope_forms(code: str, name: str | None) -> set[str]:
    """The ways a person may write a scope: its code, its name, the name without 县/市/区 (遂川 for 遂川县)."""
    forms = {code.lower()}
    if name:
        forms |= {name, name.removesuffix("县").removesuffix("市").removesuffix("区")} - {""}
    return forms


def find_figure(con: duckdb.DuckDBPyConnection, indicator: str, scope: str, period: str) -> tuple[str, str, str]:
    """(indicator, scope_code, period) of the published figure a person named: the indicator by id or Chinese
    name, the scope by code (luoxiao, luoxiao:43, 360827) or name (罗霄山片区, 遂川县, 遂川), the period as
    printed (2015-2017; 2015–2017 too). ``UnknownFigure`` (Chinese, with its code) naming the near ones."""
    targets = rows(con, "explain_targets")
    names = {r["indicator"]: r["indicator_name"] for r in targets}
    by_name = {n: i for i, n in names.items() if n}
    found = indicator if indicator in names else by_name.get(indicator)
    if found is None:
        near = _near(indicator, names, "已发布的指标")
        raise UnknownFigure(message("explain_unknown_indicator", indicator=indicator, near=near))
    indicator = found
    mine = [r for r in targets if r["indicator"] == indicator]
    scopes = {r["scope_code"]: r["scope_name"] for r in mine}
    wanted = scope.strip()
    hits = [c for c, n in scopes.items() if wanted.lower() in _scope_forms(c, n)]
    if len(hits) != 1:
        near = _near(wanted, {c: scopes[c] for c in hits} if hits else scopes, "此指标的范围")
        raise UnknownFigure(message("explain_unknown_scope", indicator=indicator, scope=scope, near=near))
    scope_code = hits[0]
    periods = [r["period"] for r in mine if r["scope_code"] == scope_code]
    wanted_period = period.strip().replace("–", "-").replace("—", "-").replace("～", "-").replace("~", "-")
    if wanted_period not in periods:
        near = "已发布的期间为 " + "、".join(periods)
        where = f"{scopes[scope_code]}（{scope_code}）"
        raise UnknownFigure(
            message("explain_unknown_period", indicator=indicator, scope=where, period=period, near=near)
        )
    return indicator, scope_code, wanted_period


def lineage_is_current(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the warehouse's marts.indicator_lineage has the columns this code builds it with: a warehouse whose
    marts were last built by an older fupin (nothing loaded since) has none, or an older one."""
    found = {
        r[0]
        for r in con.execute(
            "select column_name from duckdb_columns() where schema_name = 'marts' and table_name = 'indicator_lineage'"
        ).fetchall()
    }
    return set(read_mart("indicator_lineage").columns) <= found


# the datasets every county of a scope sends (its figures cover them all, or say which are missing); trainings,
# projects and aid reach some counties, and their coverage is not a count of counties
EVERY_COUNTY = {"fund_allocation", "poverty_status"}
# the coverage columns marts.indicators carries once it says what each figure covers
COVERAGE = ("counties_expected", "counties_covered", "missing_counties", "coverage_note")


def explanation(con: duckdb.DuckDBPyConnection, indicator: str, scope_code: str, period: str) -> dict[str, Any] | None:
    """One published figure explained, from the warehouse alone (marts.indicators, marts.indicator_lineage,
    marts.indicator_changes, meta.decisions); None when no such figure is published.

    A dict: indicator, indicator_name, scope_code, scope_name, period, value (Decimal), unit, unit_name,
    definition (Chinese), definition_en, composition ('sum': the contributions add up to the value; 'count': each
    counts 1; 'growth':
    first_year / last_year amounts; 'ratio': numerator / denominator persons; None when the lineage does not
    cover the indicator), contributions (rows of marts.indicator_lineage), coverage (counties_expected,
    counties_covered, missing_counties, coverage_note) and changes (before, after, submissions, file names and
    the decisions behind each)."""
    params = {"indicator": indicator, "scope": scope_code, "period": period}
    found = rows(con, "explain_figure", params)
    if not found:
        return None
    figure = found[0]
    contributions = rows(con, "explain_contributions", params)
    roles = {c["role"] for c in contributions}
    if not roles:
        composition = None
    elif "first_year" in roles:
        composition = "growth"
    elif "numerator" in roles:
        composition = "ratio"
    else:
        composition = "count" if roles == {"count"} else "sum"
    if all(c in figure for c in COVERAGE[:3]):  # the mart says what the figure covers: its word is the one shown
        # (None where coverage has no meaning: a county's own figure, a count of events)
        coverage = {c: figure.get(c) for c in COVERAGE} if figure.get("counties_expected") is not None else None
    elif roles and {c["dataset"] for c in contributions} <= EVERY_COUNTY:
        coverage = {**rows(con, "explain_coverage", params)[0], "coverage_note": None}
    else:
        coverage = None
    return {
        "indicator": indicator,
        "indicator_name": figure.get("indicator_name"),
        "scope_code": scope_code,
        "scope_name": figure.get("scope_name"),
        "period": period,
        "value": figure["value"],
        "unit": figure["unit"],
        "unit_name": figure.get("unit_name"),
        # the one Chinese definition (seeds/indicator_definitions.csv, as the report and the data dictionary show it)
        "definition": (figure.get("definition_row") or {}).get("definition_zh") or figure.get("definition"),
        "definition_en": figure.get("definition"),
        "composition": composition,
        "contributions": contributions,
        "coverage": coverage,
        "changes": rows(con, "explain_changes", params),
    }


def explanation_document(found: dict[str, Any]) -> dict[str, Any]:
    """``explanation`` as one JSON-ready object (``fupin explain --json``, the report): every figure as exact
    text in its base unit ('8400000000.00' yuan; a contribution's source_value as written in the file), times
    in ISO 8601."""
    unit = found["unit"]

    def moment(value: Any) -> Any:
        return value.isoformat() if isinstance(value, datetime) else value

    contributions = [
        {
            **c,
            "value": exact_text(c["value"], "yuan" if c["value_column"] == "amount_yuan" else "count"),
            "source_value": None if c["source_value"] is None else f"{c['source_value'].normalize():f}",
        }
        for c in found["contributions"]
    ]
    changes = [
        {
            **c,
            "changed_at": moment(c["changed_at"]),
            "value_before": exact_text(c["value_before"], c["unit"]),
            "value_after": exact_text(c["value_after"], c["unit"]),
            "decisions": [{**d, "decided_at": moment(d["decided_at"])} for d in c["decisions"]],
        }
        for c in found["changes"]
    ]
    return {
        **found,
        "value": exact_text(found["value"], unit),
        "contributions": contributions,
        "changes": changes,
    }


# --- tables for notebooks (fupin.indicators, fupin.submissions): the column names beside the rows, so that an
# empty answer still has its columns


def table_of(
    con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any] | None = None
) -> tuple[list[str], list[tuple]]:
    """The named query's column names and its rows (tuples, values as DuckDB gives them)."""
    cursor = con.execute(query_sql(name), params if params is not None else [])
    return [d[0] for d in cursor.description], cursor.fetchall()


def indicator_table(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[tuple]]:
    """marts.indicators in the printed order with every code's Chinese name beside it, and the province and county a
    row is about (indicator_name, scope_name, province_name, county_name, unit_name)."""
    return table_of(con, "indicator_frame")


def submission_table(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[tuple]]:
    """The ledger as received, with province_name, dataset_name, kind_name and status_name beside the codes."""
    return table_of(con, "submission_frame", {"ministry_code": MINISTRY_CODE, "ministry_name": MINISTRY_NAME})


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


def rejections(con: duckdb.DuckDBPyConnection, submission_id: str, limit: int | None = None) -> Rows:
    """One submission's rejected rows (row_number, field, value, reason, reason_code), file-level ones first; the
    first ``limit`` (None: all)."""
    return rows(con, "rejections", {"submission_id": submission_id, "limit": 2**62 if limit is None else limit})


def rejection_count(con: duckdb.DuckDBPyConnection, submission_ids: Sequence[str]) -> int:
    """How many rejected rows (file-level rejections included) the submissions have in meta.rejections."""
    return rows(con, "rejection_count", {"ids": list(submission_ids)})[0]["rejections"]


def header_mappings(con: duckdb.DuckDBPyConnection, submission_id: str) -> Rows | None:
    """How one submission's headers were read; None for a warehouse from before header mappings were kept."""
    try:
        return rows(con, "header_mappings", {"submission_id": submission_id})
    except duckdb.BinderException:  # a warehouse from before sources were kept: every value read from a header
        sql = query_sql("header_mappings").replace("matched_by, source", "matched_by, 'header' as source")
        return dicts(con.execute(sql, {"submission_id": submission_id}))
    except duckdb.CatalogException:
        return None


def lake_partitions(con: duckdb.DuckDBPyConnection) -> Rows:
    """Every lake file the warehouse's facts were loaded from, each version's (a rebuild and a recovery read them
    again): dataset, province_code, year, submission_id and lake_file (relative to the home), by partition.

    Read from the facts themselves — each dataset's history table and the registries' list — rather than from the
    ledger's years, which do not say which dataset of a file holding several came in which year."""
    parts = [
        f"select '{name}' as dataset, province_code, year, submission_id, "
        f"'lake/{name}/province=' || province_code || '/year=' || year || '/' || submission_id || '.parquet' "
        f"as lake_file from {contract.table}"
        for name, contract in sorted(contracts().items())
    ]
    parts.append(
        "select 'household_registry', province_code, year, submission_id, lake_file from "
        "core.household_registry_history"
    )
    return dicts(con.execute(f"select distinct * from ({' union all '.join(parts)}) order by all"))


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


# the nightly report lists this many rejected rows and counts the rest (a registry can reject millions)
REPORT_REJECTIONS = 200


def report_data(con: duckdb.DuckDBPyConnection, since: datetime | None) -> dict[str, Rows]:
    """Everything the nightly report shows, read from the warehouse; ``since``: the submissions received from
    then on (None: all). Of their rejected rows, the first REPORT_REJECTIONS and the count (``rejection_count``)."""
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
        "rejections": rows(con, "report_rejections", {"ids": ids, "limit": REPORT_REJECTIONS}) if ids else [],
        "rejection_count": [{"rejections": rejection_count(con, ids) if ids else 0}],
        "ledger": rows(con, "ledger_counts"),
        "held": held(con),
        "changes": indicator_changes(con, since)[0],  # figures changed from then on, with the submissions behind
    }


def fund_by_county_table(con: duckdb.DuckDBPyConnection) -> Rows:
    """The report's funds per county and year: the indicators' fund types and levels, and all funds (exact yuan)."""
    return rows(con, "report_fund_by_county")


def headline_contributions(con: duckdb.DuckDBPyConnection) -> Rows:
    """What each headline figure is made of per county and year, from marts.indicator_lineage (``kind`` county, or
    basis for a growth rate), with the files and rows it was read from (``sources``)."""
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
