"""Forms read as a person reads them: what a form says outside its header, writing as people write, summary rows,
and amounts whose unit is nowhere. Fixtures: tests/fixtures/make_context_fixtures.py (tests/fixtures/context/)."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from fupin.cli import app
from fupin.core.reference import autonomous_roots, resolve_county
from fupin.flows.nightly import nightly
from fupin.tasks.normalise import normalise_table
from fupin.tasks.normalise.helpers import vocabularies
from fupin.tasks.parse import read_tables
from fupin.tasks.parse.helpers import table_from_columns, table_from_grid
from fupin.warehouse.contracts import contracts
from fupin.warehouse.contracts import folder as contracts_folder
from fupin.warehouse.migrations import migrate
from tests.helpers import FIXTURES, process

CONTEXT = FIXTURES / "context"
FUNDS = ("county_code", "year", "fund_type", "fund_level", "amount_yuan")


def facts(datasets: dict, dataset: str = "fund_allocation", keys: tuple[str, ...] = FUNDS) -> list[tuple]:
    return sorted(tuple(r[k] for k in keys) for r in datasets.get(dataset, []))


def stated(outcome) -> list[tuple]:
    """The header mapping's entries read outside the header: (submitted_header, column_name, source)."""
    return [
        (m["submitted_header"], m["column_name"], m["source"])
        for m in outcome.header_mapping
        if m["matched_by"] == "stated"
    ]


def run(name: str, tmp_path: Path, province: str = "36"):
    return process(CONTEXT / name, tmp_path, province)


# --- what the form says outside its header ---------------------------------------------------------------------


def test_a_unit_row_under_the_header_gives_the_amounts_their_unit(tmp_path):
    outcome, datasets = run("unit_row.xlsx", tmp_path)
    assert outcome.status == "loaded" and outcome.rejections == []
    assert facts(datasets) == [
        ("360827", 2017, "civil_affairs", "central", Decimal("1205000.00")),  # 120.5 万元, not 120.5 元
        ("360828", 2017, "civil_affairs", "provincial", Decimal("300000.00")),
    ]
    assert ("下达资金：万元", "unit", "unit_row") in stated(outcome)
    assert "[money_unit_assumed]" not in (outcome.message or "")


def test_a_unit_row_after_the_column_numbers_of_a_wide_form(tmp_path):
    outcome, datasets = run("unit_row_wide.xlsx", tmp_path)
    assert outcome.status == "loaded" and outcome.rejections == []
    assert facts(datasets) == [
        ("360827", 2017, "civil_affairs", "central", Decimal("1000000.00")),
        ("360827", 2017, "civil_affairs", "provincial", Decimal("205000.00")),
        ("360828", 2017, "civil_affairs", "central", Decimal("500000.00")),
        ("360828", 2017, "civil_affairs", "provincial", Decimal("100000.00")),
    ]


def test_the_column_path_reads_unit_rows_and_summary_rows_as_the_grid_path_does():
    lines = [
        ["县名", "年度", "金额"],
        ["计量单位", None, "万元"],
        *[["遂川县", "2017", str(i)] for i in range(40)],
        ["吉安市小计", None, "780"],
        ["其中：扶贫", None, "5"],
        *[["南康区", "2017", str(i)] for i in range(40)],
        ["合计", None, "1560"],
    ]
    arrays = [pa.array([row[c] for row in lines], pa.string()) for c in range(3)]
    numbers = list(range(1, len(lines) + 1))
    fast, slow = table_from_columns(arrays, numbers), table_from_grid([list(r) for r in lines], numbers)
    assert fast is not None
    assert (fast.header, list(fast.rows), fast.row_numbers) == (slow.header, slow.rows, slow.row_numbers)
    assert fast.context == slow.context
    assert fast.context["column_units"] == [None, None, "万元"] and fast.context["unit_row"] == 2
    kinds = [(s["kind"], s["row"], s["before"]) for s in fast.context["summary_rows"]]
    assert kinds == [("subtotal", 43, 40), ("breakdown", 44, 40), ("total", 85, 80)]
    assert len(fast.rows) == 80


