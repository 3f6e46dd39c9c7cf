"""Files an official opens in Excel: the indicator table or one warehouse table, as XLSX or CSV.

Every header is Chinese and every numeric column holds one unit, named in its header (``金额（元）``,
``金额（万元）``, ``比率（%）``, ``期数（期）``): a table whose rows mix units (the indicator table) gets one
column per unit, empty where a row has another. Stored values are never rounded: yuan are exact, 万元 and
percent are the exact quotient and product, and the XLSX cells carry a number format for display. Yes/no
is text (是/否), never a number. Codes (fund types and levels, statuses, datasets, regions) are shown by
their Chinese names with the code in a ``…代码`` column beside; a table with a county, province or
indicator code and no name gets the name beside it. Text cells that Excel would read as a formula
(starting with = + - @ | tab CR) get a leading apostrophe. CSV is UTF-8 with a BOM, which Excel needs to
show Chinese, and holds the same columns with the exact values.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import xlsxwriter

from fupin.core.formatting import figure_text, is_number, percent, wan_yuan
from fupin.core.messages import say
from fupin.core.reference import MINISTRY_CODE, MINISTRY_NAME
from fupin.core.safe_text import neutralise
from fupin.warehouse import read
from fupin.warehouse.comments import column_name_zh
from fupin.warehouse.contracts import contracts, fraction_columns
from fupin.warehouse.labels import column_labels, labels_of
from fupin.warehouse.relations import chinese_names, title_zh

__all__ = ["ExportError", "Sheet", "export", "figure_text", "header_row", "indicators_sheet"]

FORMATS = ("xlsx", "csv")
SHANGHAI = ZoneInfo("Asia/Shanghai")


# column → code → Chinese name of the codes a person reads in a table, from the warehouse's labels
# (warehouse/seeds/labels.csv, core.labels); the contracts' coded columns (fund_type, fund_level,
# row_action) are added from warehouse/contracts in code_labels()
CODE_LABELS: dict[str, dict[str, str]] = {
    # meta.submissions and marts.submission_status (the reporting calendar) share the column name
    "status": {**labels_of("submission_status"), **labels_of("calendar_status")},
    "region": labels_of("region"),
    "level": labels_of("area_level"),
    "kind": {**labels_of("submission_kind"), **labels_of("alias_kind")},
    "decision": labels_of("decision"),
    "matched_by": labels_of("matched_by"),
    "source": labels_of("mapping_source"),  # meta.header_mappings: where a value was read
    "outcome": labels_of("run_outcome"),
    "unit": labels_of("unit"),
    "part": labels_of("area_part"),
}

# columns holding fractions: exported as percent
PERCENT_COLUMNS = {"incidence", "exit_threshold", "threshold"}

# Excel number formats: the digits shown; the cell keeps every digit
YUAN_FORMAT = "#,##0.00"
WAN_FORMAT = "#,##0.00####"  # 万元 to the yuan's cent
PERCENT_FORMAT = "0.00"
COUNT_FORMAT = "#,##0"
# the noun of a count column by its unit: 人数（人）, 期数（期）
COUNT_NOUNS = {"人": "人数", "个": "个数", "期": "期数", "次": "次数", "户": "户数"}


class ExportError(ValueError):
    """A request that cannot be exported: unknown table, unknown format; the message is Chinese with a code."""


@dataclass(frozen=True)
class Column:
    """One column of a sheet: its header, how a row's cell is made, and the Excel number format of a number."""

    header: str
    cell: Callable[[dict[str, Any]], Any]
    number_format: str | None = None


@dataclass(frozen=True)
class Sheet:
    """What goes into the file: Chinese headers, rows of cell values, and the Excel number format per column."""

    title: str
    headers: list[str]
    rows: list[list[Any]]
    number_formats: list[str | None]


# a negative number kept as text (a submitted value, a rejected amount): a number, never a formula — written as one
NEGATIVE_NUMBER = re.compile(r"-(0|[1-9][0-9]{0,16})(\.[0-9]{1,6})?")


def _cell_value(value: Any) -> Any:
    """A cell as written: a negative number held as text becomes that number (Excel shows it as -115367.61,
    not '-115367.61); other text that Excel would run as a formula gets its apostrophe."""
    if isinstance(value, str) and NEGATIVE_NUMBER.fullmatch(value):
        return Decimal(value)
    return neutralise(value)


def _sheet(title: str, columns: list[Column], records: list[dict[str, Any]]) -> Sheet:
    rows = [[_cell_value(c.cell(r)) for c in columns] for r in records]
    return Sheet(title, [c.header for c in columns], rows, [c.number_format for c in columns])


