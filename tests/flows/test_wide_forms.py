"""Wide fund forms and fund levels as people write them: each cell one fact with its own key, 合计 columns checked.

Fixtures in tests/fixtures/wide (written by make_wide_fixtures.py), each a Jiangxi (36) submission run through
parse → normalise → validate → lake; the four-level form also through the nightly flow on the demo warehouse.
"""

from __future__ import annotations

import csv
import hashlib
from decimal import Decimal

import duckdb
import pytest

from fupin.flows.nightly import nightly
from fupin.tasks.normalise import normalise_table
from fupin.tasks.normalise.helpers import level_of, map_header, vocabularies
from tests.helpers import FIXTURES, indicator, process, rows_of

WIDE = FIXTURES / "wide"
KEYS = ("_row", "county_code", "year", "fund_type", "fund_level", "amount_yuan")
SUICHUAN, JINGGANGSHAN, YONGXIN, LIANHUA = "360827", "360881", "360830", "360321"


@pytest.mark.parametrize(
    ("written", "level"),
    [
        *[
            (w, "central")
            for w in ("中央", "中央财政", "中央资金", "中央补助", "中央专项", "部本级", "中央财政补助资金")
        ],
        *[(w, "provincial") for w in ("省级", "省本级", "省财政", "省级资金", "省级补助", "省级财政资金")],
        *[(w, "municipal") for w in ("市级", "市本级", "市级资金", "州级", "州本级", "市级配套")],
        *[(w, "county") for w in ("县级", "县本级", "县级资金", "县级配套资金")],
        *[(w, None) for w in ("乡级", "本级", "资金", "中央和省级", "其他")],
    ],
)
def test_a_fund_level_is_read_as_people_write_it(written, level):
    assert level_of(written, vocabularies()["fund_allocation"].fund_levels) == level


def test_levels_as_columns_under_one_fund_type_each_cell_a_fact_and_a_wrong_total_rejected(tmp_path):
    outcome, datasets = process(WIDE / "funds_levels_total.xlsx", tmp_path)
    assert outcome.status == "partially_loaded"
    assert rows_of(datasets, "fund_allocation", *KEYS) == [
        (5, SUICHUAN, 2017, "civil_affairs", "central", Decimal("2000000.00")),
        (5, SUICHUAN, 2017, "civil_affairs", "provincial", Decimal("1000000.00")),
        (6, JINGGANGSHAN, 2017, "civil_affairs", "central", Decimal("1002500.00")),
        (6, JINGGANGSHAN, 2017, "civil_affairs", "provincial", Decimal("502500.00")),
        (7, YONGXIN, 2017, "civil_affairs", "central", Decimal("800000.00")),  # no provincial cell: one fact
    ]  # the 合计 column is never a fact
    [rejected] = outcome.rejections
    assert (rejected.row_number, rejected.code) == (8, "row_total_mismatch")
    assert rejected.reason == (
        "“民政事业费/合计”为 999万元，但“民政事业费/中央补助”、“民政事业费/省级补助”相加为 500万元："
        "合计应等于各列之和，这一行未读取；请核对后重新报送这一行"
    )


def test_levels_as_columns_with_the_fund_type_in_a_column(tmp_path):
    outcome, datasets = process(WIDE / "funds_levels_type_column.csv", tmp_path)
    assert rows_of(datasets, "fund_allocation", *KEYS) == [
        (2, SUICHUAN, 2017, "civil_affairs", "central", Decimal("2000.00")),
        (2, SUICHUAN, 2017, "civil_affairs", "provincial", Decimal("1000.00")),
        (3, SUICHUAN, 2017, "lottery_welfare", "central", Decimal("500.00")),
    ]
    [rejected] = outcome.rejections
    assert (rejected.row_number, rejected.code, rejected.value) == (4, "row_total_mismatch", "1000")
    assert "“合计（元）”为 1000元，但“中央财政（元）”、“省级资金（元）”相加为 900元" in rejected.reason


