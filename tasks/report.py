"""Report: the nightly HTML report, one self-contained file per run date (Asia/Shanghai).

``<home>/reports/<yyyy-mm-dd>.html`` holds the headline indicators, the civil-affairs funds per
year of the Luoxiao area and the designated counties with their growth, each county's poverty
incidence against its exit threshold, the social organisations' funds landed, and the run's
submissions and rejections. plotly.js is embedded once in the page, so it opens without a
network (a press office laptop, an e-mail attachment).
"""

from __future__ import annotations

import html
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from fupin.config import Paths
from fupin.export import header_row
from fupin.files import write_text_atomic
from fupin.formatting import figure_text
from fupin.readonly import connect_readonly
from fupin.sql import dicts
from tasks.calendar import ATTENTION, STATUS_LABELS, submission_status
from tasks.summary import run_records
from warehouse.build import indicator_names
from warehouse.contracts import contracts
from warehouse.reference import provinces

SHANGHAI = ZoneInfo("Asia/Shanghai")
FONT = '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif'
# rejections listed in full up to this many; beyond, the count and the first ones (the receipts have them all)
MAX_REJECTIONS_SHOWN = 200

# the briefing's first lines: one definition (marts.headline) for the CLI, this report and the Prefect artifact
HEADLINE_SQL = (
    "select indicator, scope_code, scope_name, period, value, unit from marts.headline "
    "order by ordinal, scope_code, period"
)


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
    funds = _rows(
        con,
        "select i.scope_code, i.scope_name, cast(i.period as integer) as year, i.value from marts.indicators as i "
        "join core.area as a on a.area_code = i.scope_code "
        "where i.indicator = 'civil_affairs_funds' and i.period not like '%-%' order by i.scope_code desc, year",
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
        "order by p.year, p.incidence desc",
    )
    social = _rows(
        con,
        "select county_code, county_name, year, amount_yuan, organisations, projects "
        "from marts.social_org_by_county order by year, amount_yuan desc",
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
        "funds": funds,
        "growth": growth,
        "incidence": incidence,
        "social": social,
        "submissions": submissions,
        "rejections": rejections,
        "ledger": _rows(con, "select status, count(*) as n from meta.submissions group by status order by status"),
        "held": _rows(
            con,
            "select submission_id, province_code, file_name, message from meta.submissions "
            "where status = 'held' order by received_at",
        ),
    }


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": title, "x": 0.01, "font": {"size": 16}},
        "font": {"family": FONT, "size": 13},
        "margin": {"l": 60, "r": 20, "t": 60, "b": 60},
        "plot_bgcolor": "white",
        "paper_bgcolor": "white",
        "legend": {"orientation": "h", "y": -0.15},
        **extra,
    }


