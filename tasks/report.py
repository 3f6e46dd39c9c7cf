"""Report: the nightly HTML report, one self-contained file per run date (Asia/Shanghai).

``<home>/reports/<yyyy-mm-dd>.html`` holds what needs someone today, the headline indicators, the
civil-affairs funds per year of each area with their growth, each county's poverty incidence against its
exit threshold, the social organisations' funds landed, a sortable per-county table for each area, the
indicators' definitions, and the run's submissions and rejections. The page comes from the Jinja2 template
``tasks/templates/report.html.j2``; Apache ECharts (vendored in ``tasks/templates/vendor/``) is inlined
once, and every chart's data travels in the page, so it opens, draws and hands out its CSVs with no
network (a press office laptop, an e-mail attachment, a phone).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
from fupin.tasks.calendar import ATTENTION, submission_status
from fupin.tasks.summary import run_records
from fupin.warehouse.labels import column_labels, label
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from fupin.core.config import Paths
from fupin.core.files import write_text_atomic
from fupin.core.formatting import figure_text
from fupin.core.readonly import connect_readonly
from fupin.core.reference import submitters
from fupin.core.sql import dicts

SHANGHAI = ZoneInfo("Asia/Shanghai")
FONT = '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif'
# rejections listed in full up to this many; beyond, the count and the first ones (the receipts have them all)
MAX_REJECTIONS_SHOWN = 200
TEMPLATE = "report.html.j2"
ECHARTS = "vendor/echarts.common.min.js"
COLOURS = ("#c8102e", "#1f5fa8", "#2f855a", "#6b46c1", "#b7791f")

# the briefing's first lines: one definition (marts.headline) for the CLI, this report and the Prefect artifact
HEADLINE_SQL = (
    "select indicator, scope_code, scope_name, period, value, unit from marts.headline "
    "order by ordinal, scope_code, period"
)
# what each chart shows and its CSV holds: these marts' columns, rows as the chart draws them
FUNDS_COLUMNS = ["indicator", "scope_code", "scope_name", "period", "value", "unit"]
INCIDENCE_COLUMNS = ["county_code", "county_name", "year", "incidence", "exit_threshold", "below_exit_threshold"]
SOCIAL_COLUMNS = ["county_code", "county_name", "year", "amount_yuan", "organisations", "projects"]
COUNTY_COLUMNS = ["indicator", "indicator_name", "scope_code", "scope_name", "period", "value", "unit"]
# the CSVs' headers beyond the export's column labels (fupin.warehouse.labels.column_labels)
CSV_LABELS = {"indicator_name": "指标", "amount_yuan": "金额（元）", "value": "数值"}
# ledger statuses neither the receipts nor the calendar name


def status_label(status: str | None, kind: str = "submission") -> str:
    """The Chinese word for a status code: ``kind`` 'submission' (meta.submissions) or 'calendar'.

    The labels are the warehouse's (warehouse/seeds/labels.csv, core.labels).
    """
    if status is None:
        return ""
    return label("calendar_status" if kind == "calendar" else "submission_status", status)


def dataset_label(dataset: str | None) -> str:
    """A dataset's Chinese name from its contract (the code itself when no contract knows it)."""
    if not dataset:
        return ""
    return label("dataset", dataset)


def field_label(column: str | None) -> str:
    """A warehouse column's Chinese header (the contracts' labels and the export's)."""
    if not column:
        return ""
    return CSV_LABELS.get(column) or column_labels().get(column, column)


def run_date(now: datetime | None = None) -> date:
    """Today in Asia/Shanghai, where the Ministry reads the report."""
    return (now or datetime.now(SHANGHAI)).astimezone(SHANGHAI).date()


def report_path(paths: Paths, day: date) -> Path:
    """<home>/reports/<yyyy-mm-dd>.html."""
    return paths.reports / f"{day.isoformat()}.html"


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    rows = dicts(con.execute(sql, params or []))
    return [{k: float(v) if isinstance(v, Decimal) else v for k, v in r.items()} for r in rows]  # DECIMAL: for display