def test_years_as_columns_each_cell_its_year(tmp_path):
    outcome, datasets = process(WIDE / "funds_years_as_columns.csv", tmp_path)
    assert outcome.status == "loaded"
    assert rows_of(datasets, "fund_allocation", *KEYS) == [
        (2, SUICHUAN, 2016, "civil_affairs", "central", Decimal("100000.00")),
        (2, SUICHUAN, 2017, "civil_affairs", "central", Decimal("125000.00")),
        (3, SUICHUAN, 2016, "civil_affairs", "provincial", Decimal("40000.00")),
        (3, SUICHUAN, 2017, "civil_affairs", "provincial", Decimal("50000.00")),
        (4, LIANHUA, 2017, "lottery_welfare", "central", Decimal("30000.00")),  # an empty 2016 cell: no fact
    ]
    years = {m["column_name"]: m["submitted_header"] for m in outcome.header_mapping if m.get("matched_by") == "wide"}
    assert years == {"amount_yuan[2016]": "2016年金额（万元）", "amount_yuan[2017]": "2017年金额（万元）"}


def test_fund_types_as_columns_the_level_from_its_column(tmp_path):
    outcome, datasets = process(WIDE / "funds_types_as_columns.csv", tmp_path)
    assert outcome.status == "loaded"
    assert rows_of(datasets, "fund_allocation", *KEYS) == [
        (2, SUICHUAN, 2017, "civil_affairs", "central", Decimal("1000000.00")),
        (2, SUICHUAN, 2017, "lottery_welfare", "central", Decimal("200000.00")),
        (3, SUICHUAN, 2017, "civil_affairs", "provincial", Decimal("500000.00")),
    ]


def test_a_wide_column_without_a_level_anywhere_refuses_the_file(tmp_path):
    form = tmp_path / "funds.csv"
    form.write_text("县名,年度,民政事业费（万元）,彩票公益金（万元）\n遂川县,2017,100,20\n", encoding="utf-8")
    outcome, _ = process(form, tmp_path / "home")
    assert outcome.status == "rejected" and "[missing_required_column]" in outcome.message
    assert "资金级别" in outcome.message


def test_four_levels_load_as_written(tmp_path):
    outcome, datasets = process(WIDE / "funds_four_levels.csv", tmp_path)
    assert outcome.status == "loaded"
    assert [r[4:] for r in rows_of(datasets, "fund_allocation", *KEYS)] == [
        ("central", Decimal("1000000.00")),
        ("provincial", Decimal("400000.00")),
        ("municipal", Decimal("70000.00")),
        ("county", Decimal("30000.00")),
    ]


HEADER = ["年度", "行政区划代码", "县市区", "资金类别", "资金级别", "金额（元）"]


@pytest.mark.prefect
def test_municipal_and_county_funds_are_kept_but_the_23_county_total_counts_central_and_provincial(demo_home_copy):
    """Hunan sends 茶陵县's 2017 civil-affairs funds at four levels; 罗霄山 moves by the central + provincial change."""
    home = demo_home_copy
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        before = dict(
            con.execute(
                "select fund_level, amount_yuan from core.fct_fund_allocation "
                "where county_code = '430224' and year = 2017 and fund_type = 'civil_affairs'"
            ).fetchall()
        )
        total_before = indicator(con, "civil_affairs_funds", "luoxiao", "2017")
    central, provincial = before["central"] + 1000, before["provincial"] + 500
    folder = home / "inbox-levels" / "hunan"
    folder.mkdir(parents=True)
    with open(folder / "湖南2017年资金更正.csv", "w", encoding="gbk", newline="") as fh:
        csv.writer(fh).writerows(
            [
                HEADER,
                ["2017", "430224", "茶陵县", "民政事业费", "中央财政", f"{central}"],
                ["2017", "430224", "茶陵县", "民政事业费", "省本级", f"{provincial}"],
                ["2017", "430224", "茶陵县", "民政事业费", "市级资金", "300000"],
                ["2017", "430224", "茶陵县", "民政事业费", "县本级", "200000"],
            ]
        )
    nightly(inbox=str(folder.parent), home=str(home))
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        after = dict(
            con.execute(
                "select fund_level, amount_yuan from core.fct_fund_allocation "
                "where county_code = '430224' and year = 2017 and fund_type = 'civil_affairs'"
            ).fetchall()
        )
        total_after = indicator(con, "civil_affairs_funds", "luoxiao", "2017")
        names = dict(con.execute("select code, name_zh from core.labels where kind = 'fund_level'").fetchall())
    assert after == {
        "central": central,
        "provincial": provincial,
        "municipal": Decimal("300000.00"),
        "county": Decimal("200000.00"),
    }
    assert total_after - total_before == pytest.approx(1500)  # not 501,500: 市级 and 县级 are not in the definition
    assert names["municipal"] == "市级" and names["county"] == "县级"


