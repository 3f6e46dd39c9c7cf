"""The plausibility gate: rises, falls, unit slips and outliers are held for a person; ordinary corrections load.

Real runs of the nightly flow on a copy of the demo warehouse, under the session's Prefect test harness (as
tests/system/test_corrections.py), and ``fupin approve`` through the CLI; the bounds come from the contracts.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from fupin.cli import app
from fupin.tasks.gate import unit_slip
from tests.helpers import CHALING_CIVIL, FUND_HEADER, fund_facts, home_indicator, indicator, ledger_row, send_fund_form

CHALING_CIVIL_PROVINCIAL = ("430224", 2017, "civil_affairs", "provincial")


def _code(home: Path, file_name: str) -> str | None:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute("select message_code from meta.submissions where file_name = ?", [file_name]).fetchone()[0]


def _yuan(value: Decimal) -> str:
    return f"{value:.2f}"


def test_the_demo_loads_whole_and_its_figures_stand(demo_run, warehouse):
    summary = demo_run["summary"]
    assert summary["held"] == [] and set(summary["by_status"]) == {"loaded"}
    assert indicator(warehouse, "civil_affairs_funds", "luoxiao", "2015-2017") == pytest.approx(84.00e8, rel=5e-5)
    assert indicator(warehouse, "civil_affairs_funds_growth", "luoxiao", "2015-2017") == pytest.approx(0.24, abs=5e-5)


def test_an_amount_in_yuan_under_a_wan_yuan_header_is_held_as_a_unit_error(demo_home_copy):
    before, total_before = fund_facts(demo_home_copy), home_indicator(demo_home_copy)
    assert before[CHALING_CIVIL] == Decimal("72115357.45")
    name = "湖南2017年资金更正（万元）.csv"
    summary = send_fund_form(
        demo_home_copy,
        name,
        [["2017", "430224", "茶陵县", "民政事业费", "中央", "72115357.45"]],  # the yuan figure, typed under 万元
        header=[*FUND_HEADER[:-1], "金额（万元）"],
    )
    assert summary["exit_code"] == 3 and summary["by_status"] == {"held": 1}
    sid, status, _, message = ledger_row(demo_home_copy, name)
    assert status == "held" and _code(demo_home_copy, name) == "held_unit_error"
    assert message.startswith("暂缓入库，待人工确认 [held_unit_error]：")
    assert (
        "湖南省资金下达 2017年 茶陵县（430224）民政事业费·中央金额将由 7,211.54万元 增至 72,115,357.45万元"
        "（为原来的 10,000.0 倍），约为 1 万倍：疑似以“元”为单位的数填在了“万元”列" in message
    )
    assert f"fupin approve {sid}" in message and f"fupin discard {sid}" in message
    assert summary["held"][0]["file_name"] == name
    # nothing of it published: the fact and the 23 counties' total are as they were
    assert fund_facts(demo_home_copy) == before
    assert home_indicator(demo_home_copy) == total_before
    assert home_indicator(demo_home_copy, period="2015-2017") == pytest.approx(84.00e8, rel=5e-5)


def test_an_ordinary_correction_of_a_few_percent_is_applied(demo_home_copy):
    before, total_before = fund_facts(demo_home_copy), home_indicator(demo_home_copy)
    corrected = (before[CHALING_CIVIL] * Decimal("1.03")).quantize(Decimal("0.01"))  # +3%
    summary = send_fund_form(
        demo_home_copy, "湖南2017年资金更正.csv", [["2017", "430224", "茶陵县", "民政事业费", "中央", _yuan(corrected)]]
    )
    assert summary["exit_code"] == 0 and summary["by_status"] == {"loaded": 1} and summary["held"] == []
    assert fund_facts(demo_home_copy)[CHALING_CIVIL] == corrected
    assert home_indicator(demo_home_copy) == pytest.approx(total_before + float(corrected - before[CHALING_CIVIL]))


def test_a_fivefold_rise_is_held_then_applied_when_approved(demo_home_copy):
    from fupin.flows.rebuild import rebuild_warehouse

    before, total_before = fund_facts(demo_home_copy), home_indicator(demo_home_copy)
    old = before[CHALING_CIVIL_PROVINCIAL]
    name = "湖南2017年资金补充.csv"
    summary = send_fund_form(demo_home_copy, name, [["2017", "430224", "茶陵县", "民政事业费", "省级", _yuan(old * 5)]])
    assert summary["exit_code"] == 3 and summary["by_status"] == {"held": 1}
    sid, status, _, message = ledger_row(demo_home_copy, name)
    assert status == "held" and _code(demo_home_copy, name) == "held_rise"
    assert f"茶陵县（430224）民政事业费·省级金额将由 {old / 10000:,.2f}万元 增至 {old * 5 / 10000:,.2f}万元" in message
    assert "（为原来的 5.0 倍）" in message and "疑似" not in message
    assert fund_facts(demo_home_copy) == before

    approved = CliRunner().invoke(app, ["approve", sid, "--by", "张处长", "--home", str(demo_home_copy)])
    assert approved.exit_code == 0, approved.output
    assert ledger_row(demo_home_copy, name)[1] == "loaded"
    assert fund_facts(demo_home_copy)[CHALING_CIVIL_PROVINCIAL] == old * 5
    assert home_indicator(demo_home_copy) == pytest.approx(total_before + float(old * 4), abs=0.005)
    # a rebuild replays the decision: nothing is held again, the warehouse comes out the same
    assert rebuild_warehouse(home=str(demo_home_copy), return_state=True).is_completed()


def test_a_fall_by_a_factor_is_held_by_the_shrink_guard(demo_home_copy):
    before = fund_facts(demo_home_copy)
    old = before[CHALING_CIVIL]
    name = "湖南2017年资金更正（减）.csv"
    send_fund_form(demo_home_copy, name, [["2017", "430224", "茶陵县", "民政事业费", "中央", _yuan(old / 4)]])
    _, status, _, message = ledger_row(demo_home_copy, name)
    assert status == "held" and _code(demo_home_copy, name) == "held_shrink_guard"
    assert "茶陵县（430224）民政事业费·中央金额将由 7,211.54万元 降至 1,802.88万元（为原来的 0.25 倍）" in message
    assert fund_facts(demo_home_copy) == before


def test_a_new_year_loads_and_a_county_far_from_its_history_and_peers_is_held(demo_home_copy):
    facts = fund_facts(demo_home_copy)
    hunan_2017 = {k: v for k, v in facts.items() if k[0].startswith("43") and k[1] == 2017 and k[2] == "civil_affairs"}
    levels = {"central": "中央", "provincial": "省级"}
    rows = [
        ["2018", county, "", "民政事业费", levels[level], _yuan(value * Decimal("1.1"))]
        for (county, _, _, level), value in sorted(hunan_2017.items())
        if county != "430225"
    ]
    first = send_fund_form(demo_home_copy, "湖南2018年民政事业费.csv", rows)  # nothing published for 2018 yet
    assert first["by_status"] == {"loaded": 1} and first["held"] == []

    yanling = hunan_2017[("430225", 2017, "civil_affairs", "central")]
    name = "湖南2018年民政事业费补报.csv"
    send_fund_form(demo_home_copy, name, [["2018", "430225", "炎陵县", "民政事业费", "中央", _yuan(yanling * 50)]])
    _, status, _, message = ledger_row(demo_home_copy, name)
    assert status == "held" and _code(demo_home_copy, name) == "held_outlier"
    assert "湖南省资金下达 2018年 炎陵县（430225）民政事业费·中央金额为 " in message
    assert "远离该县其他年度的中位数 " in message and "和本省其他 " in message and "超出 20 倍的范围" in message
    assert ("430225", 2018, "civil_affairs", "central") not in fund_facts(demo_home_copy)


def test_a_small_new_value_loads_unless_it_is_as_small_as_a_unit_slip(demo_home_copy):
    """A county's share may be small for good reasons: only a value ÷10⁴ from its history and peers is held."""
    facts = fund_facts(demo_home_copy)
    yanling = facts[("430225", 2017, "civil_affairs", "central")]
    small = "湖南2018年炎陵县民政事业费.csv"
    send_fund_form(demo_home_copy, small, [["2018", "430225", "炎陵县", "民政事业费", "中央", _yuan(yanling / 50)]])
    assert ledger_row(demo_home_copy, small)[1] == "loaded"
    assert facts.keys() < fund_facts(demo_home_copy).keys()

    chaling = facts[("430224", 2017, "civil_affairs", "central")]
    slip = "湖南2018年茶陵县民政事业费.csv"
    send_fund_form(demo_home_copy, slip, [["2018", "430224", "茶陵县", "民政事业费", "中央", _yuan(chaling / 10_000)]])
    _, status, _, message = ledger_row(demo_home_copy, slip)
    assert status == "held" and _code(demo_home_copy, slip) == "held_unit_error"
    assert "约为万分之一" in message and "超出 5000 倍的范围" in message
    assert ("430224", 2018, "civil_affairs", "central") not in fund_facts(demo_home_copy)