def read_report_data(con: duckdb.DuckDBPyConnection, since: datetime | None) -> dict[str, Any]:
    """Everything the report shows, read from the warehouse; ``since``: the run's start (None: all submissions)."""
    areas = _rows(con, "select area_code, area_name, show_counties from core.area order by rowid")
    funds = _rows(
        con,
        "select i.indicator, i.scope_code, i.scope_name, i.period, i.value, i.unit, cast(i.period as integer) as year "
        "from marts.indicators as i join core.area as a on a.area_code = i.scope_code "
        "where i.indicator = 'civil_affairs_funds' and i.period not like '%-%' order by a.rowid, year",
    )
    growth = {
        r["scope_code"]: r
        for r in _rows(
            con,
            "select scope_code, period, value from marts.indicators "
            "where indicator = 'civil_affairs_funds_growth' and scope_code in (select area_code from core.area)",
        )
    }
    incidence = _rows(
        con,
        "select p.county_code, p.county_name, p.year, p.incidence, p.exit_threshold, p.below_exit_threshold, "
        "a.area_code is not null as designated "
        "from marts.poverty_by_county as p "
        "left join (select distinct county_code, area_code from core.area_county where area_code in "
        "(select area_code from core.area where show_counties)) as a on a.county_code = p.county_code "
        "order by p.year, p.incidence desc, p.county_code",
    )
    social = _rows(
        con,
        "select county_code, county_name, year, amount_yuan, organisations, projects "
        "from marts.social_org_by_county order by year, amount_yuan desc, county_code",
    )
    # every county-level figure of marts.indicators, under each area the county belongs to
    by_county = _rows(
        con,
        "select ac.area_code, i.indicator, d.name as indicator_name, i.scope_code, i.scope_name, i.period, "
        "i.value, i.unit from marts.indicators as i "
        "join (select distinct area_code, county_code from core.area_county) as ac on ac.county_code = i.scope_code "
        "join core.indicator_definition as d using (indicator) "
        "order by ac.area_code, d.ordinal, i.period, i.scope_code",
    )
    definitions = _rows(
        con, "select indicator, name, unit_name, definition from core.indicator_definition order by ordinal"
    )
    window = "where received_at >= ?" if since else ""
    submissions = _rows(
        con,
        "select submission_id, province_code, file_name, dataset, status, rows_loaded, rows_rejected, message "
        f"from meta.submissions {window} order by province_code, received_at, file_name",
        [since] if since else [],
    )
    ids = [s["submission_id"] for s in submissions]
    rejections = (
        _rows(
            con,
            "select s.file_name, r.row_number, r.field, r.value, r.reason from meta.rejections as r "
            "join meta.submissions as s using (submission_id) where r.submission_id in (select unnest(?)) "
            "order by s.province_code, s.file_name, r.row_number nulls first",
            [ids],
        )
        if ids
        else []
    )
    return {
        "headline": _rows(con, HEADLINE_SQL),
        "areas": areas,
        "funds": funds,
        "growth": growth,
        "incidence": incidence,
        "social": social,
        "by_county": by_county,
        "definitions": definitions,
        "submissions": submissions,
        "rejections": rejections,
        "ledger": _rows(con, "select status, count(*) as n from meta.submissions group by status order by status"),
        "held": _rows(
            con,
            "select submission_id, province_code, file_name, message from meta.submissions "
            "where status = 'held' order by received_at",
        ),
    }


# --- values at the edge: DECIMAL and DOUBLE from the warehouse, numbers for the charts, text for the CSVs


def _number(value: Any) -> float | int | None:
    """A JSON number for a chart (Decimal → float; booleans and None as they are)."""
    if value is None or isinstance(value, bool | int):
        return value
    return float(value)


def _figure(value: Any, unit: str) -> str:
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
                        "text": "" if value is None else _figure(value, units[indicator]),
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


# --- the page


def _template_dir():
    return resources.files("fupin.tasks").joinpath("templates")


@cache
def echarts_js() -> str:
    """The vendored ECharts build, inlined into every report."""
    return _template_dir().joinpath(ECHARTS).read_text(encoding="utf-8")


