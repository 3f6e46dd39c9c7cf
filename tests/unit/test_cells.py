"""The cell converter: each column's cells converted once, a refused cell keeps its reason, and a row's rejection is
its first refused cell in the order a row is read (place, year, row action, amounts, 合计, fund type and level, then
the contract's columns)."""

from __future__ import annotations

from decimal import Decimal

from fupin.tasks.normalise import normalise_table
from fupin.tasks.normalise.columns import FAILED, by_distinct, error_at, money_column, refused
from fupin.tasks.normalise.numbers import looks_numeric, parse_number, plain_factor, to_yuan
from fupin.tasks.normalise.values import parse_year
from fupin.tasks.parse.helpers import ParsedTable, empty_context

SUICHUAN, LIANHUA, YONGXIN, JINGGANGSHAN = "360827", "360321", "360830", "360881"


def normalised(header: list[str], rows: list[list[str]], file_name: str = "funds.csv"):
    table = ParsedTable(file_name, None, header, rows, list(range(4, 4 + len(rows))), empty_context())
    result = normalise_table(table, "36")
    assert result.error is None
    facts = [{k: v for k, v in r.items() if v is not None} for r in result.rows]
    return facts, [(r.row_number, r.field, r.value, r.reason, r.code) for r in result.rejections]


def test_by_distinct_calls_once_per_value_and_keeps_each_refusals_reason():
    calls = []

    def year(text):
        calls.append(text)
        return parse_year(text)

    found = by_distinct(["2017", "2017年", "x", "2017", None, "x"], year)
    assert found == [2017, 2017, FAILED, 2017, None, FAILED]
    assert calls == ["2017", "2017年", "x", None]
    assert [refused(v) for v in found] == [False, False, True, False, False, True]
    assert error_at(found, 2).code == "not_a_year" and "「x」" in str(error_at(found, 2))


def test_a_money_column_settles_plain_numbers_and_keeps_the_reason_of_each_cell_it_refuses():
    cells = ["1,234.5", "abc", "12,34", "3万元", None, "0.005"]
    parsed = money_column(cells, plain_factor("元", None), lambda v: to_yuan(v, "元", None))
    assert parsed.values.to_pylist() == [Decimal("1234.50"), None, None, Decimal("30000.00"), None, Decimal("0.00")]
    assert parsed.refused.tolist() == [False, True, True, False, False, False]
    assert {i: e.code for i, e in parsed.errors.items()} == {1: "not_a_number", 2: "number_bad_grouping"}


def test_numbers_are_one_grammar_for_the_parser_and_the_normaliser():
    for cell in ["1,234.5", "-5", "３.１７％", "12人", "1e3", ".5", "1,234万元"]:
        assert looks_numeric(cell), cell
        assert parse_number(cell)[0] is not None, cell
    for cell in ["1,23", "abc", "1.2.3", "5-", "合计"]:
        assert not looks_numeric(cell), cell


def test_a_rows_rejection_is_its_first_refused_cell_and_the_good_rows_load():
    facts, rejections = normalised(
        ["县名", "年度", "资金类别", "资金级别", "金额（万元）"],
        [
            ["遂川县", "2017", "民政事业费", "中央", "1,234.5"],
            ["遂川县X", "二〇一七", "民政事业费", "中央", "abc"],  # the county before the year and the amount
            ["莲花县", "2017", "民政事业费", "中央", "12,34"],
            ["莲花县", "2017", "民政费", "天上", "5"],  # the fund type before the level
            ["莲花县", "2017", "民政事业费", "天上", "5"],
            ["莲花县", "2017", "民政事业费", "中央", ""],  # no amount: no fact, no rejection
            ["莲花县", "2017", "民政事业费", "中央", "３亿元"],
            ["合计", "", "", "", "99"],
        ],
    )
    fund = {"year": 2017, "fund_type": "civil_affairs", "fund_level": "central"}
    assert facts == [
        # _unit: the unit each amount was written in, the cell's own (３亿元) before the header's (万元)
        {"_row": 4, "county_code": SUICHUAN, **fund, "amount_yuan": Decimal("12345000.00"), "_unit": "万元"},
        {"_row": 10, "county_code": LIANHUA, **fund, "amount_yuan": Decimal("300000000.00"), "_unit": "亿元"},
    ]
    assert rejections == [
        (
            5,
            "county",
            "遂川县X",
            "“县名”：「遂川县X」不是现行或曾用的县名、县代码：请核对县名（如 遂川县）或填写 6 位县代码",
            "county_unknown",
        ),
        (
            6,
            "amount_yuan",
            "12,34",
            "“金额（万元）”应为数字，填写的是「12,34」：千位分隔符须每三位一组（如 1,234,567），或不用分隔符",
            "number_bad_grouping",
        ),
        (
            7,
            "fund_type",
            "民政费",
            "“资金类别”填写的「民政费」不是可接受的值：请填写 民政事业费、彩票公益金、中央预算内投资 之一",
            "unknown_fund_type",
        ),
        (
            8,
            "fund_level",
            "天上",
            "“资金级别”填写的「天上」不是可接受的资金级次：请填写 中央、省级、市级 或 县级",
            "unknown_fund_level",
        ),
    ]