# characters Excel refuses in a sheet's name
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def sheet_title(relation: str) -> str:
    """The sheet's name: the relation's Chinese title (县级资金（县×年度×资金类型×级别）), else its name; at most 31
    characters, none Excel refuses."""
    title = title_zh(relation) or chinese_names()[0].get(relation) or relation
    return _SHEET_FORBIDDEN.sub("_", title).strip("'")[:31] or relation[:31]


def _unit_kinds(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(unit, unit_name) of every indicator, in the printed table's order, each once."""
    kinds = [(u, n or CODE_LABELS["unit"].get(u, u)) for u, n in read.unit_kinds(con)]
    # money, rates and yes/no get one set of columns whatever the unit's name (元, 元/户); counts one per name
    single = {"yuan", "fraction", "boolean"}
    return [k for i, k in enumerate(kinds) if k[0] not in single or k[0] not in {u for u, _ in kinds[:i]}]


def unit_columns(
    kinds: list[tuple[str, str]], value_key: str, prefix: str = "", unit_name: Callable[[dict], str] | None = None
) -> list[Column]:
    """One column per unit for a value column whose rows mix units (``unit`` beside it): money in 元 and 万元,
    rates in %, counts per unit name (人, 个, 期), yes/no as text. A row's value sits only in its unit's column."""
    name_of = unit_name or (lambda r: r.get("unit_name"))

    def only(unit: str, name: str | None, convert: Callable[[Any], Any]) -> Callable[[dict], Any]:
        def cell(r: dict[str, Any]) -> Any:
            if r[value_key] is None or r["unit"] != unit or (name is not None and name_of(r) != name):
                return None
            return convert(r[value_key])

        return cell

    columns: list[Column] = []
    for unit, name in kinds:
        if unit == "yuan":
            columns.append(Column(f"{prefix}金额（元）", only(unit, None, _exact_number), YUAN_FORMAT))
            columns.append(Column(f"{prefix}金额（万元）", only(unit, None, wan_yuan), WAN_FORMAT))
        elif unit == "fraction":
            columns.append(Column(f"{prefix}比率（%）", only(unit, None, percent), PERCENT_FORMAT))
        elif unit == "boolean":
            columns.append(Column(f"{prefix}是否", only(unit, None, lambda v: "是" if v else "否")))
        else:
            noun = COUNT_NOUNS.get(name, "数量")
            columns.append(Column(f"{prefix}{noun}（{name}）", only(unit, name, _exact_number), COUNT_FORMAT))
    return columns


def _exact_number(value: Any) -> Any:
    return value


def indicators_sheet(con: duckdb.DuckDBPyConnection) -> Sheet:
    """marts.indicators, every row: names, the figure as the Ministry prints it, and the exact value by unit."""
    records = read.export_indicators(con)
    columns = [
        Column("指标", lambda r: r["indicator_name"]),
        Column("指标代码", lambda r: r["indicator"]),
        Column("范围", lambda r: r["scope_name"]),
        Column("范围代码", lambda r: r["scope_code"]),
        Column("期间", lambda r: r["period"]),
        Column(
            "公布数",
            lambda r: figure_text(r["value"], r["unit"], r["unit_name"]) if r["value"] is not None else "不予公布",
        ),
        *unit_columns(_unit_kinds(con), "value"),
        Column("单位", lambda r: r["unit_name"]),
        Column("指标说明", lambda r: r["definition"]),
        *coverage_columns(),
    ]
    return _sheet("指标", columns, records)


def coverage_columns() -> list[Column]:
    """What an area figure covers (marts.indicators): counties covered of those needed (text, 17/23: the sheet's
    numbers are the figures alone), those missing, and the note (empty where coverage does not apply: a county's
    own figure, indicators counted from lists of events)."""

    def covered(r: dict[str, Any]) -> str | None:
        return None if r["counties_expected"] is None else f"{r['counties_covered']}/{r['counties_expected']}"

    return [
        Column("覆盖县", covered),
        Column("缺报县", lambda r: _plain(r["missing_counties"]) or None),
        Column("缺报县代码", lambda r: _plain(r["missing_county_codes"]) or None),
        Column("覆盖说明", lambda r: r["coverage_note"]),
    ]


def warehouse_relations(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, str]]:
    """'schema.name' (lowercase) → (schema, name) of every table and view in the warehouse."""
    return {
        f"{s}.{n}".lower(): (s, n)
        for s, n in read.relations(con)
        if s not in ("main", "information_schema", "pg_catalog")
    }