@cache
def _environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("fupin.tasks", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    # tojson keeps Chinese readable in the page (and still escapes <, >, & and ' for a <script> block)
    env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": False}
    return env


def render_report(data: dict[str, Any], day: date, library_js: str | None = None) -> str:
    """The report page; ``library_js``: the charting library's source, inlined once (default: vendored ECharts)."""
    charts_funds = funds_charts(data)
    others = [c for c in (incidence_chart(data), social_chart(data)) if c is not None]
    tables = county_tables(data)
    charts = [*charts_funds, *others]
    downloads = {c.id: c.download.payload() for c in charts}
    downloads.update({f"table-{t['area_code']}": t["download"].payload() for t in tables})
    attention = [r for r in data["calendar"] if r["status"] in ATTENTION]
    headline = [
        {
            **r,
            "indicator_name": _indicator_name(data, r["indicator"]),
            "text": _figure(r["value"], r["unit"]),
            "raw": csv_cell(r["value"]),
        }
        for r in data["headline"]
    ]
    submissions = [
        {
            **s,
            "province_name": submitters().get(s["province_code"], s["province_code"]),
            "dataset_name": dataset_label(s["dataset"]),
            "status_name": status_label(s["status"]),
            "message": (s["message"] or "")[:200],
        }
        for s in data["submissions"]
    ]
    rejections = [{**r, "field_name": field_label(r["field"])} for r in data["rejections"][:MAX_REJECTIONS_SHOWN]]
    ledger = "，".join(f"{status_label(r['status'])} {r['n']}" for r in data["ledger"]) or "无"
    page = (
        _environment()
        .get_template(TEMPLATE)
        .render(
            day=day.isoformat(),
            generated=datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M"),
            font=FONT,
            library_js=library_js if library_js is not None else echarts_js(),
            failures=data["failures"],
            held=data["held"],
            attention=[
                {
                    **r,
                    "status_name": status_label(r["status"], "calendar"),
                    "dataset_name": r.get("dataset_name") or dataset_label(r["dataset"]),
                }
                for r in attention
            ],
            headline=headline,
            funds=charts_funds,
            others=others,
            county_tables=tables,
            definitions=data["definitions"],
            submissions=submissions,
            rows_loaded=sum(s["rows_loaded"] or 0 for s in data["submissions"]),
            rows_rejected=sum(s["rows_rejected"] or 0 for s in data["submissions"]),
            ledger=ledger,
            rejections=rejections,
            rejections_total=len(data["rejections"]),
            max_rejections=MAX_REJECTIONS_SHOWN,
            headers={
                c: field_label(c)
                for c in (
                    "province_name",
                    "file_name",
                    "dataset",
                    "status",
                    "rows_loaded",
                    "rows_rejected",
                    "message",
                    "row_number",
                    "field",
                    "value",
                    "reason",
                )
            },
            payload={"charts": {c.id: c.option for c in charts}, "downloads": downloads},
        )
    )
    return page


def _indicator_name(data: dict[str, Any], indicator: str) -> str:
    return next((d["name"] for d in data["definitions"] if d["indicator"] == indicator), indicator)


def todays_failures(paths: Paths, day: date) -> list[tuple[str, str]]:
    """(province name, file and reason) of every failure recorded by the day's runs (<home>/runs/*.json)."""
    failures: dict[str, str] = {}
    for _, r in run_records(paths):
        if datetime.fromisoformat(r["started_at"]).astimezone(SHANGHAI).date() == day:
            failures.update(r.get("failures") or {})
    names = submitters()
    return [(names.get(code, code), reason.splitlines()[0]) for code, reason in sorted(failures.items())]  # whole


def _failed_run_times(paths: Paths) -> list[float]:
    """When the run records that name failures were written."""
    return [file.stat().st_mtime for file, r in run_records(paths) if r.get("failures")]


def write_report(paths: Paths, day: date | None = None) -> Path:
    """Read the warehouse and the day's run records and write <home>/reports/<date>.html atomically."""
    day = day or run_date()
    since = datetime.combine(day, time(0), tzinfo=SHANGHAI)  # everything received that day, by every run
    with connect_readonly(paths.warehouse) as con:
        data = read_report_data(con, since)
        data["calendar"] = [{**r, "dataset_name": dataset_label(r["dataset"])} for r in submission_status(con, paths)]
    data["failures"] = todays_failures(paths, day)
    page = render_report(data, day)
    return write_text_atomic(report_path(paths, day), page)


@task(cache_policy=NO_CACHE)
def publish_report(paths: Paths) -> str:
    """Write the nightly HTML report from the warehouse; returns its path ('' when there is no warehouse yet)."""
    if not paths.warehouse.exists():
        get_run_logger().warning("no warehouse at %s yet: no report written", paths.warehouse)
        return ""
    existing = report_path(paths, run_date())
    # a run that changed nothing and failed nothing keeps its cost at an empty flow's: today's report already
    # shows this warehouse and the day's failures
    newest = max([paths.warehouse.stat().st_mtime, *_failed_run_times(paths)])
    if existing.exists() and existing.stat().st_mtime >= newest:
        return str(existing)
    target = write_report(paths)
    get_run_logger().info("report written to %s", target)
    return str(target)