def funds_figure(data: dict[str, Any]):
    """Civil-affairs funds per year, 亿元: the Luoxiao area and the designated counties side by side."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    scopes = list(dict.fromkeys(r["scope_code"] for r in data["funds"]))  # every area with funds, in area order
    names = {r["scope_code"]: r["scope_name"] for r in data["funds"]}
    titles = []
    for s in scopes:
        g = data["growth"].get(s)
        titles.append(f"{names[s]}（{g['period']} 年均增长 {g['value'] * 100:.1f}%）" if g else names[s])
    fig = make_subplots(rows=1, cols=max(len(scopes), 1), subplot_titles=titles or ["无数据"])
    for i, (s, colour) in enumerate(
        zip(scopes, ("#c8102e", "#1f5fa8", "#2f855a", "#6b46c1", "#b7791f"), strict=False), start=1
    ):
        rows = [r for r in data["funds"] if r["scope_code"] == s]
        fig.add_trace(
            go.Bar(
                x=[str(r["year"]) for r in rows],
                y=[r["value"] / 1e8 for r in rows],
                name=names[s],
                marker_color=colour,
                text=[f"{r['value'] / 1e8:.2f}" for r in rows],
                textposition="outside",
                hovertemplate="%{x}年: %{y:.2f}亿元<extra>" + html.escape(names[s]) + "</extra>",
            ),
            row=1,
            col=i,
        )
        fig.update_yaxes(title_text="亿元", rangemode="tozero", gridcolor="#e5e8eb", row=1, col=i)
    fig.update_layout(**_layout("民政事业费（中央＋省级）逐年分配", showlegend=False, height=440))
    fig.update_layout(margin={"t": 100})
    return fig


def incidence_figure(data: dict[str, Any]):
    """Each county's incidence in the latest year (and the first, for comparison) against the exit threshold."""
    import plotly.graph_objects as go

    years = sorted({r["year"] for r in data["incidence"]})
    fig = go.Figure()
    if not years:
        fig.update_layout(**_layout("贫困发生率：无数据"))
        return fig
    last = [r for r in data["incidence"] if r["year"] == years[-1]]
    order = [r["county_code"] for r in last]
    names = {r["county_code"]: r["county_name"] + ("★" if r["designated"] else "") for r in data["incidence"]}
    if len(years) > 1:
        first = {r["county_code"]: r for r in data["incidence"] if r["year"] == years[0]}
        fig.add_trace(
            go.Bar(
                x=[names[c] for c in order],
                y=[first[c]["incidence"] * 100 if c in first else None for c in order],
                name=f"{years[0]}年末",
                marker_color="#c9d1d9",
                hovertemplate="%{x}: %{y:.2f}%<extra>" + f"{years[0]}年末</extra>",
            )
        )
    fig.add_trace(
        go.Bar(
            x=[names[c] for c in order],
            y=[r["incidence"] * 100 for r in last],
            name=f"{years[-1]}年末",
            marker_color=["#2e8540" if r["below_exit_threshold"] else "#c8102e" for r in last],
            text=[f"{r['incidence'] * 100:.2f}" for r in last],
            textposition="outside",
            hovertemplate="%{x}: %{y:.2f}%<extra>" + f"{years[-1]}年末</extra>",
        )
    )
    thresholds = sorted({r["exit_threshold"] for r in last})
    for t in thresholds:
        fig.add_hline(
            y=t * 100,
            line_dash="dash",
            line_color="#333",
            annotation_text=f"退出标准 {t * 100:g}%",
            annotation_position="top left",
            annotation_bgcolor="rgba(255,255,255,0.85)",
        )
    fig.update_layout(
        **_layout(
            f"各县贫困发生率（{years[-1]}年末，红：未达退出标准，绿：低于退出标准；★ 民政部定点扶贫县）",
            barmode="group",
            height=480,
            yaxis={"title": {"text": "%"}, "rangemode": "tozero", "gridcolor": "#e5e8eb"},
            xaxis={"tickangle": -45},
        )
    )
    return fig


def social_figure(data: dict[str, Any]):
    """Social organisations' funds landed per county and year, 万元."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for year in sorted({r["year"] for r in data["social"]}):
        rows = [r for r in data["social"] if r["year"] == year]
        fig.add_trace(
            go.Bar(
                x=[r["county_name"] for r in rows],
                y=[float(r["amount_yuan"]) / 1e4 for r in rows],
                name=f"{year}年",
                text=[f"{float(r['amount_yuan']) / 1e4:,.1f}万元 · {r['organisations']}家组织" for r in rows],
                textposition="outside",
                marker_color="#1f5fa8",
                hovertemplate="%{x}: %{y:,.1f}万元<extra>" + f"{year}年</extra>",
            )
        )
    fig.update_layout(
        **_layout(
            "社会组织扶贫项目落地资金（按县）",
            height=380,
            yaxis={"title": {"text": "万元"}, "rangemode": "tozero", "gridcolor": "#e5e8eb"},
        )
    )
    return fig


_STYLE = (
    "body{font-family:"
    + FONT
    + ";"
    + """margin:1.5rem auto;max-width:76rem;padding:0 1rem;color:#1f2933;line-height:1.45}