def test_the_fixtures_are_what_the_script_writes(tmp_path, monkeypatch):
    """The committed fixtures are the script's output (the workbook's date is fixed)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_wide", FIXTURES / "make_wide_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "OUT", tmp_path)
    module.write_levels_as_columns()
    module.write_csvs()
    module.write_json()
    for made in tmp_path.iterdir():
        committed = WIDE / made.name
        assert hashlib.sha256(made.read_bytes()).digest() == hashlib.sha256(committed.read_bytes()).digest(), made.name


@pytest.mark.parametrize("total", ["合计", "资金合计", "合计金额", "小计", "总计（万元）"])
def test_a_total_column_however_headed_is_checked_never_a_fact(total):
    header = ["县名", "年度", "资金类别", total, "中央资金", "省级资金"]
    hmap = map_header(header, vocabularies()["fund_allocation"])
    assert [k.name for k in hmap.wide.values()] == ["central", "provincial"]
    assert [(i, t.members) for i, t in hmap.totals.items()] == [(3, (4, 5))]


def test_years_heading_groups_of_columns_give_one_fact_per_county_and_year(tmp_path):
    """A yearbook's layout: 2015年/农业户籍人口 | 2015年/未脱贫人口 | 2016年/… (a corpus form)."""
    outcome, datasets = process(FIXTURES / "corpus" / "jiangxi_2017_years_as_columns.xlsx", tmp_path)
    assert outcome.status == "loaded"
    keys = ("_row", "county_code", "year", "rural_population", "poor_population")
    assert rows_of(datasets, "poverty_status", *keys) == [
        (5, SUICHUAN, 2015, 536000, 26500),
        (5, SUICHUAN, 2016, 536200, 17100),
        (5, SUICHUAN, 2017, 536326, 17002),
        (6, LIANHUA, 2015, 215000, 9800),
        (6, LIANHUA, 2016, 215300, 6200),
        (6, LIANHUA, 2017, 215500, 3100),
    ]
    read = {m["column_name"]: (m["submitted_header"], m["matched_by"]) for m in outcome.header_mapping}
    assert read["year"] == ("表头中的年份（2015年、2016年、2017年）", "year_groups")


def test_a_bad_cell_in_one_year_group_rejects_that_year_of_the_row_only():
    from fupin.tasks.parse.helpers import ParsedTable, empty_context

    header = ["县名", "资金类别", "资金级别", "2016年/金额（万元）", "2017年/金额（万元）"]
    rows = [["遂川县", "民政事业费", "中央", "10", "十二"], ["莲花县", "民政事业费", "中央", "", "3"]]
    result = normalise_table(ParsedTable("funds.csv", None, header, rows, [4, 5], empty_context()), "36")
    assert [(r["_row"], r["year"], r["amount_yuan"]) for r in result.rows] == [
        (4, 2016, Decimal("100000.00")),
        (5, 2017, Decimal("30000.00")),
    ]
    assert [(r.row_number, r.code) for r in result.rejections] == [(4, "not_a_number")]


def test_a_year_column_beside_year_groups_is_refused():
    from fupin.tasks.parse.helpers import ParsedTable, empty_context

    header = ["县名", "年度", "2016年/农业户籍人口", "2016年/未脱贫人口", "2017年/农业户籍人口", "2017年/未脱贫人口"]
    table = ParsedTable("p.csv", None, header, [["遂川县", "2017", "1", "1", "1", "1"]], [2], empty_context())
    assert "[ambiguous_columns]" in normalise_table(table, "36").error
