"""Files an official opens in Excel: the indicator table or one warehouse table, as XLSX or CSV.

Headers are Chinese; money is shown as the Ministry prints it (亿元 from 1亿 up, else 万元) in the
indicator table, and in 万元 throughout a table's ``*_yuan`` columns; rates are percent. Text
cells that Excel would read as a formula (starting with = + - @ |) get a leading apostrophe. CSV is
UTF-8 with a BOM, which Excel needs to show Chinese.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from fupin.readonly import connect_readonly
from fupin.safe_text import neutralise
from warehouse.build import indicator_names
from warehouse.contracts import column_labels as contract_labels
from warehouse.contracts import fraction_columns

FORMATS = ("xlsx", "csv")


UNIT_LABELS = {"yuan": "元", "fraction": "比例", "persons": "人", "count": "个", "boolean": "是/否"}

# labels of the columns no dataset contract declares; the contracts' own come from warehouse/contracts
COLUMN_LABELS = {
    "submission_id": "报送编号",
    "province_code": "省份代码",
    "province_name": "省份",
    "prefecture_code": "地市代码",
    "prefecture_name": "地市",
    "county_name": "县（市、区）",
    "region": "地区",
    "area_code": "片区代码",
    "area_name": "片区",
    "part": "片区部分",
    "dataset": "数据集",
    "file_name": "文件名",
    "source_path": "来源路径",
    "sha256": "SHA-256",
    "received_at": "接收时间",
    "status": "状态",
    "years": "年度",
    "rows_total": "总行数",
    "rows_loaded": "入库行数",
    "rows_rejected": "退回行数",
    "message": "说明",
    "raw_path": "原始文件",
    "row_number": "行号",
    "field": "字段",
    "value": "数值",
    "reason": "原因",
    "reason_code": "原因代码",
    "applied_at": "生效时间",
    "decision": "决定",
    "decided_by": "决定人",
    "decided_at": "决定时间",
    "value_before": "变动前",
    "value_after": "变动后",
    "changed_at": "变动时间",
    "submissions": "来源报送",
    "counties": "县数",
    "poor_population": "未脱贫人口",
    "lifted_population": "已脱贫人口",
    "incidence": "贫困发生率",
    "exit_threshold": "退出标准",
    "threshold": "退出标准",
    "below_exit_threshold": "低于退出标准",
    "organisations": "社会组织数",
    "projects": "项目数",
    "indicator": "指标代码",
    "scope_code": "范围代码",
    "scope_name": "范围",
    "period": "期间",
    "unit": "单位",
    "definition": "指标说明",
    "households": "户数",
    "members": "家庭人口数",
    "township": "乡镇",
    "village": "行政村",
    "registration_year": "识别年度",
    "exit_year": "脱贫年度",
    "household_key": "户主标识（加密）",
    "source_row": "原表行号",
    "valid_from": "生效时间",
    "valid_to": "失效时间",
    "alias": "别名",
    "kind": "类别",
    "ordinal": "序号",
}


def column_labels() -> dict[str, str]:
    """Column → Chinese header: the dataset contracts' labels and those above."""
    return {**COLUMN_LABELS, **contract_labels()}


# columns holding fractions: exported as percent
PERCENT_COLUMNS = {"incidence", "exit_threshold", "threshold"}


class ExportError(ValueError):
    """A request that cannot be exported: unknown table, unknown format."""


@dataclass(frozen=True)
class Sheet:
    """What goes into the file: Chinese headers, rows of cell values, and Excel number formats per column."""

    title: str
    headers: list[str]
    rows: list[list[Any]]
    number_formats: list[str | None]
    # the indicator table's 数值 column changes unit row by row (亿元 two decimals, 万元 one, %)
    row_formats: tuple[int, list[str | None]] | None = None


