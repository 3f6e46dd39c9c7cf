"""The report's charts and tables: ECharts options and the CSV each one hands out, from the warehouse's rows.

Values at the edge: DECIMAL and DOUBLE from the warehouse, numbers for the charts, text for the CSVs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from fupin.core.formatting import figure_text
from fupin.core.reference import KEY_INDICATORS
from fupin.warehouse.labels import column_labels

FONT = '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif'
COLOURS = ("#c8102e", "#1f5fa8", "#2f855a", "#6b46c1", "#b7791f")

# what each chart shows and its CSV holds: these marts' columns, rows as the chart draws them
FUNDS_COLUMNS = ["indicator", "scope_code", "scope_name", "period", "value", "unit_name"]
INCIDENCE_COLUMNS = ["county_code", "county_name", "year", "incidence", "exit_threshold", "below_exit_threshold"]
SOCIAL_COLUMNS = ["county_code", "county_name", "year", "amount_yuan", "organisations", "projects"]
COUNTY_COLUMNS = ["indicator", "indicator_name", "scope_code", "scope_name", "period", "value", "unit_name"]
HEADLINE_COLUMNS = ["indicator_name", "indicator", "scope_name", "period", "value", "unit_name"]
COVERAGE_COLUMNS = ["counties_covered", "counties_expected", "coverage_note"]
FUND_TABLE_COLUMNS = [
    "province_name",
    "prefecture_name",
    "county_name",
    "county_code",
    "year",
    "civil_affairs_yuan",
    "central_budget_investment_yuan",
    "lottery_welfare_central_yuan",
    "all_funds_yuan",
    "areas",
]
# the CSVs' headers beyond the export's column labels (fupin.warehouse.labels.column_labels)
CSV_LABELS = {
    "indicator_name": "指标",
    "amount_yuan": "金额（元）",
    "value": "数值",
    "civil_affairs_yuan": "民政事业费（中央＋省级，元）",
    "central_budget_investment_yuan": "中央预算内投资（元）",
    "lottery_welfare_central_yuan": "中央彩票公益金（元）",
    "all_funds_yuan": "全部资金（含市级、县级，元）",
    "areas": "所属片区",
    "counties_covered": "已覆盖县数",
    "counties_expected": "应覆盖县数",
    "coverage_note": "覆盖说明",
}


def field_label(column: str | None) -> str:
    """A warehouse column's Chinese header (the contracts' labels and the export's)."""
    if not column:
        return ""
    return CSV_LABELS.get(column) or column_labels().get(column, column)


def _number(value: Any) -> float | int | None:
    """A JSON number for a chart (Decimal → float; booleans and None as they are)."""
    if value is None or isinstance(value, bool | int):
        return value
    return float(value)


def display_figure(value: Any, unit: str) -> str:
    """A figure as the page prints it (fupin.export's convention), for DOUBLE and DECIMAL values alike."""
    return figure_text(None if value is None else _number(value), unit)


def csv_cell(value: Any) -> str:
    """A mart value as CSV text, exact: DECIMAL as written, DOUBLE by its shortest round-trip form, 是/否."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    return str(value)


@dataclass
class Download:
    """One CSV the page builds in the browser: file name, Chinese header, the mart's rows as text."""

    file: str
    columns: list[str]
    rows: list[list[Any]]

    def payload(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "header": [field_label(c) for c in self.columns],
            "rows": [[csv_cell(r[c]) for c in self.columns] for r in self.rows],
        }


@dataclass
class Chart:
    """One ECharts chart: its element id, HTML title, height, option (plain JSON) and downloadable rows."""

    id: str
    title: str
    height: int
    option: dict[str, Any]
    download: Download
    note: str = ""
    section: str = ""  # the heading of the chart's own section, when it has one


def _base_option(**extra: Any) -> dict[str, Any]:
    return {
        "animation": False,
        "textStyle": {"fontFamily": FONT, "fontSize": 12},
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        **extra,
    }


def _value_axis(name: str, room: str = "25%") -> dict[str, Any]:
    # the value axis leaves room past the longest bar for its label
    return {
        "type": "value",
        "name": name,
        "boundaryGap": [0, room],
        "splitLine": {"lineStyle": {"color": "#e5e8eb"}},
    }


