"""Corrections never lose data: key-level revisions, full resubmissions, held submissions, approve and discard.

Real runs of the nightly flow (and the ``fupin`` CLI) on a copy of the demo warehouse, under the session's
Prefect test harness; the SIGKILL test runs ``fupin approve`` in a second process.
"""

from __future__ import annotations

import csv
import hashlib
import subprocess
from decimal import Decimal

import duckdb
import pytest
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

from fupin.cli import app
from tests.helpers import (
    CHALING_CIVIL,
    FUND_HEADER,
    FUPIN,
    api_env,
    fund_facts,
    home_indicator,
    ledger_row,
    send_fund_form,
)


@pytest.fixture(scope="module")
def hunan_2017(demo_run) -> list[list[str]]:
    """Hunan's 2017 rows of the demo's fund form, as the province sent them."""
    raw = next((demo_run["home"] / "inbox" / "hunan").glob("*民政资金*.csv"))
    with open(raw, encoding="gbk", newline="") as fh:
        return [r for r in csv.reader(fh) if r[0] == "2017"]


YANLING_LOTTERY = ("430225", 2017, "lottery_welfare", "provincial")


def test_a_two_row_correction_changes_exactly_those_two_facts(demo_home_copy):
    before, total_before = fund_facts(demo_home_copy), home_indicator(demo_home_copy)
    summary = send_fund_form(
        demo_home_copy,
        "湖南2017年资金更正.csv",
        [
            ["2017", "430224", "茶陵县", "民政事业费", "中央", "72215357.45"],  # was 72,115,357.45
            ["2017", "430225", "炎陵县", "彩票公益金", "省级", "604446.19"],  # was 504,446.19
        ],
    )
    assert summary["exit_code"] == 0 and summary["by_status"] == {"loaded": 1}
    after = fund_facts(demo_home_copy)
    assert after[CHALING_CIVIL] == Decimal("72215357.45")
    assert after[YANLING_LOTTERY] == Decimal("604446.19")
    assert {k: v for k, v in after.items() if k not in (CHALING_CIVIL, YANLING_LOTTERY)} == {
        k: v for k, v in before.items() if k not in (CHALING_CIVIL, YANLING_LOTTERY)
    }
    # the 23-county civil-affairs total moves by exactly the civil-affairs difference (lottery is not in it)
    assert home_indicator(demo_home_copy) == pytest.approx(total_before + 100_000, abs=0.005)
    sid, status, kind, _ = ledger_row(demo_home_copy, "湖南2017年资金更正.csv")
    assert (status, kind) == ("loaded", "correction")
    original = ledger_row(demo_home_copy, "湖南省罗霄山片区民政资金2015-2017.csv")
    assert original[1] == "loaded"  # still the source of every other fact

    # every change to a published figure is explained, with the submission behind it
    with duckdb.connect(str(demo_home_copy / "warehouse.duckdb"), read_only=True) as con:
        change = con.execute(
            "select value_before, value_after, submissions, indicator_name from marts.indicator_changes "
            "where indicator = 'civil_affairs_funds' and scope_code = 'luoxiao' and period = '2017' "
            "and value_before is not null"
        ).fetchall()
    assert len(change) == 1
    assert change[0][1] - change[0][0] == pytest.approx(100_000, abs=0.005)
    assert change[0][2] == sid and change[0][3] == "民政事业费"
    printed = CliRunner().invoke(app, ["indicators", "--changes", "--home", str(demo_home_copy)])
    assert printed.exit_code == 0, printed.output
    assert "civil_affairs_funds" in printed.output and sid in printed.output
    assert "罗霄山片区 [luoxiao]" in printed.output and "民政事业费 [civil_affairs_funds]" in printed.output