def code_labels() -> dict[str, dict[str, str]]:
    """Column → code → Chinese name: the contracts' coded columns, the datasets, and the codes above."""
    out = {k: dict(v) for k, v in CODE_LABELS.items()}
    for contract in contracts().values():
        for c in contract.columns:
            if c.values:
                out.setdefault(c.name, {}).update({v.code: v.zh for v in c.values})
    out["dataset"] = labels_of("dataset")  # the contracts' datasets and the registry
    return out


def _translated(labels: dict[str, str], column: str) -> Callable[[dict], Any]:
    def cell(r: dict[str, Any]) -> Any:
        code = r[column]
        if code is None:
            return None
        # meta.submissions.dataset lists every dataset of a file: 'poverty_status,training'
        return "、".join(labels.get(part, part) for part in str(code).split(","))

    return cell


def table_sheet(con: duckdb.DuckDBPyConnection, name: str) -> Sheet:
    """One warehouse table or view; ``name`` must be one of the warehouse's schema.table names."""
    relations = warehouse_relations(con)
    key = name.strip().lower()
    if key not in relations:
        known = ", ".join(sorted(relations))
        raise ExportError(say("unknown_table", name=repr(name), known=known))
    schema, table = relations[key]
    # both identifiers come from the catalogue, never from the command line
    names, records = read.relation(con, schema, table)
    relation = f"{schema}.{table}"
    return _sheet(sheet_title(relation), table_columns(con, names, relation, records), records)


def table_columns(
    con: duckdb.DuckDBPyConnection, names: list[str], relation: str = "", records: list[dict[str, Any]] | None = None
) -> list[Column]:
    """The sheet's columns for a relation's columns: Chinese headers, codes by name, names beside codes, each once:
    a code whose name the table carries (fund_type beside fund_type_name) is not translated again, and a column
    named like a coded one whose ``records`` hold none of its codes (a household's 已脱贫) is shown as it is.

    A column's header is the export's label, else the Chinese name the warehouse's comments give it
    (warehouse/seeds/names_zh.csv, the contracts)."""
    codes = code_labels()
    labels = {c: column_name_zh(relation, c) or c for c in names} | column_labels()
    present = set(names)
    mixed_units = "unit" in present
    unit_names = (read.code_names(con, "indicator_unit") or {}) if mixed_units else {}
    # rows of mixed units are split into one column per unit when each row's unit name is known
    kinds = _unit_kinds(con) if mixed_units and unit_names and present & {"indicator", "unit_name"} else []
    out: list[Column] = []
    for column in names:
        label = labels.get(column, column)
        get = _getter(column)
        named = f"{column}_name" in present  # the table carries the code's name itself: no translation beside it
        base = column.removesuffix("_name")
        if column.endswith("_name") and base in present and base in codes and base != "unit":
            out.append(Column(labels.get(base, base), lambda r, c=column: _plain(r[c])))
            continue
        if kinds and column in ("value", "value_before", "value_after"):
            prefix = "" if column == "value" else label
            out += unit_columns(
                kinds, column, prefix, lambda r: r.get("unit_name") or unit_names.get(r.get("indicator"))
            )
        elif column in codes and column != "unit" and _holds_codes(records, column, codes[column]):
            if not named:
                out.append(Column(label, _translated(codes[column], column)))
            out.append(Column(f"{label}代码", get))
        elif column.endswith("_yuan"):
            out.append(Column(f"{label}（万元）", lambda r, c=column: _maybe(wan_yuan, r[c]), WAN_FORMAT))
        elif column in PERCENT_COLUMNS | fraction_columns() or column.endswith("_share"):
            out.append(Column(f"{label}（%）", lambda r, c=column: _maybe(percent, r[c]), PERCENT_FORMAT))
        else:
            out.append(Column(label, lambda r, c=column: _plain(r[c])))
        out += _names_beside(con, column, present, unit_names)
    return out


def _holds_codes(records: list[dict[str, Any]] | None, column: str, labels: dict[str, str]) -> bool:
    """Whether the column's values are codes of ``labels`` (each part of a comma list); True when the rows are not
    known."""
    if records is None:
        return True
    values = {part for r in records if r[column] is not None for part in str(r[column]).split(",")}
    return not values or bool(values & set(labels))


def _getter(column: str) -> Callable[[dict], Any]:
    return lambda r: r[column]


def _maybe(convert: Callable[[Any], Any], value: Any) -> Any:
    return None if value is None else convert(value)


