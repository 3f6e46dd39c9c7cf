"""The nightly report: written by each run, self-contained, and checked in a real (headless) Chromium."""

from __future__ import annotations

import os
import re
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from fupin.cli import app
from fupin.core.config import Paths
from fupin.export import figure_text
from fupin.tasks.report import SHANGHAI, echarts_js, report_path, run_date, write_report
from tests.helpers import CHROMIUM, launch_chromium


@pytest.fixture(scope="module")
def report(demo_run) -> Path:
    path = report_path(Paths.from_home(demo_run["home"]), run_date())
    assert path.exists(), "the nightly run wrote no report"
    return path


def test_run_date_is_shanghai_date():
    # 23:30 UTC on 1 March is already 2 March in Beijing
    assert run_date(datetime(2018, 3, 1, 23, 30, tzinfo=SHANGHAI).astimezone(SHANGHAI)).isoformat() == "2018-03-01"
    from datetime import UTC

    assert run_date(datetime(2018, 3, 1, 23, 30, tzinfo=UTC)).isoformat() == "2018-03-02"


def test_nightly_run_writes_one_self_contained_report(report):
    page = report.read_text(encoding="utf-8")
    assert report.name == f"{run_date().isoformat()}.html"
    assert "罗霄山片区" in page and "民政部定点扶贫县" in page and "退出标准 2%" in page
    # ECharts inline (the vendored build, licence header and all), nothing fetched: no external script,
    # stylesheet or font; a fifth of the 4.85 MB the page weighed with plotly.js
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']?(https?:)?//", page)
    assert echarts_js() in page and "echarts.init(" in page and "Licensed to the Apache Software Foundation" in page
    # the explanation panels (the rows behind each of the 90 headline figures, at most 100 a panel) add ~0.4 MB
    assert len(page.encode("utf-8")) < 1_300_000
    assert "今日接收的报送" in page and "2015年罗霄山片区县民政资金下达情况表.xlsx" in page


def test_fupin_report_rebuilds_on_demand(demo_run, report):
    before = report.stat().st_mtime_ns
    result = CliRunner().invoke(app, ["report", "--home", str(demo_run["home"])])
    assert result.exit_code == 0, result.output
    assert str(report) in result.output and "MB" in result.output
    assert report.stat().st_mtime_ns >= before


def test_report_lists_a_runs_rejections(demo_home_copy):
    home = demo_home_copy
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute(
            "insert into meta.submissions (submission_id, province_code, dataset, file_name, source_path, sha256, "
            "received_at, status, years, rows_total, rows_loaded, rows_rejected, message, raw_path) "
            "values ('43-bad', '43', 'poverty_status', '贫困人口2017.csv', "
            "'贫困人口2017.csv', 'abc', now(), 'partially_loaded', '2017', 3, 2, 1, '1 row rejected', null)"
        )
        con.execute(
            "insert into meta.rejections (submission_id, row_number, field, value, reason) "
            "values ('43-bad', 14, 'poor_population', '-5', '贫困人口不能为负数')"
        )
    page = write_report(Paths.from_home(home)).read_text(encoding="utf-8")
    assert "贫困人口2017.csv" in page and "贫困人口不能为负数" in page and "退回明细 Rejections (1)" in page
    # what a reader sees says the status, dataset and column in Chinese, never the machine codes
    text = _visible_text(page)
    assert "部分入库" in text and "贫困人口" in text and "已入库" in text
    for code in (
        "partially_loaded",
        "loaded",
        "poverty_status",
        "fund_allocation",
        "poor_population",
        "household_registry",
    ):
        assert not re.search(rf"\b{code}\b", text), code


class _Text(HTMLParser):
    """The text a reader sees: no markup, attributes, scripts or styles, nor the machine codes set apart in <code>
    beside their Chinese names (the indicators' ids in the definitions, for analysts writing SQL)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        self.skip += tag in ("script", "style", "code")

    def handle_endtag(self, tag):
        self.skip -= tag in ("script", "style", "code")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def _visible_text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return " ".join(parser.parts)


@pytest.mark.browser
@pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason="needs Debian's chromium (apt-get install chromium fonts-noto-cjk); .ci/run installs it",
)
def test_report_renders_in_chromium(report, warehouse, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    errors: list[str] = []
    fetched: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: fetched.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
            page.goto(report.as_uri())
            page.wait_for_selector("html[data-charts-ready]")
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
            # bars drawn per chart: ECharts' own count of each series' points, and the SVG shapes it drew
            bars = page.evaluate(
                """() => Object.fromEntries(Array.from(document.querySelectorAll('.plot')).map(d => [
                    d.id,
                    echarts.getInstanceByDom(d).getOption().series
                        .reduce((n, s) => n + s.data.filter(v => v !== null && v !== undefined).length, 0)]))"""
            )
            shapes = page.evaluate("() => document.querySelectorAll('.plot svg path').length")
            headline = page.evaluate(
                """() => Array.from(document.querySelectorAll('#headline-table [data-indicator]')).map(s => [
                    s.dataset.indicator, s.dataset.scope, s.dataset.period, s.textContent])"""
            )
            cjk_font = page.evaluate("() => document.fonts.check('16px \"Noto Sans CJK SC\"', '罗霄山')")
            text = page.inner_text("body")
        finally:
            browser.close()
    assert errors == [] and fetched == []
    assert shot.stat().st_size > 100_000
    # 3 + 3 yearly bars of funds; 23 counties in 2015 and in 2017; the two designated counties' social funds
    assert bars == {"chart-funds-luoxiao": 3, "chart-funds-designated_mca": 3, "chart-incidence": 46, "chart-social": 2}
    assert shapes >= sum(bars.values())
    assert cjk_font
    shown = {(i, s, p): t for i, s, p, t in headline}
    assert len(shown) >= 20
    for (indicator, scope, period), printed in shown.items():
        value, unit = warehouse.execute(
            "select value, unit from marts.indicators where indicator = ? and scope_code = ? and period = ?",
            [indicator, scope, period],
        ).fetchone()
        assert printed == figure_text(float(value), unit), (indicator, scope, period)  # the page says 是/否
    assert shown[("civil_affairs_funds", "luoxiao", "2015-2017")] == "84.00亿元"
    assert shown[("civil_affairs_funds_growth", "luoxiao", "2015-2017")] == "24.00%"
    assert shown[("civil_affairs_funds", "designated_mca", "2015-2017")] == "7.06亿元"
    assert shown[("social_org_funds_landed", "designated_mca", "2018")] == "5,430.9万元"
    assert "罗霄山片区（2015-2017 年均增长 24.0%）" in text