def test_a_rejected_row_keeps_the_old_value_and_the_others_load(demo_home_copy):
    before = fund_facts(demo_home_copy)
    chaling_lottery = ("430224", 2017, "lottery_welfare", "central")
    chaling_lottery_prov = ("430224", 2017, "lottery_welfare", "provincial")
    summary = send_fund_form(
        demo_home_copy,
        "湖南2017年彩票公益金更正.csv",
        [
            ["2017", "430224", "茶陵县", "彩票公益金", "中央", "8242600.00"],
            ["2017", "430224", "茶陵县", "彩票公益金", "省级", "三十万"],  # not a number: rejected
        ],
    )
    assert summary["exit_code"] == 3 and summary["by_status"] == {"partially_loaded": 1}
    after = fund_facts(demo_home_copy)
    assert after[chaling_lottery] == Decimal("8242600.00")
    assert after[chaling_lottery_prov] == before[chaling_lottery_prov] == Decimal("356865.84")
    assert len(after) == len(before)
    receipt = next((demo_home_copy / "receipts" / "43").glob("湖南2017年彩票公益金更正*_回执.xlsx"))
    sheet = CalamineWorkbook.from_path(str(receipt)).get_sheet_by_index(0).to_python()
    assert "原有的数据继续有效" in sheet[1][0] and "只报送更正的行" in sheet[1][0] and "全量" in sheet[1][0]
    assert sheet[3][1:3] == [3, FUND_HEADER[-1]]  # the clerk's own header of the amount column
    assert sheet[3][4].startswith(f"“{FUND_HEADER[-1]}”应为数字") and sheet[3][5] == "not_a_number"


def test_a_withdrawn_row_retires_its_key_and_nothing_else(demo_home_copy):
    before = fund_facts(demo_home_copy)
    send_fund_form(
        demo_home_copy,
        "湖南2017年撤销.csv",
        [["2017", "430224", "茶陵县", "中央预算内投资", "中央", "", "作废"]],
        header=[*FUND_HEADER, "状态"],
    )
    after = fund_facts(demo_home_copy)
    gone = ("430224", 2017, "central_budget_investment", "central")
    assert gone in before and gone not in after
    assert after == {k: v for k, v in before.items() if k != gone}


def test_a_full_resubmission_retires_what_it_does_not_carry_within_the_guard(demo_home_copy, hunan_2017):
    before = fund_facts(demo_home_copy)
    rows = [r for r in hunan_2017 if r[1] != "430224"]  # 茶陵县's rows left out: 11.95% of the slice
    summary = send_fund_form(demo_home_copy, "湖南省2017年民政资金_全量重报.csv", rows, shrink_guard=0.15)
    assert summary["by_status"] == {"loaded": 1}
    after = fund_facts(demo_home_copy)
    assert not [k for k in after if k[0] == "430224" and k[1] == 2017]
    assert {k: v for k, v in after.items() if k[0] != "430224" or k[1] != 2017} == {
        k: v for k, v in before.items() if k[0] != "430224" or k[1] != 2017
    }
    assert ledger_row(demo_home_copy, "湖南省2017年民政资金_全量重报.csv")[2] == "full"