def test_the_title_gives_year_fund_type_level_unit_and_area(tmp_path):
    outcome, datasets = run("吉安市2016年省级民政事业费分配表.xlsx", tmp_path)
    assert outcome.status == "loaded" and outcome.rejections == []
    assert facts(datasets) == [
        ("360821", 2016, "civil_affairs", "provincial", Decimal("125000.00")),
        ("360827", 2016, "civil_affairs", "provincial", Decimal("300000.00")),
    ]
    title = "吉安市2016年省级民政事业费分配表"
    assert stated(outcome) == [
        (title, "year", "title"),
        (title, "fund_type", "title"),
        (title, "fund_level", "title"),
        (title, "area", "title"),
        ("单位：万元", "unit", "title"),
    ]


def test_the_file_name_gives_year_fund_type_level_and_unit(tmp_path):
    outcome, datasets = run("2017年中央彩票公益金分配表（万元）.csv", tmp_path)
    assert outcome.status == "loaded"
    assert facts(datasets) == [
        ("360827", 2017, "lottery_welfare", "central", Decimal("80000.00")),
        ("360828", 2017, "lottery_welfare", "central", Decimal("45000.00")),
    ]
    name = "2017年中央彩票公益金分配表（万元）"
    assert {(h, c, s) for h, c, s in stated(outcome)} == {
        (name, "year", "file_name"),
        (name, "fund_type", "file_name"),
        (name, "fund_level", "file_name"),
        (name, "unit", "file_name"),
    }


def test_a_county_named_in_the_title_stands_for_a_missing_county_column(tmp_path):
    outcome, datasets = run("county_in_title.xlsx", tmp_path)
    assert outcome.status == "loaded"
    assert facts(datasets) == [
        ("360827", 2017, "civil_affairs", "central", Decimal("100000.00")),
        ("360827", 2017, "civil_affairs", "provincial", Decimal("50000.00")),
    ]
    assert ("遂川县2017年民政事业费下达情况表", "county", "title") in stated(outcome)


def test_two_years_in_the_title_give_no_year(tmp_path):
    outcome, datasets = run("two_years.xlsx", tmp_path)
    assert outcome.status == "rejected" and datasets == {}
    assert "缺少必填列“年度”" in outcome.message and outcome.message.endswith("[missing_required_column]")


def test_a_title_and_a_file_name_that_disagree_give_no_year(tmp_path):
    outcome, datasets = run("2017年民政事业费分配表.xlsx", tmp_path)  # its title: 2016年民政事业费分配表
    assert outcome.status == "rejected" and datasets == {}
    assert "缺少必填列“年度”" in outcome.message


def test_two_fund_types_in_the_title_give_no_fund_type(tmp_path):
    outcome, datasets = run("two_funds.xlsx", tmp_path)
    assert outcome.status == "rejected" and datasets == {}
    assert "缺少必填列“资金类别" in outcome.message and outcome.message.endswith("[missing_required_column]")


# --- writing as people write -------------------------------------------------------------------------------------


def test_traditional_characters_read_as_simplified(tmp_path):
    outcome, datasets = run("traditional.xlsx", tmp_path)
    assert outcome.status == "loaded" and outcome.rejections == []
    assert facts(datasets) == [
        ("360827", 2017, "civil_affairs", "central", Decimal("100000.00")),  # 遂川縣, 單位：萬元
        ("360828", 2017, "civil_affairs", "provincial", Decimal("50000.00")),  # 萬安縣, 省級
    ]
    assert ("吉安市2017年民政事業費分配表", "fund_type", "title") in stated(outcome)


def test_names_of_organisations_and_projects_stay_as_submitted(tmp_path):
    outcome, datasets = run("projects_traditional.csv", tmp_path)
    assert outcome.status == "loaded"
    keys = ("organisation", "project", "county_code", "year", "amount_yuan")
    assert facts(datasets, "social_org_project", keys) == [
        ("中國扶貧基金會", "愛心包裹項目", "360827", 2018, Decimal("125000.00"))
    ]