h1{font-size:1.6rem;border-bottom:3px solid #c8102e;padding-bottom:.3rem}h2{margin-top:2rem;font-size:1.2rem}
table{border-collapse:collapse;width:100%;margin:.4rem 0 1rem;font-size:.92rem}
th,td{border:1px solid #d9dee3;padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#f1f4f7}
td.figure{text-align:right;font-variant-numeric:tabular-nums;font-weight:600}
.chart{margin:1rem 0;border:1px solid #e5e8eb}.note{color:#52606d;font-size:.9rem}
.status-rejected,.status-failed{color:#c8102e;font-weight:600}.status-partially_loaded{color:#b7791f}
.banner{border:2px solid #c8102e;background:#fff5f5;padding:.6rem 1rem;margin:1rem 0}.banner ul{margin:.3rem 0}
"""
)


def _banner(data: dict[str, Any]) -> list[str]:
    """What needs someone today, above everything else: failed provinces, held submissions, late provinces."""
    e = html.escape
    lines = [f"<li><b>失败</b> {e(name)}：{e(reason)}</li>" for name, reason in data["failures"]]
    lines += [f"<li><b>待确认</b> {e(h['file_name'])}（{e(h['submission_id'])}）</li>" for h in data["held"]]
    attention = [r for r in data["calendar"] if r["status"] in ATTENTION]
    if attention:
        lines.append(f"<li><b>迟报与未报</b> {len(attention)} 项，见下表</li>")
    if not lines:
        return []
    out = ['<div class="banner" id="banner"><b>今日需要处理</b><ul>', *lines, "</ul></div>"]
    if attention:
        out += [
            '<h2 id="late">迟报与未报 Late and missing submissions</h2>',
            _table(
                ["省份", "数据集", "期间", "截止日期", "状态", "逾期天数"],
                [
                    [
                        e(r["province_name"] or r["province_code"]),
                        e(r["dataset_name"]),
                        str(r["period"]),
                        str(r["due_date"]),
                        e(STATUS_LABELS[r["status"]]),
                        str(r["days_late"] or ""),
                    ]
                    for r in attention
                ],
            ),
        ]
    return out


def _table(headers: list[str], rows: list[list[str]], cell_class: dict[int, str] | None = None) -> str:
    e = html.escape
    out = ["<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in headers) + "</tr>"]
    for row in rows:
        cells = []
        for i, v in enumerate(row):
            cls = (cell_class or {}).get(i)
            cells.append(f'<td class="{cls}">{v}</td>' if cls else f"<td>{v}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def render_report(data: dict[str, Any], day: date, plotly_js: str) -> str:
    """The report page; ``plotly_js`` is the library's source, inlined once."""
    e = html.escape
    figures = [("chart-funds", funds_figure(data)), ("chart-incidence", incidence_figure(data))]
    if data["social"]:
        figures.append(("chart-social", social_figure(data)))
    charts = {
        div_id: fig.to_html(
            full_html=False, include_plotlyjs=False, div_id=div_id, config={"displaylogo": False, "responsive": True}
        )
        for div_id, fig in figures
    }
    names = indicator_names()
    headline = [
        [
            e(names.get(r["indicator"], r["indicator"])),
            e(r["scope_name"]),
            e(r["period"]),
            f'<span data-indicator="{e(r["indicator"])}" data-scope="{e(r["scope_code"])}" '
            f'data-period="{e(r["period"])}" data-value="{r["value"]!r}">'
            f"{e(figure_text(r['value'], r['unit']))}</span>",
        ]
        for r in data["headline"]
    ]
    submissions = [
        [
            e(s["province_code"]),
            e(s["file_name"]),
            e(s["dataset"] or ""),
            f'<span class="status-{e(s["status"])}">{e(s["status"])}</span>',
            str(s["rows_loaded"]),
            str(s["rows_rejected"]),
            e((s["message"] or "")[:200]),
        ]
        for s in data["submissions"]
    ]
    rejections = [
        [
            e(r["file_name"]),
            "" if r["row_number"] is None else str(r["row_number"]),
            e(r["field"] or ""),
            e(r["value"] or ""),
            e(r["reason"]),
        ]
        for r in data["rejections"][:MAX_REJECTIONS_SHOWN]
    ]
    ledger = "，".join(f"{e(r['status'])} {r['n']}" for r in data["ledger"]) or "无"
    loaded = sum(s["rows_loaded"] for s in data["submissions"])
    rejected = sum(s["rows_rejected"] for s in data["submissions"])
    parts = [
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>扶贫监测日报 {day.isoformat()}</title>",
        f"<style>{_STYLE}</style>",
        f'<script type="text/javascript">{plotly_js}</script>',
        "</head><body>",
        f"<h1>民政部扶贫监测日报 · fupin nightly report · {day.isoformat()}</h1>",
        f'<p class="note">生成时间 {datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M")}（北京时间）。'
        "金额按部里口径以亿元、万元列示；贫困发生率 = 未脱贫人口 / 农业户籍人口。</p>",
    ]
    parts += _banner(data)
    if data["held"]:
        parts += [
            '<h2 id="held">待确认的报送 Held submissions</h2>',
            '<p class="note">这些报送会使已发布的合计明显下降，未入库，待人工确认：'
            "<code>fupin approve ID</code> 入库，或 <code>fupin discard ID --reason 原因</code> 放弃。</p>",
            _table(
                ["编号", "省份", "文件", "原因"],
                [
                    [e(h["submission_id"]), e(h["province_code"]), e(h["file_name"]), e(h["message"] or "")]
                    for h in data["held"]
                ],
            ),
        ]
    parts += [
        '<h2 id="headline">主要指标 Headline indicators</h2>',
        _table(["指标", "范围", "期间", "数值"], headline, {3: "figure"}),
        '<h2 id="funds">民政事业费 Civil-affairs funds</h2>',
        f'<div class="chart">{charts["chart-funds"]}</div>',
        '<h2 id="incidence">贫困发生率与退出标准 Incidence against the exit threshold</h2>',
        f'<div class="chart">{charts["chart-incidence"]}</div>',
    ]
    if "chart-social" in charts:
        parts += [
            '<h2 id="social">社会组织落地资金 Social-organisation funds landed</h2>',
            f'<div class="chart">{charts["chart-social"]}</div>',
        ]
    parts += [
        '<h2 id="submissions">今日接收的报送 Submissions received today</h2>',
        f'<p class="note">{len(data["submissions"])} 个文件，入库 {loaded} 行，退回 {rejected} 行。'
        f"报送台账合计：{ledger}。</p>",
        _table(
            header_row(["province_code", "file_name", "dataset", "status", "rows_loaded", "rows_rejected", "message"]),
            submissions,
        )
        if submissions
        else "<p>今日没有接收新文件。 Nothing new was received today.</p>",
        f'<h2 id="rejections">退回明细 Rejections ({len(data["rejections"])})</h2>',
    ]
    if rejections:
        parts.append(_table(header_row(["file_name", "row_number", "field", "value", "reason"]), rejections))
        if len(data["rejections"]) > MAX_REJECTIONS_SHOWN:
            parts.append(
                f'<p class="note">仅列出前 {MAX_REJECTIONS_SHOWN} 条，共 {len(data["rejections"])} 条；'
                "完整清单见各省回执（receipts）或 <code>fupin submissions --id</code>。</p>"
            )
    else:
        parts.append("<p>今日没有退回的行。 No rows were rejected today.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def todays_failures(paths: Paths, day: date) -> list[tuple[str, str]]:
    """(province name, file and reason) of every failure recorded by the day's runs (<home>/runs/*.json)."""
    failures: dict[str, str] = {}
    for _, r in run_records(paths):
        if datetime.fromisoformat(r["started_at"]).astimezone(SHANGHAI).date() == day:
            failures.update(r.get("failures") or {})
    names = provinces()
    return [(names.get(code, code), reason.splitlines()[0][:300]) for code, reason in sorted(failures.items())]


def _failed_run_times(paths: Paths) -> list[float]:
    """When the run records that name failures were written."""
    return [file.stat().st_mtime for file, r in run_records(paths) if r.get("failures")]


def write_report(paths: Paths, day: date | None = None) -> Path:
    """Read the warehouse and the day's run records and write <home>/reports/<date>.html atomically."""
    from plotly.offline import get_plotlyjs

    day = day or run_date()
    since = datetime.combine(day, time(0), tzinfo=SHANGHAI)  # everything received that day, by every run
    with connect_readonly(paths.warehouse) as con:
        data = read_report_data(con, since)
        data["calendar"] = [
            {**r, "dataset_name": contracts()[r["dataset"]].zh if r["dataset"] in contracts() else r["dataset"]}
            for r in submission_status(con, paths)
        ]
    data["failures"] = todays_failures(paths, day)
    page = render_report(data, day, get_plotlyjs())
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