def funds_charts(data: dict[str, Any]) -> list[Chart]:
    """Civil-affairs funds per year, 亿元: one chart per area with funds, its average growth in the title."""
    names = {a["area_code"]: a["area_name"] for a in data["areas"]}
    scopes = list(dict.fromkeys(r["scope_code"] for r in data["funds"]))
    charts = []
    for n, scope in enumerate(scopes):
        rows = [r for r in data["funds"] if r["scope_code"] == scope]
        name = names.get(scope, rows[0]["scope_name"])
        g = data["growth"].get(scope)
        title = f"{name}（{g['period']} 年均增长 {_number(g['value']) * 100:.1f}%）" if g else name
        bars = [
            {"value": round(_number(r["value"]) / 1e8, 2), "text": f"{_number(r['value']) / 1e8:,.2f}"} for r in rows
        ]
        option = _base_option(
            grid={"left": 8, "right": 16, "top": 36, "bottom": 28},
            xAxis={"type": "category", "data": [f"{r['year']}年" for r in rows], "axisLabel": {"interval": 0}},
            yAxis=_value_axis("亿元", "15%"),
            series=[
                {
                    "type": "bar",
                    "name": name,
                    "data": bars,
                    "barMaxWidth": 56,
                    "itemStyle": {"color": COLOURS[n % len(COLOURS)]},
                    "label": {"show": True, "position": "top"},
                }
            ],
        )
        charts.append(
            Chart(
                id=f"chart-funds-{scope}",
                title=title,
                height=320,
                option=option,
                download=Download(f"民政事业费_{name}.csv", FUNDS_COLUMNS, rows),
            )
        )
    return charts


def incidence_chart(data: dict[str, Any]) -> Chart | None:
    """Each county's incidence in the latest year (and the first, for comparison) against the exit threshold."""
    years = sorted({r["year"] for r in data["incidence"]})
    if not years:
        return None
    shown = [r for r in data["incidence"] if r["year"] in (years[0], years[-1])]
    last = [r for r in shown if r["year"] == years[-1]]
    first = {r["county_code"]: r for r in shown if r["year"] == years[0]}
    label = {r["county_code"]: r["county_name"] + ("★" if r["designated"] else "") for r in shown}
    order = [r["county_code"] for r in last] + sorted(set(first) - {r["county_code"] for r in last})
    latest = {r["county_code"]: r for r in last}
    series = []
    if len(years) > 1:
        series.append(
            {
                "type": "bar",
                "name": f"{years[0]}年末",
                "itemStyle": {"color": "#c9d1d9"},
                "data": [
                    round(_number(first[c]["incidence"]) * 100, 2)
                    if c in first and first[c]["incidence"] is not None
                    else None
                    for c in order
                ],
            }
        )
    thresholds = sorted({_number(r["exit_threshold"]) for r in last if r["exit_threshold"] is not None})
    series.append(
        {
            "type": "bar",
            "name": f"{years[-1]}年末",
            "itemStyle": {"color": "#c8102e"},
            "label": {"show": True, "position": "right", "fontSize": 11},
            "data": [
                {
                    "value": round(_number(latest[c]["incidence"]) * 100, 2),
                    "text": f"{_number(latest[c]['incidence']) * 100:.2f}",
                    "itemStyle": {"color": "#2e8540" if latest[c]["below_exit_threshold"] else "#c8102e"},
                }
                if c in latest and latest[c]["incidence"] is not None
                else None
                for c in order
            ],
            "markLine": {
                "silent": True,
                "symbol": "none",
                "lineStyle": {"type": "dashed", "color": "#333"},
                "label": {"position": "start", "formatter": "{b}"},
                "data": [{"xAxis": round(t * 100, 4), "name": f"退出标准 {t * 100:g}%"} for t in thresholds],
            },
        }
    )
    per_county = 14 + 16 * len(series)
    option = _base_option(
        legend={"top": 0, "left": 0},
        grid={"left": 8, "right": 16, "top": 48, "bottom": 28},
        xAxis=_value_axis("%", "20%"),
        yAxis={
            "type": "category",
            "inverse": True,
            "data": [label[c] for c in order],
            "axisLabel": {"interval": 0},
            "axisTick": {"alignWithLabel": True},
        },
        series=series,
    )
    marks = "、".join(a["area_name"] for a in data["areas"] if a["show_counties"])
    return Chart(
        id="chart-incidence",
        section="贫困发生率与退出标准 Incidence against the exit threshold",
        title=f"各县贫困发生率（{years[-1]}年末与{years[0]}年末，%）"
        if len(years) > 1
        else f"各县贫困发生率（{years[-1]}年末，%）",
        note="红：未达退出标准；绿：低于退出标准；虚线：退出标准" + (f"；★ {marks}" if marks else "") + "。",
        height=per_county * len(order) + 90,
        option=option,
        download=Download("各县贫困发生率.csv", INCIDENCE_COLUMNS, shown),
    )