@pytest.mark.parametrize(
    ("ratio", "words"),
    [
        (10_000.0, "约为 1 万倍"),
        (12_400.0, "约为 1 万倍"),
        (1 / 10_000, "约为万分之一"),
        (1e8, "约为 1 亿倍"),
        (1.3e-8, "约为亿分之一"),
        (5.0, None),
        (700.0, None),
        (1_000_000.0, None),
    ],
)
def test_which_ratios_are_named_a_unit_slip(ratio, words):
    found = unit_slip(ratio, 2.0)
    assert (found is None) if words is None else found.startswith(words)


def test_a_contract_bound_that_cannot_hold_stops_loading(tmp_path, monkeypatch):
    import shutil

    from fupin.warehouse.contracts import _load, contracts, folder

    copy = tmp_path / "contracts"
    shutil.copytree(folder(), copy)
    training = copy / "training.yaml"
    training.write_text(training.read_text(encoding="utf-8") + "plausibility: {max_rise: 1.5}\n", encoding="utf-8")
    monkeypatch.setenv("FUPIN_CONTRACTS", str(copy))
    assert contracts()["training"].plausibility.max_rise == 1.5  # a dataset's own bound over _common.yaml's
    assert contracts()["fund_allocation"].plausibility.max_rise == 3.0
    (copy / "poverty_status.yaml").write_text(
        (copy / "poverty_status.yaml").read_text(encoding="utf-8") + "plausibility: {max_jump: 2}\n", encoding="utf-8"
    )
    _load.cache_clear()
    with pytest.raises(ValueError, match="plausibility: unknown max_jump"):
        contracts()
    _load.cache_clear()