def ministry_figure(value: float | None, unit: str) -> tuple[Any, str, str | None]:
    """(number as printed, unit label, Excel number format): 亿元 from 1亿 up, else 万元; percent; persons."""
    if value is None:
        return None, "", None
    value = float(value)  # DECIMAL in the warehouse: exact there, rounded here for display
    if unit == "yuan":
        if abs(value) >= 1e8:
            return round(value / 1e8, 2), "亿元", "#,##0.00"
        return round(value / 1e4, 1), "万元", "#,##0.0"
    if unit == "fraction":
        return round(value * 100, 2), "%", "0.00"
    if unit == "boolean":
        return ("是" if value else "否"), "", None
    return int(round(value)), {"persons": "人", "count": "个"}.get(unit, unit), "#,##0"


def format_value(value: float | None, unit: str) -> str:
    """A figure as the Ministry prints it (the CLI's convention): 84.00亿元, 5,430.9万元, 24.00%, 1,003, yes/no."""
    if value is None:
        return ""
    value = float(value)  # DECIMAL in the warehouse: exact there, rounded here for display
    if unit == "yuan":
        if abs(value) >= 1e8:
            return f"{value / 1e8:,.2f}亿元"
        return f"{value / 1e4:,.1f}万元"
    if unit == "fraction":
        return f"{value * 100:.2f}%"
    if unit == "boolean":
        return "yes" if value else "no"
    return f"{value:,.0f}"


def figure_text(value: float | None, unit: str) -> str:
    """A figure as one printed string for Chinese pages: format_value's, with yes/no as 是/否."""
    if unit == "boolean" and value is not None:
        return ministry_figure(value, unit)[0]
    return format_value(value, unit)


def indicators_sheet(con: duckdb.DuckDBPyConnection) -> Sheet:
    """marts.indicators, every row, with Chinese names, printed figures and the raw value beside them."""
    rows = con.execute(
        "select i.indicator, i.scope_code, i.scope_name, i.period, i.value, i.unit, i.definition "
        "from marts.indicators as i join core.indicator_definition as d using (indicator) "
        "order by d.ordinal, i.scope_code, i.period"
    ).fetchall()
    out = []
    for indicator, scope_code, scope_name, period, value, unit, definition in rows:
        number, label, _ = ministry_figure(value, unit)
        out.append(
            [
                indicator_names().get(indicator, indicator),
                indicator,
                scope_name,
                scope_code,
                period,
                number,
                label,
                value,
                UNIT_LABELS.get(unit, unit),
                definition,
            ]
        )
    headers = ["指标", "指标代码", "范围", "范围代码", "期间", "数值", "单位", "原始数值", "原始单位", "指标说明"]
    formats: list[str | None] = [None] * len(headers)
    formats[7] = "0.00########"
    per_row = [ministry_figure(r[4], r[5])[2] for r in rows]
    return Sheet("指标", headers, [[neutralise(v) for v in r] for r in out], formats, (5, per_row))


def warehouse_relations(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, str]]:
    """'schema.name' (lowercase) → (schema, name) of every table and view in the warehouse."""
    found = con.execute(
        "select schema_name, table_name from duckdb_tables() where not internal "
        "union all select schema_name, view_name from duckdb_views() where not internal"
    ).fetchall()
    return {f"{s}.{n}".lower(): (s, n) for s, n in found if s not in ("main", "information_schema", "pg_catalog")}


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_sheet(con: duckdb.DuckDBPyConnection, name: str) -> Sheet:
    """One warehouse table or view; ``name`` must be one of the warehouse's schema.table names."""
    relations = warehouse_relations(con)
    key = name.strip().lower()
    if key not in relations:
        known = ", ".join(sorted(relations))
        raise ExportError(f"no table {name!r} in the warehouse; use one of: {known}")
    schema, table = relations[key]
    # both identifiers come from the catalogue, never from the command line
    cur = con.execute(f"select * from {_quote_identifier(schema)}.{_quote_identifier(table)}")
    columns = [d[0] for d in cur.description]
    rows = cur.fetchall()
    headers, converters, formats = [], [], []
    for column in columns:
        label = column_labels().get(column, column)
        if column.endswith("_yuan"):
            headers.append(f"{label}（万元）")
            converters.append(_to_wan)
            formats.append("#,##0.00####")
        elif column in PERCENT_COLUMNS | fraction_columns() or column.endswith("_share"):
            headers.append(f"{label}（%）")
            converters.append(_to_percent)
            formats.append("0.00")
        else:
            headers.append(label)
            converters.append(_plain)
            formats.append(None)
    out = [[neutralise(conv(v)) for conv, v in zip(converters, row, strict=True)] for row in rows]
    return Sheet(f"{schema}.{table}"[:31], headers, out, formats)


