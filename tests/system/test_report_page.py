"""The report as its readers meet it, in a real (headless) Chromium at a phone's width and a desk's: nothing cut,
overlapping or scrolled sideways, every county named, the figures those of the marts, each chart's CSV the mart's
rows, tables that sort."""

from __future__ import annotations

import csv
import io
import os
from decimal import Decimal
from pathlib import Path

import pytest

from fupin.core.config import Paths
from fupin.export import figure_text
from fupin.tasks.report import report_path, run_date
from tests.helpers import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="needs Debian's chromium (apt-get install chromium fonts-noto-cjk); .ci/run installs it",
    ),
]
WIDTHS = [390, 1400]


@pytest.fixture(scope="module")
def report(demo_run) -> Path:
    path = report_path(Paths.from_home(demo_run["home"]), run_date())
    assert path.exists(), "the nightly run wrote no report"
    return path


def _open(browser, report: Path, width: int):
    """A page at ``width`` px with the report drawn; the console's errors and any request off the file collected."""
    context = browser.new_context(viewport={"width": width, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.errors, page.fetched = [], []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on(
        "request", lambda r: page.fetched.append(r.url) if not r.url.startswith(("file:", "data:", "blob:")) else None
    )
    page.goto(report.as_uri())
    page.wait_for_selector("html[data-charts-ready]")
    return context, page


# every title's box, whether its text fits it, and the chart text of the per-county charts
LAYOUT_JS = """() => {
  const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const titles = Array.from(document.querySelectorAll('h1, h2, h3')).map(e => ({
    text: e.textContent.trim(), box: box(e), fits: e.scrollWidth <= e.clientWidth + 1}));
  const charts = {};
  document.querySelectorAll('.plot').forEach(d => {
    const option = echarts.getInstanceByDom(d).getOption();
    charts[d.id] = {
      box: box(d),
      yAxis: option.yAxis.map(a => ({data: a.data, interval: a.axisLabel.interval})),
      xAxis: option.xAxis.map(a => ({data: a.data || null})),
      series: option.series.map(s => ({name: s.name,
        data: s.data.map(v => v === null || v === undefined ? null : (typeof v === 'object' ? v.value : v))})),
      texts: Array.from(d.querySelectorAll('svg text')).filter(t => t.textContent.trim())
        .map(t => ({text: t.textContent.trim(), box: box(t)})),
    };
  });
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, titles, charts};
}"""


def _overlap(a, b) -> bool:
    return a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5


def _inside(inner, outer) -> bool:
    return (
        inner[0] >= outer[0] - 0.5
        and inner[2] <= outer[2] + 0.5
        and inner[1] >= outer[1] - 0.5
        and (inner[3] <= outer[3] + 0.5)
    )


@pytest.mark.parametrize("width", WIDTHS, ids=lambda w: f"{w}px")
def test_report_fits_the_screen_and_names_every_county(browser, report, warehouse, width):
    context, page = _open(browser, report, width)
    try:
        layout = page.evaluate(LAYOUT_JS)
    finally:
        context.close()
    assert page.errors == [] and page.fetched == []
    assert layout["scrollWidth"] <= layout["innerWidth"], "the page scrolls sideways"

    titles = layout["titles"]
    assert len(titles) >= 10
    for t in titles:
        assert t["fits"] and 0 <= t["box"][0] and t["box"][2] <= width, f"title cut: {t}"
    for i, a in enumerate(titles):
        for b in titles[i + 1 :]:
            assert not _overlap(a["box"], b["box"]), f"titles overlap: {a['text']} / {b['text']}"

    charts = layout["charts"]
    for chart_id, chart in charts.items():
        assert 0 <= chart["box"][0] and chart["box"][2] <= width, chart_id
        for t in chart["texts"]:  # no label, value or axis name cut at the chart's edge
            assert _inside(t["box"], chart["box"]), (chart_id, t)

    # the per-county charts: every county of the mart on the axis, shown (interval 0), none over another
    incidence = warehouse.execute(
        "select p.county_name || case when d.county_code is null then '' else '★' end from marts.poverty_by_county p "
        "left join (select distinct county_code from core.area_county where area_code in "
        "(select area_code from core.area where show_counties)) d using (county_code) "
        "where p.year = (select max(year) from marts.poverty_by_county)"
    ).fetchall()
    social = warehouse.execute("select distinct county_name from marts.social_org_by_county").fetchall()
    for chart_id, expected in (("chart-incidence", incidence), ("chart-social", social)):
        chart = charts[chart_id]
        names = {n for (n,) in expected}
        assert len(names) == len(expected) and names
        assert set(chart["yAxis"][0]["data"]) == names and chart["yAxis"][0]["interval"] == 0
        labels = [t for t in chart["texts"] if t["text"] in names]
        assert {t["text"] for t in labels} == names, f"{chart_id}: county labels missing from the drawing"
        for i, a in enumerate(labels):
            for b in labels[i + 1 :]:
                assert not _overlap(a["box"], b["box"]), (chart_id, a["text"], b["text"])
    assert len(incidence) == 23


def test_on_page_figures_are_the_marts(browser, report, warehouse):
    context, page = _open(browser, report, 1400)
    try:
        layout = page.evaluate(LAYOUT_JS)
        headline = page.evaluate(
            """() => Array.from(document.querySelectorAll('#headline-table [data-indicator]')).map(s => [
                s.dataset.indicator, s.dataset.scope, s.dataset.period, s.textContent])"""
        )
        cells = page.evaluate(
            """() => Array.from(document.querySelectorAll('table.sortable')).flatMap(t => {
                const heads = Array.from(t.tHead.rows[0].cells);
                return Array.from(t.tBodies[0].rows).flatMap(r => Array.from(r.cells).map((c, i) => [
                    t.id, r.dataset.county, heads[i].dataset.indicator || null, heads[i].dataset.period || null,
                    c.dataset.value === undefined ? null : c.dataset.value, c.textContent]))
                    .filter(x => x[2] !== null); })"""
        )
        text = page.inner_text("body")
    finally:
        context.close()
    assert page.errors == []

    shown = {(i, s, p): t for i, s, p, t in headline}
    assert len(shown) >= 20
    for (indicator, scope, period), printed in shown.items():
        value, unit = warehouse.execute(
            "select value, unit from marts.indicators where indicator = ? and scope_code = ? and period = ?",
            [indicator, scope, period],
        ).fetchone()
        assert printed == figure_text(float(value), unit), (indicator, scope, period)
    assert shown[("civil_affairs_funds", "luoxiao", "2015-2017")] == "84.00亿元"
    assert shown[("civil_affairs_funds_growth", "luoxiao", "2015-2017")] == "24.00%"
    assert shown[("social_org_funds_landed", "designated_mca", "2018")] == "5,430.9万元"
    assert "罗霄山片区（2015-2017 年均增长 24.0%）" in text

    # the funds charts: each area's yearly civil-affairs funds, in 亿元 to the cent of a 亿
    funds = warehouse.execute(
        "select scope_code, period, value from marts.indicators where indicator = 'civil_affairs_funds' "
        "and scope_code in (select area_code from core.area) and period not like '%-%' order by scope_code, period"
    ).fetchall()
    drawn = {
        (chart_id.removeprefix("chart-funds-"), x.removesuffix("年")): y
        for chart_id, chart in layout["charts"].items()
        if chart_id.startswith("chart-funds-")
        for x, y in zip(chart["xAxis"][0]["data"], chart["series"][0]["data"], strict=True)
    }
    assert drawn == {(s, p): round(float(v) / 1e8, 2) for s, p, v in funds}
    assert len(drawn) == 6

    # the per-county tables: every county figure of marts.indicators under each area, printed as the CLI does
    expected = warehouse.execute(
        "select 'table-' || ac.area_code, i.scope_code, i.indicator, i.period, i.value, i.unit "
        "from marts.indicators i join (select distinct area_code, county_code from core.area_county) ac "
        "on ac.county_code = i.scope_code"
    ).fetchall()
    on_page = {(t, c, i, p): (v, txt) for t, c, i, p, v, txt in cells if v != ""}
    assert set(on_page) == {(t, c, i, p) for t, c, i, p, _, _ in expected}
    for t, c, i, p, value, unit in expected:
        raw, printed = on_page[(t, c, i, p)]
        assert _same(raw, value) and printed == figure_text(float(value), unit), (t, c, i, p)
    assert {t for t, *_ in expected} == {"table-luoxiao", "table-designated_mca"}


def _same(cell: str, value) -> bool:
    """A CSV or data-value cell holds exactly the mart's value."""
    if value is None:
        return cell == ""
    if isinstance(value, bool):
        return cell == ("是" if value else "否")
    if isinstance(value, float):
        return float(cell) == value
    if isinstance(value, int | Decimal):
        return Decimal(cell) == value
    return cell == str(value)


CHART_MARTS = {
    "chart-funds-luoxiao": (
        "select indicator, scope_code, scope_name, period, value, unit_name from marts.indicators "
        "where indicator = 'civil_affairs_funds' and scope_code = 'luoxiao' and period not like '%-%'"
    ),
    "chart-funds-designated_mca": (
        "select indicator, scope_code, scope_name, period, value, unit_name from marts.indicators "
        "where indicator = 'civil_affairs_funds' and scope_code = 'designated_mca' and period not like '%-%'"
    ),
    "chart-incidence": (
        "select county_code, county_name, year, incidence, exit_threshold, below_exit_threshold "
        "from marts.poverty_by_county where year in ((select min(year) from marts.poverty_by_county), "
        "(select max(year) from marts.poverty_by_county))"
    ),
    "chart-social": (
        "select county_code, county_name, year, amount_yuan, organisations, projects from marts.social_org_by_county"
    ),
    "table-luoxiao": (
        "select i.indicator, d.name, i.scope_code, i.scope_name, i.period, i.value, i.unit_name "
        "from marts.indicators i join core.indicator_definition d using (indicator) "
        "where i.scope_code in (select county_code from core.area_county where area_code = 'luoxiao')"
    ),
}


def test_each_charts_csv_download_is_the_marts_rows(browser, report, warehouse):
    context, page = _open(browser, report, 390)
    files = {}
    try:
        buttons = page.eval_on_selector_all("button[data-download]", "bs => bs.map(b => b.dataset.download)")
        assert set(CHART_MARTS) <= set(buttons)
        for target in CHART_MARTS:
            with page.expect_download() as info:
                page.click(f"button[data-download='{target}']")
            download = info.value
            files[target] = (download.suggested_filename, Path(download.path()).read_bytes())
    finally:
        context.close()
    assert page.errors == [] and page.fetched == []
    for target, sql in CHART_MARTS.items():
        name, data = files[target]
        assert name.endswith(".csv") and any("\u4e00" <= ch <= "\u9fff" for ch in name), name
        assert data.startswith(b"\xef\xbb\xbf"), f"{target}: no BOM, Excel would misread the Chinese"
        header, *rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in h) for h in header), header  # Chinese headers
        mart = warehouse.execute(sql).fetchall()
        assert len(rows) == len(mart) > 0, target
        assert all(len(r) == len(header) for r in rows)
        # the same rows, whatever the order: each mart row matched by one CSV row, cell for cell
        unmatched = list(rows)
        for m in mart:
            hit = next((r for r in unmatched if all(_same(c, v) for c, v in zip(r, m, strict=True))), None)
            assert hit is not None, f"{target}: no CSV row for the mart's {m}"
            unmatched.remove(hit)
    incidence_name = files["chart-incidence"][0]
    assert incidence_name == "各县贫困发生率.csv"