@pytest.mark.parametrize(
    "name, province, county",
    [
        ("short_names_yunnan.csv", "53", "530823"),  # 景东县: 景东彝族自治县
        ("short_names_hubei.csv", "42", "420528"),  # 长阳县: 长阳土家族自治县
        ("short_names_hunan.csv", "43", "431026"),  # 汝 城 县
    ],
)
def test_autonomous_counties_under_short_names_and_spaces_inside_names(tmp_path, name, province, county):
    outcome, datasets = run(name, tmp_path, province)
    assert outcome.status == "loaded" and [r[0] for r in facts(datasets)] == [county]


def test_short_names_are_derived_from_the_division_list():
    assert autonomous_roots("靖州苗族侗族自治县") == ["靖州"]
    assert autonomous_roots("双江拉祜族佤族布朗族傣族自治县") == ["双江"]
    assert autonomous_roots("遂川县") == []


def test_a_county_named_after_its_people_alone_keeps_the_name():
    assert resolve_county("东乡县", "62").county_code == "622926"  # 东乡族自治县
    assert resolve_county("东乡县", "36").county_code == "361003"  # 江西's 东乡区, formerly 东乡县


def test_a_short_name_two_counties_bear_is_refused():
    found = resolve_county("昌江", "00")  # 昌江区 (江西) or 昌江黎族自治县 (海南)
    assert found.county_code is None and found.code == "county_ambiguous"
    assert "昌江区" in found.reason and "昌江黎族自治县" in found.reason
    assert resolve_county("昌江县", "46").county_code == "469026"


def test_units_that_are_no_county_are_rejected_row_by_row_saying_so(tmp_path):
    outcome, datasets = run("short_names_jiangxi.csv", tmp_path)
    assert facts(datasets) == [
        ("360730", 2017, "civil_affairs", "central", Decimal("200000.00")),  # 宁 都 县
        ("360732", 2017, "civil_affairs", "central", Decimal("100000.00")),  # 兴国
    ]
    assert outcome.status == "partially_loaded"
    rejected = [(r.row_number, r.value, r.code) for r in outcome.rejections]
    assert rejected == [
        (4, "井冈山垦殖场", "not_a_county_unit"),
        (5, "吉安县国有林场", "not_a_county_unit"),
        (6, "赣州经济技术开发区", "not_a_county_unit"),
    ]
    reasons = [r.reason for r in outcome.rejections]
    assert "是垦殖场，不是县级行政区划" in reasons[0] and "是国有林场，不是县级行政区划" in reasons[1]
    assert all("并入所在的县" in r for r in reasons)


# --- 合计 / 小计 / 总计 / 其中 rows -----------------------------------------------------------------------------------


def test_summary_rows_anywhere_are_checked_and_never_loaded(tmp_path):
    outcome, datasets = run("subtotals.xlsx", tmp_path)
    assert outcome.status == "loaded"
    assert facts(datasets) == [
        ("360703", 2017, "civil_affairs", "central", Decimal("700000.00")),
        ("360827", 2017, "civil_affairs", "central", Decimal("100000.00")),
        ("360828", 2017, "civil_affairs", "central", Decimal("200000.00")),
    ]
    assert "[declared_total_mismatch]" not in outcome.message
    assert "第 6 行是“其中”分项（上一行的细分），不作为数据读取 [breakdown_rows_skipped]" in outcome.message


def test_a_subtotal_and_a_total_that_disagree_are_warnings_naming_the_rows(tmp_path):
    outcome, datasets = run("subtotal_wrong.xlsx", tmp_path)
    assert outcome.status == "loaded" and len(facts(datasets)) == 3
    assert "小计行（第 6 行）“金额”为 35，但它所小计的第 4–5 行相加为 30；请核对 [declared_total_mismatch]" in (
        outcome.message
    )
    assert "合计行（第 9 行）“金额”为 105，但各行相加为 100" in outcome.message
    assert "赣州市小计" not in outcome.message  # 70 = 南康区's 70: agrees