def social_chart(data: dict[str, Any]) -> Chart | None:
    """Social organisations' funds landed per county and year, 万元."""
    if not data["social"]:
        return None
    years = sorted({r["year"] for r in data["social"]})
    order = list(dict.fromkeys(r["county_code"] for r in data["social"]))
    names = {r["county_code"]: r["county_name"] for r in data["social"]}
    series = []
    for n, year in enumerate(years):
        rows = {r["county_code"]: r for r in data["social"] if r["year"] == year}
        series.append(
            {
                "type": "bar",
                "name": f"{year}年",
                "itemStyle": {"color": COLOURS[(n + 1) % len(COLOURS)]},
                "label": {"show": True, "position": "right", "fontSize": 11},
                "data": [
                    {
                        "value": round(_number(rows[c]["amount_yuan"]) / 1e4, 1),
                        "text": f"{_number(rows[c]['amount_yuan']) / 1e4:,.1f}（{rows[c]['organisations']}家）",
                    }
                    if c in rows
                    else None
                    for c in order
                ],
            }
        )
    option = _base_option(
        legend={"top": 0, "left": 0},
        grid={"left": 8, "right": 16, "top": 48, "bottom": 28},
        xAxis=_value_axis("万元", "60%"),
        yAxis={"type": "category", "inverse": True, "data": [names[c] for c in order], "axisLabel": {"interval": 0}},
        series=series,
    )
    return Chart(
        id="chart-social",
        section="社会组织落地资金 Social-organisation funds landed",
        title="社会组织扶贫项目落地资金（按县，万元）",
        note="括号内为参与的社会组织数。",
        height=(16 + 22 * len(years)) * len(order) + 90,
        option=option,
        download=Download("社会组织落地资金_按县.csv", SOCIAL_COLUMNS, data["social"]),
    )


def county_tables(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Per area: one row per county, one column per indicator × period of marts.indicators, sortable."""
    out = []
    for area in data["areas"]:
        rows = [r for r in data["by_county"] if r["area_code"] == area["area_code"]]
        columns = list(dict.fromkeys((r["indicator"], r["period"]) for r in rows))
        names = {r["indicator"]: r["indicator_name"] for r in rows}
        units = {r["indicator"]: r["unit"] for r in rows}
        counties = sorted({(r["scope_code"], r["scope_name"]) for r in rows})
        cells = {(r["scope_code"], r["indicator"], r["period"]): r["value"] for r in rows}
        table_rows = []
        for code, name in counties:
            row = []
            for indicator, period in columns:
                value = cells.get((code, indicator, period))
                number = _number(value)
                row.append(
                    {
                        "text": "" if value is None else display_figure(value, units[indicator]),
                        "sort": "" if number is None else repr(float(number)),
                        "indicator": indicator,
                        "period": period,
                        "value": csv_cell(value),
                    }
                )
            table_rows.append({"code": code, "name": name, "cells": row})
        out.append(
            {
                "area_code": area["area_code"],
                "area_name": area["area_name"],
                "columns": [{"indicator": i, "period": p, "label": f"{names[i]} {p}"} for i, p in columns],
                "rows": table_rows,
                "download": Download(f"分县指标_{area['area_name']}.csv", COUNTY_COLUMNS, rows),
            }
        )
    return out


def _brief_order(period: str) -> tuple[bool, str]:
    """Which period a key figure shows: a span of years (2015-2017) over a single year, then the latest."""
    return ("-" in period, period.split("-")[-1])


def key_figures(headline: list[dict[str, Any]], areas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per area (not its provincial parts or counties), in the areas' order: its key figures (KEY_INDICATORS, the
    span of years over a single year, then the latest), each a headline row as ``render`` prepared it."""
    out = []
    for area in areas:
        chosen: dict[str, dict[str, Any]] = {}
        for r in headline:
            if r["scope_code"] != area["area_code"] or r["indicator"] not in KEY_INDICATORS:
                continue
            held = chosen.get(r["indicator"])
            if held is None or _brief_order(str(r["period"])) >= _brief_order(str(held["period"])):
                chosen[r["indicator"]] = r
        figures = [chosen[i] for i in KEY_INDICATORS if i in chosen]
        if figures:
            out.append({"area_code": area["area_code"], "area_name": area["area_name"], "figures": figures})
    return out


def headline_download(headline: list[dict[str, Any]], coverage: bool) -> Download:
    """The headline figures as one CSV: Chinese names and units, exact numbers (and coverage, when kept)."""
    return Download("主要指标.csv", HEADLINE_COLUMNS + (COVERAGE_COLUMNS if coverage else []), headline)


def fund_table(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Funds per county and year (marts.fund_by_county): the table's rows (万元 shown, yuan kept) and its CSV."""
    amounts = FUND_TABLE_COLUMNS[5:9]
    table_rows = [
        {
            **r,
            "cells": [
                {"text": f"{_number(r[c]) / 1e4:,.2f}", "sort": repr(float(_number(r[c]))), "value": csv_cell(r[c])}
                for c in amounts
            ],
        }
        for r in rows
    ]
    return {
        "headers": [field_label(c).replace("，元）", "，万元）").replace("（元）", "（万元）") for c in amounts],
        "rows": table_rows,
        "download": Download("分县资金.csv", FUND_TABLE_COLUMNS, rows),
    }