def _to_wan(value: Any) -> Any:
    if value is None:
        return None
    wan = Decimal(str(value)) / Decimal(10000)
    return float(wan)


def _to_percent(value: Any) -> Any:
    return None if value is None else round(float(value) * 100, 4)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, int | float | str | bool):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return str(value)


def write_csv(sheet: Sheet, out: Path) -> None:
    """UTF-8 with BOM, comma separated, header row first; figures with the decimals the Ministry prints."""
    value_col, per_row = sheet.row_formats or (-1, [])
    with out.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(sheet.headers)
        for r, row in enumerate(sheet.rows):
            writer.writerow(
                _csv_cell(v, per_row[r] if c == value_col else sheet.number_formats[c]) for c, v in enumerate(row)
            )


# number formats whose decimals are the printed figure's (no thousands separator: Excel reads the cell as a number)
_CSV_DECIMALS = {"#,##0.00": 2, "#,##0.0": 1, "0.00": 2, "#,##0": 0}


def _csv_cell(value: Any, spec: str | None) -> Any:
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if spec in _CSV_DECIMALS:
            return f"{value:.{_CSV_DECIMALS[spec]}f}"
        if isinstance(value, float):
            return f"{value:.10f}".rstrip("0").rstrip(".")
    return value


def write_xlsx(sheet: Sheet, out: Path) -> None:
    """One worksheet: bold frozen header, numbers as numbers with their display format."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(out), {"strings_to_formulas": False, "strings_to_urls": False})
    try:
        ws = book.add_worksheet(sheet.title.replace(":", "_"))
        header = book.add_format({"bold": True, "bg_color": "#F1F4F7", "border": 1})
        cached: dict[str, Any] = {}

        def fmt(spec: str | None):
            if spec is None:
                return None
            if spec not in cached:
                cached[spec] = book.add_format({"num_format": spec})
            return cached[spec]

        ws.write_row(0, 0, sheet.headers, header)
        value_col, per_row = sheet.row_formats or (-1, [])
        for r, row in enumerate(sheet.rows, start=1):
            for c, value in enumerate(row):
                spec = per_row[r - 1] if c == value_col else sheet.number_formats[c]
                if value is None:
                    continue
                if isinstance(value, str):
                    ws.write_string(r, c, value)
                elif isinstance(value, bool):
                    ws.write_boolean(r, c, value)
                else:
                    ws.write_number(r, c, value, fmt(spec))
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
        raise ExportError(f"unknown format {fmt!r}: use xlsx or csv")
    if indicators == bool(table):
        raise ExportError("give exactly one of --indicators or --table NAME")
    with connect_readonly(warehouse) as con:
        sheet = indicators_sheet(con) if indicators else table_sheet(con, table or "")
    out.parent.mkdir(parents=True, exist_ok=True)
    (write_xlsx if fmt == "xlsx" else write_csv)(sheet, out)
    return out, len(sheet.rows)


def header_row(values: Iterable[str]) -> list[str]:
    """Chinese header for warehouse column names (used by the report's tables too)."""
    labels = column_labels()
    return [labels.get(v, v) for v in values]
