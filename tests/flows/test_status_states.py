"""`fupin status` shows every submission's state as the report's banner does (issue 27): a held full resubmission
stays held although its years were received before, lists the keys it would retire (in `fupin submissions --id`
and the report), its receipt speaks to the clerk; discarded, then a refused file in a received period is flagged.
Real nightly runs on a copy of the demo warehouse under the session's Prefect harness."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fupin.cli import app
from tests.helpers import ROOT, ledger_row, send_fund_form

FULL = "湖南省罗霄山片区民政资金2015-2017_全量.csv"
REFUSED = "湖南省2016年民政资金更正.csv"
COMMANDS = ("fupin", "approve", " discard", "--reason")  # [receipt_discarded] is its code


@pytest.fixture(scope="module")
def hunan_funds(demo_run) -> list[list[str]]:
    """Hunan's fund rows of the demo, 2015–2017, as the province sent them (header left out)."""
    raw = next((demo_run["home"] / "inbox" / "hunan").glob("*民政资金*.csv"))
    with open(raw, encoding="gbk", newline="") as fh:
        return list(csv.reader(fh))[1:]


def _status(home: Path, *extra: str) -> list[dict]:
    result = CliRunner().invoke(app, ["status", "--all", "--json", "--home", str(home), *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _by_key(rows: list[dict]) -> dict[tuple, dict]:
    return {(r["province_code"], r["dataset"], r["period"]): r for r in rows}


def _receipt_csv(home: Path, sid: str) -> list[list[str]]:
    (path,) = (home / "receipts" / "43").glob(f"*_{sid}_回执.csv")
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def _report(home: Path) -> str:
    result = CliRunner().invoke(app, ["report", "--home", str(home)])
    assert result.exit_code == 0, result.output
    return max((home / "reports").glob("*.html")).read_text(encoding="utf-8")


def test_held_discarded_and_refused_submissions_in_status_submissions_report_and_receipts(demo_home_copy, hunan_funds):
    home = demo_home_copy
    (home / "config").mkdir()
    shutil.copy(ROOT / "warehouse" / "seeds" / "calendar.demo.yaml", home / "config" / "calendar.yaml")
    before = _by_key(_status(home))
    assert before[("43", "fund_allocation", 2016)]["status"] == "received"

    # a full resubmission of 2015–2017 without 安仁县: it would retire 15 published facts → held
    send_fund_form(home, FULL, [r for r in hunan_funds if r[2] != "安仁县"])
    sid, status, kind, _ = ledger_row(home, FULL)
    assert (status, kind) == ("held", "full")

    rows = _by_key(_status(home))
    for year in (2015, 2016, 2017):
        held = rows[("43", "fund_allocation", year)]
        assert held["status"] == "held" and held["status_name"] == "待确认", held
        assert held["received_before"] is True and held["submission_id"] == sid and held["file_name"] == FULL
    assert rows[("36", "fund_allocation", 2016)]["status"] == "received"
    shown = CliRunner().invoke(app, ["status", "--home", str(home)])
    assert shown.exit_code == 0 and "待确认（此前已入库）" in shown.output and sid in shown.output

    # what it would retire, by county, years and rows: in `fupin submissions --id` …
    one = CliRunner().invoke(app, ["submissions", "--id", sid, "--home", str(home)])
    assert one.exit_code == 0, one.output
    text = " ".join(one.output.split())
    assert "确认后将撤销的数据（1 个县或地区，共 15 行）" in text and "全量重报" in text
    assert "安仁县 │ 2015–2017 │ 15" in text and "民政事业费·中央" in text
    as_json = json.loads(CliRunner().invoke(app, ["submissions", "--id", sid, "--json", "--home", str(home)]).stdout)
    assert [(r["place_name"], r["years"], r["rows"]) for r in as_json["retired"]] == [("安仁县", "2015–2017", 15)]
    assert as_json["kind_name"] == "全量重报" and as_json["status"] == "held"

    # … and in the report: the banner reads the same rows as status, the held section lists the keys
    page = _report(home)
    banner = page[page.index('id="banner"') : page.index("</div>", page.index('id="banner"'))]
    assert f"{FULL}（{sid}）：该期此前已入库" in banner
    follow_up = page[page.index('id="late-table"') : page.index('<h2 id="held"')]
    assert follow_up.count('class="status-held">待确认（此前已入库）</td>') == 3  # Hunan's funds, 2015–2017
    held_section = page[page.index('<h2 id="held"') : page.index('id="submissions"')]
    assert f'id="retired-{sid}"' in held_section
    assert '<td data-label="县（地区）">安仁县</td><td data-label="年度">2015–2017</td>' in held_section
    assert '<td data-label="行数" class="num">15</td>' in held_section

    # the clerk's receipt: with the Ministry, do not resend; never a command
    (note,) = _receipt_csv(home, sid)[0]
    assert "已交民政部核实确认" in note and "请勿重复报送" in note and "[receipt_held]" in note
    assert "（原因代码 held_shrink_guard）" in note and "合计将由" in note and "降至" in note
    assert not [word for word in COMMANDS if word in note], note

    # discarded: the receipt gives the reason and what to send instead, and no longer says it waits
    done = CliRunner().invoke(app, ["discard", sid, "--reason", "漏报安仁县，误作全量", "--home", str(home)])
    assert done.exit_code == 0, done.output
    (note,) = _receipt_csv(home, sid)[0]
    assert "[receipt_discarded]" in note and "漏报安仁县，误作全量" in note and "已发布的数据保持不变" in note
    assert "请只报送这些行" in note and "完整报表" in note
    assert not [word for word in (*COMMANDS, "暂缓", "待确认", "核实确认") if word in note], note
    rows = _by_key(_status(home))
    discarded = rows[("43", "fund_allocation", 2016)]
    assert discarded["status"] == "discarded" and discarded["received_before"] is True
    assert rows[("43", "poverty_status", 2016)]["status"] == "received"

    # a file refused whole in a period received before: failed, flagged; the receipt CSV keeps numbers numbers
    send_fund_form(
        home,
        REFUSED,
        [
            ["2016", "430224", "茶林县", "民政事业费", "中央", "1000.00"],  # the name is no county
            ["2016", "430225", "炎陵县", "民政事业费", "中央", "-115367.61"],  # a negative amount
        ],
    )
    refused_id, status, _, _ = ledger_row(home, REFUSED)
    assert status == "rejected"
    failed = _by_key(_status(home))[("43", "fund_allocation", 2016)]
    assert failed["status"] == "failed" and failed["received_before"] is True
    assert failed["submission_id"] == refused_id
    shown = CliRunner().invoke(app, ["status", "--home", str(home)])
    assert "失败（此前已入库）" in shown.output
    values = [row[3] for row in _receipt_csv(home, refused_id)[1:]]
    assert "-115367.61" in values and float(values[values.index("-115367.61")]) == -115367.61
    assert not [v for v in values if v.startswith("'-")]
    page = _report(home)
    banner = page[page.index('id="banner"') : page.index("</div>", page.index('id="banner"'))]
    assert f"<b>失败</b> 湖南省 {REFUSED}（{refused_id}）：该期此前已入库" in banner


def test_without_a_calendar_status_lists_what_the_ledger_holds_and_says_lateness_needs_one(demo_home_copy):
    result = CliRunner().invoke(app, ["status", "--home", str(demo_home_copy)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "判断迟报与未报需要报送日历" in text and "[no_calendar]" in text
    assert "湖南省" in text and "江西省" in text and "民政部" in text and "已报送" in text
    rows = _status(demo_home_copy)
    assert rows and {r["status"] for r in rows} == {"received"}
    assert not [r for r in rows if r["due_date"] or r["expected"]]
    assert _by_key(rows)[("43", "fund_allocation", 2017)]["file_name"] == "湖南省罗霄山片区民政资金2015-2017.csv"
