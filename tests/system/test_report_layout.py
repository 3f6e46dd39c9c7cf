"""The report's layout as an official meets it in a real (headless) Chromium, at a phone's 390 px and a desk's
1400 px: each area's key figures on the first phone screen, every headline figure opening its explanation, the
funds-per-county table sorting on a click, CSVs with Chinese headers and exact numbers, province names on one line
and never as codes, definitions in Chinese."""

from __future__ import annotations

import csv
import io
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest

from fupin.core.config import Paths
from fupin.core.formatting import figure_text
from fupin.core.reference import submitters
from fupin.tasks.report import report_path, run_date
from tests.helpers import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="needs Debian's chromium (apt-get install chromium fonts-noto-cjk); .ci/run installs it",
    ),
]
PHONE = {"width": 390, "height": 844}  # a phone's screen, CSS px
DESK = {"width": 1400, "height": 900}
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def report(demo_run) -> Path:
    path = report_path(Paths.from_home(demo_run["home"]), run_date())
    assert path.exists(), "the nightly run wrote no report"
    return path


def _open(browser, report: Path, viewport: dict):
    context = browser.new_context(viewport=viewport, accept_downloads=True)
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(report.as_uri())
    page.wait_for_selector("html[data-charts-ready]")
    return context, page


def _download(page, target: str) -> tuple[str, bytes]:
    with page.expect_download() as info:
        page.click(f"button[data-download='{target}'] >> nth=0")
    return info.value.suggested_filename, Path(info.value.path()).read_bytes()


def _csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "no BOM: Excel would misread the Chinese"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_each_areas_key_figures_fill_the_first_phone_screen(browser, report, warehouse):
    context, page = _open(browser, report, PHONE)
    try:
        block = page.evaluate(
            """() => { const r = document.getElementById('headline').getBoundingClientRect();
                return {top: r.top, bottom: r.bottom, right: r.right, scrollWidth: document.documentElement.scrollWidth,
                  first: document.querySelector('h2, .chart, table').closest('#headline') !== null}; }"""
        )
        shown = page.evaluate(
            """() => Array.from(document.querySelectorAll('#headline ul.figures a')).map(a => [
                a.closest('ul').previousElementSibling.textContent.trim(), a.dataset.indicator, a.dataset.scope,
                a.dataset.period, a.querySelector('.value').firstChild.textContent.trim()])"""
        )
    finally:
        context.close()
    assert page.errors == []
    assert block["first"] and block["top"] < 120, "the page does not open with the headline block"
    assert block["bottom"] <= PHONE["height"], f"the headline block runs past the first phone screen: {block}"
    assert block["scrollWidth"] <= PHONE["width"]
    areas = {name for name, *_ in shown}
    assert areas == {"罗霄山片区", "民政部定点扶贫县", "三区三州"}
    for _, indicator, scope, period, text in shown:
        value, unit, unit_name = warehouse.execute(
            "select value, unit, unit_name from marts.indicators where indicator = ? and scope_code = ? and period = ?",
            [indicator, scope, period],
        ).fetchone()
        assert text == figure_text(value, unit, unit_name), (indicator, scope, period)
    brief = {(i, s, p): t for _, i, s, p, t in shown}
    assert brief[("civil_affairs_funds", "luoxiao", "2015-2017")] == "84.00亿元"
    assert brief[("civil_affairs_funds_growth", "luoxiao", "2015-2017")] == "24.00%"
    assert brief[("civil_affairs_funds", "designated_mca", "2015-2017")] == "7.06亿元"
    assert brief[("civil_affairs_funds_growth", "designated_mca", "2015-2017")] == "25.70%"
    assert brief[("social_service_projects", "sanqu_sanzhou", "2017-2018")] == "298个"
    assert brief[("social_service_funds", "sanqu_sanzhou", "2017-2018")] == "1.04亿元"
    assert len(shown) == 20  # 8 + 8 + 4: the figures `fupin run` ends with, not the 90 headline rows