def test_a_full_resubmission_that_shrinks_a_total_is_held_then_approved(demo_home_copy, hunan_2017):
    before, total_before = fund_facts(demo_home_copy), home_indicator(demo_home_copy)
    name = "湖南省2017年民政资金全量.csv"
    summary = send_fund_form(demo_home_copy, name, [r for r in hunan_2017 if r[1] != "430224"])
    assert summary["exit_code"] == 3
    assert summary["held"][0]["file_name"] == name and summary["submissions"][0]["status"] == "held"
    sid, status, kind, message = ledger_row(demo_home_copy, name)
    assert (status, kind) == ("held", "full")
    assert "湖南省资金下达 2017年金额合计将由 102,049.98万元 降至 89,850.92万元（减少 12.0%）" in message
    assert f"fupin approve {sid}" in message
    assert fund_facts(demo_home_copy) == before  # nothing of it applied
    report = next((demo_home_copy / "reports").glob("*.html")).read_text(encoding="utf-8")
    banner = report[report.index('id="banner"') : report.index("</div>", report.index('id="banner"'))]
    assert "待确认" in banner and name in banner and report.index('id="banner"') < report.index('id="funds"')
    assert "待确认的报送" in report
    receipt = next((demo_home_copy / "receipts" / "43").glob("湖南省2017年民政资金全量*_回执.xlsx"))
    assert "暂缓入库" in CalamineWorkbook.from_path(str(receipt)).get_sheet_by_index(0).to_python()[0][0]

    runner = CliRunner()
    approved = runner.invoke(app, ["approve", sid, "--by", "张处长", "--home", str(demo_home_copy)])
    assert approved.exit_code == 0, approved.output
    assert "已确认入库" in approved.output and "张处长" in approved.output
    assert not [k for k in fund_facts(demo_home_copy) if k[0] == "430224" and k[1] == 2017]
    civil_chaling = (
        before[("430224", 2017, "civil_affairs", "central")] + before[("430224", 2017, "civil_affairs", "provincial")]
    )
    assert home_indicator(demo_home_copy) == pytest.approx(total_before - float(civil_chaling), abs=0.005)
    assert ledger_row(demo_home_copy, name)[1] == "loaded"
    with duckdb.connect(str(demo_home_copy / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute(
            "select decision, decided_by from meta.decisions where submission_id = ?", [sid]
        ).fetchall() == [("approved", "张处长")]
    again = runner.invoke(app, ["approve", sid, "--home", str(demo_home_copy)])
    assert again.exit_code == 1 and "不是待确认" in again.output


def test_discarding_a_held_submission_leaves_the_figures_unchanged(demo_home_copy, hunan_2017):
    before, total_before = fund_facts(demo_home_copy), home_indicator(demo_home_copy)
    send_fund_form(demo_home_copy, "湖南省2017年民政资金全量.csv", hunan_2017[:3])
    sid, status, _, _ = ledger_row(demo_home_copy, "湖南省2017年民政资金全量.csv")
    assert status == "held"
    runner = CliRunner()
    no_reason = runner.invoke(app, ["discard", sid, "--reason", " ", "--home", str(demo_home_copy)])
    assert no_reason.exit_code == 1 and "须说明原因" in no_reason.output
    done = runner.invoke(app, ["discard", sid, "--reason", "误将部分表当作全量报送", "--home", str(demo_home_copy)])
    assert done.exit_code == 0, done.output
    assert fund_facts(demo_home_copy) == before and home_indicator(demo_home_copy) == total_before
    sid_, status, _, message = ledger_row(demo_home_copy, "湖南省2017年民政资金全量.csv")
    assert status == "discarded" and "误将部分表当作全量报送" in message


def test_a_held_submission_superseded_by_a_newer_one_is_never_applied(demo_home_copy, hunan_2017):
    send_fund_form(demo_home_copy, "湖南省2017年民政资金全量.csv", hunan_2017[:3])
    held = ledger_row(demo_home_copy, "湖南省2017年民政资金全量.csv")[0]
    # the complete form: nothing shrinks
    send_fund_form(demo_home_copy, "湖南省2017年民政资金全量（二）.csv", hunan_2017)
    sid, status, _, message = ledger_row(demo_home_copy, "湖南省2017年民政资金全量.csv")
    assert status == "superseded" and "未应用" in message
    refused = CliRunner().invoke(app, ["approve", held, "--home", str(demo_home_copy)])
    assert refused.exit_code == 1 and "superseded" in refused.output


@pytest.mark.parametrize(
    ("code", "name", "reason"),
    [
        ("430224", "茶林县", "县代码 430224（茶陵县）与县名「茶林县」不一致"),
        ("4302abc", "茶陵县", "县代码「4302abc」不是6位行政区划代码，县名为「茶陵县」"),
        ("430224", "炎陵县", "县代码 430224（茶陵县）与县名「炎陵县」（炎陵县 430225）不是同一个县"),
    ],
    ids=["misspelt-name", "malformed-code", "two-counties"],
)
def test_a_name_and_code_that_disagree_are_rejected_naming_both(demo_home_copy, code, name, reason):
    before = fund_facts(demo_home_copy)
    summary = send_fund_form(demo_home_copy, "湖南2017年更正.csv", [["2017", code, name, "民政事业费", "中央", "1.00"]])
    assert summary["exit_code"] == 3 and summary["by_status"] == {"rejected": 1}
    with duckdb.connect(str(demo_home_copy / "warehouse.duckdb"), read_only=True) as con:
        field, value, got, reason_code = con.execute(
            "select field, value, reason, reason_code from meta.rejections join meta.submissions using "
            "(submission_id) where file_name = '湖南2017年更正.csv' and row_number is not null"
        ).fetchone()
    assert reason in got and (field, value) == ("county_code", f"{code} / {name}")
    assert reason_code in ("county_name_code_mismatch", "county_code_malformed")
    assert fund_facts(demo_home_copy) == before


def test_as_of_before_the_first_receipt_says_so(demo_run):
    result = CliRunner().invoke(app, ["indicators", "--as-of", "2018-10-30", "--home", str(demo_run["home"])])
    assert result.exit_code == 0
    assert result.output.startswith("2018-10-30 时尚无已发布的指标：最早的回执日期为 ")
    assert len(result.output.strip().splitlines()) == 1


def test_sigkill_during_an_approval_leaves_the_warehouse_before_or_after(demo_home_copy, hunan_2017):
    send_fund_form(demo_home_copy, "湖南省2017年民政资金全量.csv", hunan_2017[:3])
    sid = ledger_row(demo_home_copy, "湖南省2017年民政资金全量.csv")[0]
    warehouse = demo_home_copy / "warehouse.duckdb"
    digest = hashlib.sha256(warehouse.read_bytes()).hexdigest()
    for stage in ("load", "marts"):
        killed = subprocess.run(
            [*FUPIN, "approve", sid, "--home", str(demo_home_copy)],
            env=api_env(FUPIN_KILL_AT=stage),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert killed.returncode == -9, killed.stderr[-2000:]
        assert hashlib.sha256(warehouse.read_bytes()).hexdigest() == digest
        assert ledger_row(demo_home_copy, "湖南省2017年民政资金全量.csv")[1] == "held"
    done = subprocess.run(
        [*FUPIN, "approve", sid, "--home", str(demo_home_copy)], env=api_env(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert ledger_row(demo_home_copy, "湖南省2017年民政资金全量.csv")[1] == "loaded"
    assert len([k for k in fund_facts(demo_home_copy) if k[0].startswith("43") and k[1] == 2017]) == 3


@pytest.mark.parametrize(
    ("file_name", "source_mode", "envelope", "kind"),
    [
        ("湖南2017年资金.csv", None, None, "correction"),
        ("湖南2017年资金_全量.csv", None, None, "full"),
        ("湖南2017年资金（重报）.xlsx", None, None, "full"),
        ("湖南2017年资金.csv", "full", None, "full"),
        ("projects.json", None, "全量", "full"),
        ("projects.json", None, "更正", "correction"),
    ],
)
def test_what_makes_a_file_a_full_resubmission(file_name, source_mode, envelope, kind):
    from fupin.tasks.records import submission_kind

    assert submission_kind(file_name, source_mode, envelope) == kind


def test_a_source_marked_full_and_a_json_envelope_reach_the_ledger(demo_home_copy, tmp_path):
    import json

    from fupin.core.config import load_sources
    from fupin.flows.nightly import nightly as run

    def project(folder: str, name: str, envelope: dict, title: str) -> None:
        record = {
            "社会组织名称": "中国扶贫基金会",
            "项目名称": title,
            "县（市、区）": "遂川县",
            "年度": 2018,
            "落地资金（元）": 1000,
        }
        (tmp_path / folder).mkdir(exist_ok=True)
        doc = {**envelope, "数据": [record]}
        (tmp_path / folder / name).write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")

    project("plain", "enveloped.json", {"报送类型": "全量"}, "项目甲")  # marked in its envelope only
    project("plain", "ordinary.json", {}, "项目乙")  # marked nowhere: a correction
    project("whole", "from_full_source.json", {}, "项目丙")  # its source says every file is full
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        f"sources:\n  - {{province: 江西, url: {tmp_path / 'plain'}}}\n"
        f"  - {{province: 江西, url: {tmp_path / 'whole'}, mode: full}}\n",
        encoding="utf-8",
    )
    assert [s.mode for s in load_sources(sources)] == ["correction", "full"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"sources:\n  - {{province: 江西, url: {tmp_path / 'plain'}, mode: all}}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="mode must be"):
        load_sources(bad)
    run(sources_file=str(sources), home=str(demo_home_copy), shrink_guard=1.0)
    assert ledger_row(demo_home_copy, "enveloped.json")[2] == "full"
    assert ledger_row(demo_home_copy, "ordinary.json")[2] == "correction"
    assert ledger_row(demo_home_copy, "from_full_source.json")[2] == "full"