def test_a_county_table_sorts_by_the_clicked_column(browser, report, warehouse):
    context, page = _open(browser, report, 390)
    table = "#table-luoxiao"
    order = f"() => Array.from(document.querySelectorAll('{table} tbody tr')).map(r => r.dataset.county)"
    try:
        headers = page.locator(f"{table} thead th")
        column = page.eval_on_selector_all(
            f"{table} thead th",
            "hs => hs.findIndex(h => h.dataset.indicator === 'poverty_incidence' && h.dataset.period === '2017')",
        )
        assert column > 1
        headers.nth(column).click()
        ascending, first_state = page.evaluate(order), headers.nth(column).get_attribute("aria-sort")
        headers.nth(column).click()
        descending, second_state = page.evaluate(order), headers.nth(column).get_attribute("aria-sort")
        headers.nth(1).click()  # 县代码
        by_code = page.evaluate(order)
    finally:
        context.close()
    assert page.errors == []
    values = dict(
        warehouse.execute(
            "select scope_code, value from marts.indicators where indicator = 'poverty_incidence' and period = '2017' "
            "and scope_code in (select county_code from core.area_county where area_code = 'luoxiao')"
        ).fetchall()
    )
    assert (first_state, second_state) == ("ascending", "descending")
    assert sorted(ascending) == sorted(values) and len(values) == 23
    assert [values[c] for c in ascending] == sorted(values.values())
    assert [values[c] for c in descending] == sorted(values.values(), reverse=True)
    assert by_code == sorted(values)