@pytest.mark.parametrize("viewport", [PHONE, DESK], ids=lambda v: f"{v['width']}px")
def test_every_headline_figure_opens_its_explanation(browser, report, warehouse, viewport):
    context, page = _open(browser, report, viewport)
    try:
        links = page.eval_on_selector_all(
            "#headline-table a[href^='#explain-']",
            "as => as.map(a => [a.getAttribute('href'), a.querySelector('[data-indicator]').dataset.indicator, "
            "a.querySelector('[data-indicator]').dataset.scope, a.querySelector('[data-indicator]').dataset.period])",
        )
        assert page.evaluate("() => document.querySelectorAll('details.explain[open]').length") == 0
        opened = []
        for href, *_ in links:
            page.click(f"#headline-table a[href='{href}']")
            opened.append(
                page.evaluate(
                    """id => { const d = document.getElementById(id); const r = d.getBoundingClientRect();
                        return [d.tagName, d.open, r.top >= -1 && r.top < innerHeight, d.innerText]; }""",
                    href[1:],
                )
            )
        # the key figures' links lead to the same panels
        page.click("#headline ul.figures a[data-indicator='civil_affairs_funds'][data-scope='luoxiao']")
        funds = page.evaluate(
            """() => { const d = document.querySelector(location.hash);
                return [d.open, Array.from(d.querySelectorAll('tbody td[data-value]')).map(c => c.dataset.value),
                        d.querySelector('tfoot') ? d.querySelector('tfoot').innerText : '']; }"""
        )
    finally:
        context.close()
    assert page.errors == []
    headline = warehouse.execute("select indicator, scope_code, period from marts.headline").fetchall()
    assert sorted((i, s, p) for _, i, s, p in links) == sorted(headline) and len(headline) == 90
    for (href, *_), (tag, is_open, visible, text) in zip(links, opened, strict=True):
        assert (tag, is_open, visible) == ("DETAILS", True, True), href
        assert "定义" in text and "数值" in text and "覆盖" in text, href
    is_open, values, total = funds
    assert is_open
    # the panel's rows: each Luoxiao county's funds per year, adding up to the figure to the fen
    assert len(values) == 69 and sum(Decimal(v) for v in values) == Decimal("8400000000")
    assert "84.00亿元" in total


def test_the_funds_per_county_table_sorts_on_click(browser, report, warehouse):
    context, page = _open(browser, report, PHONE)
    order = "() => Array.from(document.querySelectorAll('#fund-table tbody tr'))" + (
        ".map(r => [r.dataset.county, +r.dataset.year])"
    )
    try:
        headers = page.locator("#fund-table thead th")
        names = [headers.nth(i).inner_text() for i in range(headers.count())]
        column = next(i for i, n in enumerate(names) if n.startswith("民政事业费"))
        headers.nth(column).click()
        ascending = page.evaluate(order)
        headers.nth(column).click()
        descending = page.evaluate(order)
        headers.nth(names.index("年度")).click()
        by_year = [y for _, y in page.evaluate(order)]
    finally:
        context.close()
    assert page.errors == []
    funds = {
        (c, y): v
        for c, y, v in warehouse.execute(
            "select county_code, year, sum(amount_yuan) from marts.fund_by_county "
            "where fund_type = 'civil_affairs' and fund_level in ('central', 'provincial') group by all"
        ).fetchall()
    }
    assert len(ascending) == len(funds) == 69
    assert [funds[tuple(k)] for k in ascending] == sorted(funds.values())
    assert [funds[tuple(k)] for k in descending] == sorted(funds.values(), reverse=True)
    assert by_year == sorted(by_year) and by_year[0] < by_year[-1]
    assert "民政事业费（中央＋省级，万元）" in names and "省份" in names