# --- a money column whose unit is nowhere -------------------------------------------------------------------------


def test_amounts_without_a_unit_that_look_like_wan_yuan_refuse_the_file(tmp_path):
    outcome, datasets = run("no_unit_wan.csv", tmp_path)
    assert outcome.status == "rejected" and datasets == {}
    assert "表中没有写明金额单位" in outcome.message and "请在金额列的表头写明单位" in outcome.message
    assert outcome.message.endswith("[money_unit_unknown]")


def test_amounts_without_a_unit_that_look_like_yuan_are_read_as_yuan_with_a_warning(tmp_path):
    outcome, datasets = run("no_unit_yuan.csv", tmp_path)
    assert outcome.status == "loaded"
    assert [r[-1] for r in facts(datasets)] == [Decimal("1205000.00"), Decimal("302500.00")]  # by county
    assert outcome.message.endswith("[money_unit_assumed]")


def test_the_plausibility_bound_is_the_contracts(tmp_path, monkeypatch):
    folder = tmp_path / "contracts"
    shutil.copytree(contracts_folder(), folder)
    text = (folder / "fund_allocation.yaml").read_text(encoding="utf-8")
    (folder / "fund_allocation.yaml").write_text(
        text.replace("unitless_money_yuan_at_least: 10000", "unitless_money_yuan_at_least: 10"), encoding="utf-8"
    )
    monkeypatch.setenv("FUPIN_CONTRACTS", str(folder))
    assert contracts()["fund_allocation"].unitless_money_yuan_at_least == 10
    table = read_tables(CONTEXT / "no_unit_wan.csv")[0]
    result = normalise_table(table, "36", vocabularies())
    assert result.error is None and [r["amount_yuan"] for r in result.rows] == [Decimal("120.50"), Decimal("30.25")]


# --- where each value came from, in the warehouse and on the command line ------------------------------------------


def test_an_older_warehouse_gains_the_source_of_its_header_mappings():
    with duckdb.connect() as con:
        con.execute("create schema meta")
        con.execute(
            "create table meta.header_mappings (submission_id varchar not null, sheet varchar, "
            "submitted_header varchar not null, column_name varchar, matched_by varchar not null)"
        )
        con.execute("insert into meta.header_mappings values ('36-a', '', '县名', 'county', 'synonym')")
        migrate(con)
        assert con.execute("select submitted_header, source from meta.header_mappings").fetchall() == [
            ("县名", "header")
        ]


@pytest.mark.usefixtures("prefect_harness")
def test_where_each_value_came_from_is_kept_and_shown(tmp_path):
    home, inbox = tmp_path / "home", tmp_path / "inbox"
    (inbox / "jiangxi").mkdir(parents=True)
    name = "吉安市2016年省级民政事业费分配表.xlsx"
    shutil.copyfile(CONTEXT / name, inbox / "jiangxi" / name)
    nightly(inbox=str(inbox), home=str(home))
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        (sid,) = con.execute("select submission_id from meta.submissions").fetchone()
        mapped = con.execute(
            "select submitted_header, column_name, matched_by, source from meta.header_mappings "
            "where submission_id = ? order by all",
            [sid],
        ).fetchall()
        total = con.execute("select sum(amount_yuan) from core.fct_fund_allocation where year = 2016").fetchone()
    assert ("吉安市2016年省级民政事业费分配表", "fund_level", "stated", "title") in mapped
    assert ("单位：万元", "unit", "stated", "title") in mapped
    assert ("县（市、区）", "county", "synonym", "header") in mapped
    assert total == (Decimal("425000.00"),)
    shown = CliRunner().invoke(app, ["submissions", "--id", sid, "--home", str(home)], terminal_width=220).stdout
    assert "来源" in shown and "标题" in shown and "表外写明" in shown and "表头" in shown
