"""What the report says beside its figures: an incomplete figure marked where it is shown (with the coverage
marts.indicators keeps, or counted from the counties' rows until it does), each figure's explanation adding up,
the headline CSV, and every failure, hold and reason in Chinese with its code — never an exception's text nor a
province's code."""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal
from html import unescape

import duckdb
import pytest
from typer.testing import CliRunner

from fupin.cli import app
from fupin.core.config import Paths
from fupin.tasks.report import SHANGHAI, read_report_data, write_report
from fupin.warehouse import read

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _visible(page: str) -> str:
    """The page's text without markup, scripts, styles or the codes set apart in <code>."""
    text = re.sub(r"<script.*?</script>|<style.*?</style>|<code.*?</code>|<[^>]+>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", unescape(text))


def _key_figure(page: str, indicator: str, scope: str) -> str:
    """The <li> of one key figure in the headline block."""
    block = page[page.index('id="headline"') : page.index("</section>")]
    at = block.index(f'data-indicator="{indicator}" data-scope="{scope}"')
    return block[block.rindex("<li", 0, at) : block.index("</li>", at)]


def _downloads(page: str) -> dict:
    return json.loads(unescape(re.search(r'id="report-data">(.*?)</script>', page, re.S).group(1)))["downloads"]


def test_a_complete_demo_marks_nothing_and_each_explanation_adds_up(demo_run):
    with read.connect(demo_run["home"] / "warehouse.duckdb") as con:
        explained = read_report_data(con, None)["explanations"]
    assert len(explained) == 90
    funds = explained[("civil_affairs_funds", "luoxiao", "2015-2017")]
    assert funds["value"] == Decimal("8400000000") and funds["adds_up"]
    assert sum(c["value"] for c in funds["contributions"]) == Decimal("8400000000")
    assert len(funds["contributions"]) == 69 and {c["year"] for c in funds["contributions"]} == {2015, 2016, 2017}
    assert (funds["counties_covered"], funds["counties_expected"], funds["coverage_note"]) == (23, 23, None)
    assert funds["definition"].startswith("下达到范围内各县的中央和省级民政事业费")
    hunan = explained[("civil_affairs_funds", "luoxiao:43", "2015-2017")]
    assert {c["province_name"] for c in hunan["contributions"]} == {"湖南省"} and hunan["counties_expected"] == 6
    growth = explained[("civil_affairs_funds_growth", "luoxiao", "2015-2017")]
    assert [(c["kind"], c["year"]) for c in growth["contributions"]] == [("basis", 2015), ("basis", 2017)]
    assert all(e["coverage_note"] is None for e in explained.values())
    page = next((demo_run["home"] / "reports").glob("*.html")).read_text(encoding="utf-8")
    assert 'class="incomplete"' not in page and "不完整" not in _visible(page)


def test_a_gap_counted_from_the_counties_rows_is_marked(demo_home_copy):
    """Until marts.indicators keeps coverage: Hunan's six counties missing from the funds leave 17 of 23."""
    with duckdb.connect(str(demo_home_copy / "warehouse.duckdb")) as con:
        con.execute("delete from marts.fund_by_county where province_code = '43'")
    page = write_report(Paths.from_home(demo_home_copy)).read_text(encoding="utf-8")
    card = _key_figure(page, "civil_affairs_funds", "luoxiao")
    assert 'class="incomplete"' in card and "不完整：17/23 县，缺 6 县" in _visible(card)
    assert 'class="incomplete"' not in _key_figure(page, "civil_affairs_funds", "designated_mca")  # Jiangxi's two
    panel = page[page.index('id="explain-civil_affairs_funds-luoxiao-2015-2017"') :]
    panel = panel[: panel.index("</details>")]
    # 51 rows no longer make the published 84亿: no total row, and the panel says so
    assert "覆盖 17/23 县，缺 6 县" in _visible(panel) and "<tfoot>" not in panel
    assert "各县数值之和为 60.67亿元，与上面的数值不同" in _visible(panel)