def test_a_wide_rows_amounts_come_before_its_total_and_a_wrong_total_names_its_parts():
    facts, rejections = normalised(
        ["县名", "民政事业费/中央补助（万元）", "民政事业费/省级补助（万元）", "民政事业费/合计（万元）"],
        [
            ["遂川县", "200", "100", "300"],
            ["莲花县", "200", "100", "999"],
            ["永新县", "2x", "100", "999"],
            ["安福县", "", "", "abc"],
            ["井冈山市", "1", "", "1"],
        ],
        "2017年资金.csv",
    )
    fund = {"year": 2017, "fund_type": "civil_affairs", "_unit": "万元"}
    assert facts == [
        {"_row": 4, "county_code": SUICHUAN, **fund, "fund_level": "central", "amount_yuan": Decimal("2000000.00")},
        {"_row": 4, "county_code": SUICHUAN, **fund, "fund_level": "provincial", "amount_yuan": Decimal("1000000.00")},
        {"_row": 8, "county_code": JINGGANGSHAN, **fund, "fund_level": "central", "amount_yuan": Decimal("10000.00")},
    ]
    assert [(row, field, value, code) for row, field, value, _, code in rejections] == [
        (5, "civil_affairs/total", "999", "row_total_mismatch"),
        (6, "civil_affairs/central", "2x", "not_a_number"),
        (7, "civil_affairs/total", "abc", "not_a_number"),
    ]
    assert rejections[0][3] == (
        "“民政事业费/合计（万元）”为 999万元，"
        "但“民政事业费/中央补助（万元）”、“民政事业费/省级补助（万元）”相加为 300万元："
        "合计应等于各列之和，这一行未读取；请核对后重新报送这一行"
    )
    assert rejections[1][3] == (
        "“民政事业费/中央补助（万元）”应为数字，填写的是「2x」：请只填写数字（如 1234.56），单位写在表头"
    )


def test_a_withdrawn_row_carries_its_key_and_its_other_cells_are_not_read():
    facts, rejections = normalised(
        ["县名", "年度", "农业户籍人口", "未脱贫人口", "状态"],
        [
            ["遂川县", "2017", "", "", "撤销"],
            ["莲花县", "2017", "1000", "10", ""],
            ["永新县", "2017", "x", "10", "撤销"],
        ],
    )
    assert facts == [
        {"_row": 4, "county_code": SUICHUAN, "year": 2017, "row_action": "withdraw"},
        {"_row": 5, "county_code": LIANHUA, "year": 2017, "rural_population": 1000, "poor_population": 10},
        {"_row": 6, "county_code": YONGXIN, "year": 2017, "row_action": "withdraw"},
    ]
    assert rejections == []
    facts, rejections = normalised(
        ["年度", "县代码", "县名", "资金类别", "资金级别", "金额（元）", "状态"],
        [
            ["2017", "360827", "遂川县", "民政事业费", "中央", "", "作废"],
            ["2017", "360827", "遂川县", "民政事业费", "天上", "", "撤销"],
            ["2017", "360827", "遂川县", "民政事业费", "中央", "5", "正常"],
        ],
    )
    withdrawn = {"year": 2017, "fund_type": "civil_affairs", "fund_level": "central", "row_action": "withdraw"}
    assert facts == [{"_row": 4, "county_code": SUICHUAN, **withdrawn}]
    assert [(row, field, value, code) for row, field, value, _, code in rejections] == [
        (5, "fund_level", "天上", "unknown_fund_level"),
        (6, "row_action", "正常", "unknown_row_action"),
    ]
    assert rejections[1][3] == "“状态”填写的「正常」不是可接受的值：请填写 撤销 之一"
