"""Never guess: two columns (or two JSON keys) that could be one field refuse the file whole, naming them and the fix;
a column plainly not this year's allocation (上年结转, 累计, 计划 …) is left unread, and the file says so.

Fixtures in tests/fixtures/wide (written by make_wide_fixtures.py), each a Jiangxi (36) submission.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from fupin.tasks.normalise import normalise_table
from fupin.tasks.normalise.helpers import map_header, vocabularies
from fupin.tasks.parse import read_tables
from fupin.tasks.parse.helpers import ParseError
from fupin.tasks.parse.json_files import read_json
from tests.helpers import FIXTURES, process, rows_of

WIDE = FIXTURES / "wide"


def test_last_years_carry_over_first_this_years_allocation_second_loads_this_years(tmp_path):
    outcome, datasets = process(WIDE / "funds_carried_over_first.csv", tmp_path)
    assert outcome.status == "loaded"
    assert rows_of(datasets, "fund_allocation", "county_code", "amount_yuan") == [
        ("360827", Decimal("1200000.00")),  # 本年下达资金 120万元, not the 35万元 carried over
        ("360321", Decimal("600000.00")),
    ]
    assert outcome.message == (
        "funds_carried_over_first.csv：“上年结转资金（万元）”为上年结转数，未作为本年金额读取 [column_not_this_year]"
    )
    read = {m["submitted_header"]: (m["column_name"], m["matched_by"]) for m in outcome.header_mapping}
    assert read["本年下达资金（万元）"] == ("amount", "words")
    assert read["上年结转资金（万元）"] == (None, "not_this_year")


@pytest.mark.parametrize(
    ("label", "what"),
    [
        ("累计下达资金", "累计数"),
        ("计划安排资金", "计划数"),
        ("预算安排资金", "预算数"),
        ("上年下达资金", "上年数"),
        ("去年金额", "上年数"),
        ("同比增减金额", "同比变化数"),
        ("结转资金", "结转数"),
    ],
)
def test_an_amount_plainly_not_this_years_is_never_the_amount(label, what):
    hmap = map_header(["县名", "年度", "资金类别", "资金级别", label, "金额"], vocabularies()["fund_allocation"])
    assert hmap.columns["amount"] == 5 and hmap.not_this_year == [(label, what)] and not hmap.conflicts


def test_a_fund_type_with_预算_in_its_name_is_no_budget():
    hmap = map_header(["县名", "年度", "中央预算内投资"], vocabularies()["fund_allocation"])
    assert [k.name for k in hmap.wide.values()] == ["central_budget_investment/central"] and not hmap.not_this_year


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "funds_two_amounts.csv",
            "funds_two_amounts.csv：有 2 列都可读作“金额”：“下达资金（万元）”、“落实资金（万元）”，无法确定应读哪一列，"
            "整个文件未读取；请把不该读的列改名（如写明“上年结转”“累计”）或删去后重新报送，或在 headers.yaml 中写明"
            "该读的列（如 fund_allocation: {amount: [落实资金（万元）]}） [ambiguous_columns]",
        ),
        (
            "funds_two_counties.csv",
            "funds_two_counties.csv：有 2 列都可读作“县（市、区）”：“县名”、“县（市、区）”，无法确定应读哪一列，"
            "整个文件未读取；请把不该读的列改名或删去后重新报送，或在 headers.yaml 中写明该读的列"
            "（如 fund_allocation: {county: [县（市、区）]}） [ambiguous_columns]",
        ),
        (
            "funds_two_years.csv",
            "funds_two_years.csv：有 2 列都可读作“年度”：“年度”、“年份”，无法确定应读哪一列，整个文件未读取；"
            "请把不该读的列改名或删去后重新报送，或在 headers.yaml 中写明该读的列（如 fund_allocation: {year: [年份]}）"
            " [ambiguous_columns]",
        ),
        (
            "projects_two_county_keys.json",
            "projects_two_county_keys.json：有 2 列都可读作“县（市、区）”：“县名”、“县（市、区）”，无法确定应读哪一列，"
            "整个文件未读取；请把不该读的列改名或删去后重新报送，或在 headers.yaml 中写明该读的列"
            "（如 social_org_project: {county: [县（市、区）]}） [ambiguous_columns]",
        ),
    ],
)
def test_two_columns_for_one_field_refuse_the_file_whole(tmp_path, name, message):
    outcome, datasets = process(WIDE / name, tmp_path)
    assert outcome.status == "rejected" and outcome.message == message
    assert not any(datasets.values())


def test_a_year_column_beside_years_in_the_headers_is_refused():
    hmap = map_header(["县名", "年度", "资金类别", "资金级别", "2016年", "2017年"], vocabularies()["fund_allocation"])
    assert hmap.conflicts == {"year": ["年度", "2016年", "2017年"]}


def test_two_wide_columns_with_one_key_are_refused():
    header = ["县名", "年度", "民政事业费/中央", "民政事业费/中央财政"]
    hmap = map_header(header, vocabularies()["fund_allocation"])
    assert hmap.conflicts == {"amount_yuan[civil_affairs/central]": ["民政事业费/中央", "民政事业费/中央财政"]}


def test_the_operator_says_which_column_and_the_file_loads(tmp_path):
    vocabs = vocabularies({"fund_allocation": {"amount_yuan": ["下达资金"]}})
    [table] = read_tables(WIDE / "funds_two_amounts.csv")
    result = normalise_table(table, "36", vocabs)
    assert result.error is None
    assert [r["amount_yuan"] for r in result.rows] == [Decimal("1200000.00")]
    assert "“落实资金（万元）” [columns_ignored]" in result.warnings[0]
    ignored = vocabularies({"fund_allocation": {"ignore": ["下达资金"]}})
    assert [r["amount_yuan"] for r in normalise_table(table, "36", ignored).rows] == [Decimal("1180000.00")]


@pytest.mark.parametrize(
    ("name", "where", "key"),
    [
        ("projects_repeated_year.json", "第 1 条记录", "年度"),
        ("projects_repeated_amount.json", "第 2 条记录", "落地资金"),
        ("projects_repeated_envelope.json", "外层（记录列表之外）", "年度"),
    ],
)
def test_json_with_a_key_written_twice_is_refused_whole(tmp_path, name, where, key):
    outcome, datasets = process(WIDE / name, tmp_path)
    assert outcome.status == "rejected" and not any(datasets.values())
    assert outcome.message == (
        f"{name}：{where}中“{key}”出现了 2 次，无法确定应读哪一个值，整个文件未读取：请每个字段只写一次后重新报送"
        " [json_duplicate_key]"
    )


def test_a_json_key_written_twice_with_spaces_inside_is_the_same_key():
    with pytest.raises(ParseError, match=r"第 1 条记录中“年度”出现了 2 次.*\[json_duplicate_key\]"):
        read_json('[{"县名": "遂川县", "年 度": 2017, "年度": 2018}]'.encode(), "x.json")
    # keys of another record, or of another object, are no repeat
    [table] = read_json('[{"县名": "遂川县", "年度": 2017}, {"县名": "莲花县", "年度": 2018}]'.encode(), "x.json")
    assert table.rows == [["遂川县", "2017"], ["莲花县", "2018"]]


@pytest.mark.parametrize(
    ("header", "field"),
    [
        (["县名", "年度", "资金类别", "民政事业费/中央", "民政事业费/省级"], "fund_type"),
        (["县名", "年度", "资金级别", "资金类别", "中央补助", "省级补助"], "fund_level"),
    ],
)
def test_a_type_or_level_column_beside_headers_that_name_theirs_is_refused(header, field):
    hmap = map_header(header, vocabularies()["fund_allocation"])
    assert list(hmap.conflicts) == [field]