def test_the_coverage_marts_indicators_keeps_is_shown_and_downloaded(demo_home_copy):
    """Once marts.indicators carries counties_covered, counties_expected and coverage_note: the report shows it."""
    note = "17/23 县，缺湖南省 6 县"
    with duckdb.connect(str(demo_home_copy / "warehouse.duckdb")) as con:
        con.execute("alter table marts.indicators add column counties_covered integer")
        con.execute("alter table marts.indicators add column counties_expected integer")
        con.execute("alter table marts.indicators add column coverage_note varchar")
        con.execute(
            "update marts.indicators set counties_covered = 17, counties_expected = 23, coverage_note = ? "
            "where indicator like 'civil_affairs_funds%' and scope_code = 'luoxiao' and period = '2015-2017'",
            [note],
        )
    page = write_report(Paths.from_home(demo_home_copy)).read_text(encoding="utf-8")
    for indicator in ("civil_affairs_funds", "civil_affairs_funds_growth"):
        card = _key_figure(page, indicator, "luoxiao")
        assert 'class="incomplete"' in card and f"不完整：{note}" in _visible(card)
    assert 'class="incomplete"' not in _key_figure(page, "poverty_incidence", "luoxiao")
    assert page.count(f"不完整：{note}") == 2 * 3  # the key figure, the full table's row, the panel: two figures
    header, *rows = _table(page)
    assert header[-3:] == ["已覆盖县数", "应覆盖县数", "覆盖说明"]
    marked = [r for r in rows if r[-1]]
    assert {(r[1], r[2]) for r in marked} == {
        ("civil_affairs_funds", "罗霄山片区"),
        ("civil_affairs_funds_growth", "罗霄山片区"),
    }
    assert all(r[-3:] == ["17", "23", note] for r in marked)


def _table(page: str) -> list[list[str]]:
    d = _downloads(page)["headline"]
    return [d["header"], *d["rows"]]


def test_failures_holds_and_reasons_reach_the_page_in_chinese_with_their_code(demo_home_copy):
    home = demo_home_copy
    now = datetime.now(SHANGHAI).isoformat()
    (home / "runs" / "failed-run.json").write_text(
        json.dumps(
            {
                "started_at": now,
                "failures": {
                    "44": "ClientConnectorError: Cannot connect to host 127.0.0.1:9 ssl:default [Connection refused]",
                    "36": "遂川县建档立卡贫困户2017.csv: KeyError: 'FUPIN_PII_KEY'; a.xlsx: "
                    "超过限制：文件大小最多 10 字节（本文件 20） [limit_form_bytes]",
                },
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        held = "湖南省资金下达 2017年金额合计将由 102,049.98万元 降至 89,850.92万元（减少 12.0%）：暂缓入库 [held]"
        con.execute(
            "insert into meta.submissions (submission_id, province_code, dataset, file_name, source_path, sha256, "
            "received_at, status, years, rows_total, rows_loaded, rows_rejected, message, raw_path) values "
            "('43-held', '43', 'fund_allocation', ?, 'x.csv', 'h1', now(), 'held', '2017', 5, 0, 0, ?, null),"
            "('43-old', '43', 'poverty_status', '旧文件.csv', 'y.csv', 'h2', now(), 'rejected', '2017', "
            "1, 0, 1, 'ValueError: could not convert string to float', null)",
            ["湖南省2017年民政资金全量.csv", held],
        )
        con.execute(
            "insert into meta.rejections (submission_id, row_number, field, value, reason, reason_code) values "
            "('43-old', 3, 'poor_population', '-5', '贫困人口不能为负数', 'negative_value'),"
            "('43-old', 4, 'poor_population', 'x', 'invalid literal for int()', null)"
        )
    page = write_report(Paths.from_home(home)).read_text(encoding="utf-8")
    text = _visible(page)
    banner = _visible(page[page.index('id="banner"') : page.index("</div>", page.index('id="banner"'))])
    assert "失败 广东省：数据源未能处理，技术详情已记入运行日志" in banner and "[failure_logged]" in banner
    assert "文件 遂川县建档立卡贫困户2017.csv 未能处理" in banner
    assert "a.xlsx: 超过限制：文件大小最多 10 字节（本文件 20） [limit_form_bytes]" in banner  # fupin's own, as written
    assert "待确认 湖南省 湖南省2017年民政资金全量.csv" in banner
    held = page[page.index('id="held-table"') : page.index("</table>", page.index('id="held-table"'))]
    assert '<td data-label="省份" class="name">湖南省</td>' in held and "暂缓入库 [held]" in held
    assert "贫困人口不能为负数 [negative_value]" in text
    assert text.count("[reason_unrecorded]") == 2  # the old submission's message and its row without a code
    for engineers in ("ClientConnectorError", "KeyError", "ValueError", "invalid literal", "Connection refused"):
        assert engineers not in text, engineers


def test_the_chinese_data_dictionary_gives_the_chinese_definitions(demo_run, tmp_path):
    result = CliRunner().invoke(app, ["docs", "--home", str(demo_run["home"]), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for name in ("data_dictionary.md", "data_dictionary.html"):
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert "民政事业费在期间 y0–y1 的年均增长率" in text, name
        assert "Average annual growth (年均增长) of civil_affairs_funds" not in text, name