def test_the_tables_csvs_have_chinese_headers_units_and_exact_numbers(browser, report, warehouse):
    context, page = _open(browser, report, PHONE)
    try:
        funds_name, funds = _download(page, "fund-table")
        headline_name, headline = _download(page, "headline")
    finally:
        context.close()
    assert page.errors == []
    assert funds_name == "分县资金.csv" and headline_name == "主要指标.csv"

    header, *rows = _csv(funds)
    assert all(CJK.search(h) for h in header), header
    assert header[:5] == ["省份", "地市", "县（市、区）", "县代码", "年度"]
    assert "民政事业费（中央＋省级，元）" in header and "全部资金（含市级、县级，元）" in header
    mart = {
        (c, y): (p, v, total)
        for c, y, p, v, total in warehouse.execute(
            "select county_code, year, any_value(province_name), "
            "sum(amount_yuan) filter (where fund_type = 'civil_affairs' and fund_level in ('central', 'provincial')), "
            "sum(amount_yuan) from marts.fund_by_county group by county_code, year"
        ).fetchall()
    }
    assert len(rows) == len(mart) == 69
    funds_column, total_column = (
        header.index("民政事业费（中央＋省级，元）"),
        header.index("全部资金（含市级、县级，元）"),
    )
    for r in rows:
        province, value, total = mart[(r[3], int(r[4]))]
        assert r[0] == province and Decimal(r[funds_column]) == value and Decimal(r[total_column]) == total
    assert sum(Decimal(r[funds_column]) for r in rows if "罗霄山片区" in r[-1]) == Decimal("8400000000")

    header, *rows = _csv(headline)
    assert all(CJK.search(h) for h in header), header
    assert header[:6] == ["指标", "指标代码", "范围", "期间", "数值", "单位"]
    assert len(rows) == 90
    units = {r[5] for r in rows}
    assert units <= {"元", "比例", "人", "个", "期", "是/否", "户", "元/户"} and {"元", "比例"} <= units
    by_key = {(r[1], r[2], r[3]): r for r in rows}
    assert Decimal(by_key[("civil_affairs_funds", "罗霄山片区", "2015-2017")][4]) == Decimal("8400000000")
    assert Decimal(by_key[("civil_affairs_funds_growth", "罗霄山片区", "2015-2017")][4]) == Decimal("0.24")
    assert by_key[("civil_affairs_funds", "罗霄山片区", "2015-2017")][0] == "民政事业费"
    for indicator, scope, period, value in warehouse.execute(
        "select indicator, scope_name, period, value from marts.headline"
    ).fetchall():
        assert Decimal(by_key[(indicator, scope, period)][4]) == value


# each table's cells under a 省份 header: text, number of line boxes, whether the cell is drawn
PROVINCE_CELLS = """() => Array.from(document.querySelectorAll('table')).flatMap(t => {
  if (!t.tHead) return [];
  const i = Array.from(t.tHead.rows[0].cells).findIndex(h => h.textContent.trim() === '省份');
  if (i < 0) return [];
  return Array.from(t.tBodies[0].rows).map(r => {
    const cell = r.cells[i], range = document.createRange();
    range.selectNodeContents(cell);
    const lines = new Set(Array.from(range.getClientRects()).map(b => Math.round(b.top)));
    return [t.id || t.className, cell.textContent.trim(), lines.size, cell.getClientRects().length > 0];
  });
})"""


@pytest.mark.parametrize("viewport", [PHONE, DESK], ids=lambda v: f"{v['width']}px")
def test_province_cells_are_names_on_one_line(browser, report, warehouse, viewport):
    context, page = _open(browser, report, viewport)
    try:
        page.evaluate("() => document.querySelectorAll('details.explain').forEach(d => { d.open = true; })")
        cells = page.evaluate(PROVINCE_CELLS)
    finally:
        context.close()
    assert page.errors == []
    names = set(submitters().values())  # the provinces and the Ministry's own departments (民政部, 00)
    assert {"江西省", "湖南省", "民政部"} <= names
    drawn = [c for c in cells if c[3]]
    tables = {t for t, *_ in drawn}
    assert {"fund-table", "submissions-table", "contrib"} <= tables, tables
    for table, text, lines, _ in drawn:
        assert not re.search(r"\d", text), (table, text)  # a name, never a code such as 36
        assert text in names, (table, text)
        if viewport is DESK:
            assert lines == 1, f"{table}: {text} wraps over {lines} lines at 1400 px"


def test_definitions_are_in_chinese(browser, report, warehouse):
    context, page = _open(browser, report, DESK)
    try:
        shown = page.evaluate(
            """() => Array.from(document.querySelectorAll('dl.definitions dt')).map(dt => [
                dt.id.replace('def-', ''), dt.nextElementSibling.innerText.trim()])"""
        )
        panel = page.evaluate(
            """() => { const d = document.getElementById('explain-poverty_incidence-luoxiao-2017'); d.open = true;
                return d.innerText; }"""
        )
    finally:
        context.close()
    assert page.errors == []
    expected = dict(warehouse.execute("select indicator, definition_zh from core.indicator_definition").fetchall())
    assert dict(shown) == expected and len(expected) == 22
    for indicator, text in shown:
        assert len(CJK.findall(text)) > len(re.findall(r"[A-Za-z]", text)), (indicator, text)
    assert expected["poverty_incidence"] in panel and "23/23 县" in panel