# code column → (the table's own name column that makes a lookup needless, header, the names looked up:
# fupin.warehouse.read.code_names)
NAME_LOOKUPS = {
    "county_code": ("county_name", "县（市、区）", "county"),
    "prefecture_code": ("prefecture_name", "地州", "prefecture"),
    "province_code": ("province_name", "省份", "province"),
    "indicator": ("indicator_name", "指标", "indicator"),
    "part": ("part_name", "片区部分名称", "province"),
}


def _names_beside(con: duckdb.DuckDBPyConnection, column: str, present: set[str], unit_names: dict) -> list[Column]:
    """The name a person reads, beside a code whose table has no name column of its own."""
    if column == "unit" and "unit_name" not in present:
        generic = CODE_LABELS["unit"]
        return [Column("单位", lambda r: unit_names.get(r.get("indicator")) or generic.get(r["unit"], r["unit"]))]
    if (
        column not in NAME_LOOKUPS
        or NAME_LOOKUPS[column][0] in present
        or (column == "indicator" and "name" in present)
    ):
        return []
    _, header, kind = NAME_LOOKUPS[column]
    names = read.code_names(con, kind)
    if names is None:
        return []
    if column == "part":
        names["all"] = CODE_LABELS["part"]["all"]
    if column == "province_code":
        names.setdefault(MINISTRY_CODE, MINISTRY_NAME)  # the Ministry's own source (its projects list)
    return [Column(header, lambda r: names.get(r[column], r[column] if column == "part" else None))]


def _plain(value: Any) -> Any:
    if isinstance(value, bool):
        return "是" if value else "否"
    if value is None or isinstance(value, int | float | str | Decimal):
        return value
    if isinstance(value, datetime) and value.tzinfo is not None:  # shown as the Ministry's clock reads it
        return value.astimezone(SHANGHAI).isoformat(sep=" ", timespec="seconds")
    if isinstance(value, list | tuple):
        return "、".join(map(str, value))
    return str(value)


def write_csv(sheet: Sheet, out: Path) -> None:
    """UTF-8 with BOM, comma separated, header row first; numbers with every digit they have."""
    with out.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(sheet.headers)
        writer.writerows([_csv_cell(v) for v in row] for row in sheet.rows)


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return str(int(value))
        return format(value, "f").rstrip("0")
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return value


def xlsx_number(value: Any) -> int | float:
    """A number as an XLSX cell holds it: whole values as integers, others as the nearest float64 (15+ digits)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def write_xlsx(sheet: Sheet, out: Path) -> None:
    """One worksheet: bold frozen header, numbers as numbers with their display format, text as text."""
    book = xlsxwriter.Workbook(str(out), {"strings_to_formulas": False, "strings_to_urls": False})
    try:
        ws = book.add_worksheet(sheet.title.replace(":", "_"))
        header = book.add_format({"bold": True, "bg_color": "#F1F4F7", "border": 1, "text_wrap": True})
        formats = [book.add_format({"num_format": spec}) if spec else None for spec in sheet.number_formats]
        ws.write_row(0, 0, sheet.headers, header)
        for r, row in enumerate(sheet.rows, start=1):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if is_number(value):
                    ws.write_number(r, c, xlsx_number(value), formats[c])
                else:
                    ws.write_string(r, c, str(value))
        for c, h in enumerate(sheet.headers):
            width = max([_width(h)] + [_width(row[c]) for row in sheet.rows[:500]])
            ws.set_column(c, c, min(max(width + 2, 8), 60))
        ws.freeze_panes(1, 0)
        if sheet.rows:
            ws.autofilter(0, 0, len(sheet.rows), len(sheet.headers) - 1)
    finally:
        book.close()


def _width(value: Any) -> int:
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def export(
    warehouse: Path, out: Path, fmt: str, *, indicators: bool = False, table: str | None = None
) -> tuple[Path, int]:
    """Write the indicator table or one warehouse table to ``out``; returns the path and the rows written."""
    if fmt not in FORMATS:
        raise ExportError(say("unknown_format", format=repr(fmt)))
    if indicators == bool(table):
        raise ExportError(say("choose_one"))
    with read.connect(warehouse) as con:
        sheet = indicators_sheet(con) if indicators else table_sheet(con, table or "")
    out.parent.mkdir(parents=True, exist_ok=True)
    (write_xlsx if fmt == "xlsx" else write_csv)(sheet, out)
    return out, len(sheet.rows)


def header_row(values: Iterable[str]) -> list[str]:
    """Chinese header for warehouse column names (used by the report's tables too)."""
    labels = column_labels()
    return [labels.get(v, v) for v in values]
