"""Every form a province really sends, end to end through parse → normalise → validate → lake.

Fixtures live in tests/fixtures/forms (written by make_form_fixtures.py) and tests/fixtures/parse;
each test states what a user would see: canonical rows in yuan with current county codes, the
rejections with the row numbers the clerk sees, and the submission's status and message.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from fupin.tasks.records import Outcome
from tests.helpers import FIXTURES, process, rows_of

FORMS = FIXTURES / "forms"
PARSE = FIXTURES / "parse"


def rejections_of(o: Outcome) -> list[tuple]:
    return [(r.row_number, r.field, r.value) for r in o.rejections]


POVERTY = [
    # row, county code (current), year, rural, poor, lifted, incidence as a fraction
    ("360827", 2017, 536326, 17002, 68386, 0.0317),  # 遂川县: current name, "536,326"
    ("360704", 2017, 498120, 15234, 40210, 0.0306),  # 赣县: old name, year '2017年'
    ("360703", 2017, 724018, 18021, 52030, 0.0249),  # 南康市 360782: old name and code, '2017-12-31'
    ("360724", 2017, 254012, 8012, 23001, 0.0315),  # 上犹 360724.0: stem, code as a float, full-width digits
]
POVERTY_KEYS = ("county_code", "year", "rural_population", "poor_population", "lifted_population", "declared_incidence")


@pytest.mark.parametrize(
    ("name", "first_row"),
    [
        pytest.param("poverty_utf8_comma.csv", 2, id="utf8-comma"),
        pytest.param("poverty_utf8bom_semicolon.csv", 2, id="utf8-bom-semicolon"),
        pytest.param("poverty_gbk_tab.csv", 2, id="gbk-tab-named-csv"),
        pytest.param("poverty_gb18030_titled.csv", 4, id="gb18030-title-and-unit-rows"),
    ],
)
def test_csv_in_any_encoding_and_delimiter_gives_the_same_rows(tmp_path, name, first_row):
    outcome, datasets = process(FORMS / name, tmp_path)
    assert outcome.status == "loaded" and outcome.dataset == "poverty_status"
    assert rows_of(datasets, "poverty_status", *POVERTY_KEYS) == POVERTY
    assert [r["_row"] for r in datasets["poverty_status"]] == list(range(first_row, first_row + 4))
    assert outcome.rows_loaded == 4 and outcome.rejections == []


def test_quoted_csv_fields_cell_units_and_row_numbers_after_a_multiline_record(tmp_path):
    outcome, datasets = process(FORMS / "projects_quoted.csv", tmp_path)
    rows = rows_of(datasets, "social_org_project", "_row", "project", "county_code", "amount_yuan", "beneficiaries")
    assert rows == [
        (2, "助学,助老\n（第二期）", "360827", Decimal("12345000.00"), 1200),  # "1,234.5万元"
        (4, "乡村幼儿园", "360321", Decimal("300.00"), None),  # "300元", "—"
        (6, "爱心包裹", "360881", Decimal("120000.00"), None),  # "１２万元", "无"
    ]
    # the record on physical line 5 (after the two-line record) is Hunan's county
    assert rejections_of(outcome) == [(5, "county", "浏阳市")]
    assert outcome.rejections[0].code == "county_other_province"
    assert outcome.rejections[0].reason.startswith("“县名”：「浏阳市」是湖南省的浏阳市（430181）")
    assert outcome.status == "partially_loaded"
    assert "[money_unit_assumed]" not in (outcome.message or "")  # every amount carried its own unit


FUNDS_2017 = [
    (7, "360827", "civil_affairs", "central", Decimal("123456000.00")),
    (7, "360827", "civil_affairs", "provincial", Decimal("12000000.00")),
    (7, "360827", "lottery_welfare", "central", Decimal("3005000.00")),
    (7, "360827", "central_budget_investment", "central", Decimal("1200000.00")),
    (8, "360321", "civil_affairs", "central", Decimal("22000000.00")),
    (8, "360321", "civil_affairs", "provincial", Decimal("3000000.00")),
    (8, "360321", "lottery_welfare", "central", Decimal("1000000.00")),
    (8, "360321", "lottery_welfare", "provincial", Decimal("500000.00")),
    (8, "360321", "central_budget_investment", "central", Decimal("1000000.00")),
]
FUND_KEYS = ("_row", "county_code", "fund_type", "fund_level", "amount_yuan")


def test_statistical_form_xlsx_in_wan_yuan(tmp_path):
    """Title, 填报单位/单位：万元 row, merged two-row header, column numbers, 合计 first, footer."""
    outcome, datasets = process(PARSE / "funds_form.xlsx", tmp_path)
    assert rows_of(datasets, "fund_allocation", *FUND_KEYS) == FUNDS_2017
    assert {r["year"] for r in datasets["fund_allocation"]} == {2017}  # from the title
    assert outcome.status == "loaded" and outcome.message is None  # the 合计 row agrees with the rows


def test_total_row_that_disagrees_is_in_the_message_with_both_figures(tmp_path):
    outcome, datasets = process(FORMS / "funds_total_mismatch.xlsx", tmp_path)
    assert rows_of(datasets, "fund_allocation", *FUND_KEYS) == FUNDS_2017
    assert outcome.status == "loaded"
    assert "合计行（第 6 行）“民政事业费/中央”为 15545.6，但各行相加为 14545.6" in outcome.message
    assert outcome.message.endswith("[declared_total_mismatch]")


def test_three_header_rows_with_unit_on_top_and_numbers_typed_as_text(tmp_path):
    outcome, datasets = process(FORMS / "funds_three_header_rows.xlsx", tmp_path)
    assert rows_of(
        datasets, "fund_allocation", "_row", "county_code", "year", "fund_type", "fund_level", "amount_yuan"
    ) == [
        (6, "360827", 2016, "civil_affairs", "central", Decimal("10005000.00")),  # "1,000.5"
        (6, "360827", 2016, "civil_affairs", "provincial", Decimal("2000000.00")),  # "２００"
        (7, "360321", 2016, "civil_affairs", "central", Decimal("8000000.00")),
        (7, "360321", 2016, "civil_affairs", "provincial", Decimal("1000000.00")),
        (7, "360321", 2016, "lottery_welfare", "central", Decimal("500000.00")),  # '-', '/', '无' are none
    ]
    assert outcome.status == "loaded" and outcome.message is None


def test_legacy_xls_workbook(tmp_path):
    """A BIFF8 .xls (Excel 2003 / WPS): merges, unit row, code as a number, old county name."""
    outcome, datasets = process(FORMS / "funds_legacy.xls", tmp_path)
    rows = rows_of(datasets, "fund_allocation", "_row", "county_code", "fund_type", "fund_level", "amount_yuan")
    assert rows[:4] == [
        (5, "360827", "civil_affairs", "central", Decimal("123456000.00")),
        (5, "360827", "civil_affairs", "provincial", Decimal("12000000.00")),
        (5, "360827", "lottery_welfare", "central", Decimal("3005000.00")),
        (5, "360827", "central_budget_investment", "central", Decimal("1200000.00")),
    ]
    assert (6, "360703", "civil_affairs", "central", Decimal("22000000.00")) in rows  # 南康市 360782.0, "2,200"
    assert outcome.status == "loaded" and outcome.message is None


def test_workbook_with_several_sheets(tmp_path):
    """Each sheet read as its dataset; notes and unrecognisable sheets skipped with a message."""
    outcome, datasets = process(FORMS / "poverty_training_sheets.xlsx", tmp_path)
    assert rows_of(datasets, "poverty_status", "_row", *POVERTY_KEYS) == [
        (3, "360827", 2017, 536326, 17002, 68386, 0.0317),  # 统计日期 is an Excel date; (%) header
        (4, "360321", 2017, 231690, 6580, 33065, 0.0284),  # "17002" typed as text, "33,065"
    ]
    assert rows_of(datasets, "training", "_row", "programme", "county_code", "trainees", "trainees_poor") == [
        (2, "养老护理员培训", "360827", 1003, 412)
    ]
    assert rejections_of(outcome) == [(3, "trainees_poor", "130")]
    assert outcome.dataset == "poverty_status,training" and outcome.status == "partially_loaded"
    assert "已跳过工作表「填表说明」：没有表格" in outcome.message
    assert (
        "已跳过 poverty_training_sheets.xlsx 工作表「联系人」：无法从表头识别是哪一种报表（读到的表头：“姓名”、“电话”）"
        in outcome.message
    )


def test_json_list_of_records_with_english_keys(tmp_path):
    outcome, datasets = process(FORMS / "training_list.json", tmp_path)
    assert rows_of(datasets, "training", "_row", "programme", "county_code", "year", "sessions", "trainees") == [
        (1, "养老护理员培训", "360827", 2017, 8, 1003),
        (2, "电商培训", "360704", 2017, 2, 120),  # county_code given as the number 360704
    ]
    assert rejections_of(outcome) == [(3, "trainees", "-5")]  # record 3
    assert outcome.rejections[0].code == "negative_count"
    assert outcome.rejections[0].reason.startswith("“trainees”不能为负数（填写的是 -5）")  # the key as sent


def test_json_object_with_metadata_and_data(tmp_path):
    """年度 and 单位：万元 stated once in the metadata apply to every record."""
    outcome, datasets = process(FORMS / "projects_object.json", tmp_path)
    assert rows_of(datasets, "social_org_project", "county_code", "year", "amount_yuan", "beneficiaries") == [
        ("360827", 2018, Decimal("54309000.00"), 1200),
        ("360703", 2018, Decimal("3000000.00"), None),  # 南康: an old name without its suffix
    ]
    assert outcome.status == "loaded"


def test_english_headers_and_an_unknown_column_reported_and_ignored(tmp_path):
    outcome, datasets = process(FORMS / "poverty_english_extra_column.csv", tmp_path)
    assert rows_of(datasets, "poverty_status", *POVERTY_KEYS) == [
        ("360827", 2016, 530000, 26500, 50000, 0.05),  # 'Incidence (%)' holds 5 → 0.05
        ("360321", 2016, 231000, 9240, 30000, 0.04),  # a code in the county column
    ]
    assert outcome.status == "loaded"
    assert outcome.message == "poverty_english_extra_column.csv：未识别的列已忽略：“Contact” [columns_ignored]"


def test_missing_required_columns_reject_the_file_naming_them(tmp_path):
    outcome, _ = process(FORMS / "poverty_missing_columns.csv", tmp_path)
    assert outcome.status == "rejected" and outcome.rows_loaded == 0
    assert outcome.message.startswith("poverty_missing_columns.csv：像是“贫困人口”报表，但缺少必填列“未脱贫人口”")
    assert outcome.message.endswith("[missing_required_column]") and "\n" not in outcome.message
    assert [(r.row_number, r.field, r.reason) for r in outcome.rejections] == [
        (None, "poor_population", outcome.message)
    ]


BAD_ROWS = [  # row, field, value, code, the reason's start: the clerk's own header, then the rule
    (3, "poor_population", "-6580", "negative_count", "“未脱贫人口”不能为负数（填写的是 -6580）"),
    (4, "incidence", "1.3", "out_of_range", "“贫困发生率”须在 0% 到 100% 之间（读作 130.00%）"),
    (5, "poor_population", "600000", "exceeds_limit", "“未脱贫人口”（600000）不能大于“农业户籍人口”（500000）"),
    (6, "county_code", "360827", "duplicate_row", "“县代码”这一行与第 2 行重复"),
    (7, "rural_population", "12a", "not_a_number", "“农业户籍人口”应为数字，填写的是「12a」"),
    (
        8,
        "county",
        "浏阳市",
        "county_other_province",
        "“县名”：「浏阳市」是湖南省的浏阳市（430181），不属于报送省份江西省",
    ),
    (9, "county", "火星县", "county_unknown", "“县名”：「火星县」不是现行或曾用的县名、县代码"),
    (10, "county", None, "county_empty", "“县名”为空：请填写县名或县代码"),
    (11, "year", None, "year_missing", "“年份”为空"),
]


def test_each_bad_row_is_rejected_alone_with_its_row_field_value_and_reason(tmp_path):
    outcome, datasets = process(FORMS / "poverty_bad_rows.csv", tmp_path)
    assert [r["_row"] for r in datasets["poverty_status"]] == [2, 12]
    assert [(r.row_number, r.field, r.value) for r in outcome.rejections] == [b[:3] for b in BAD_ROWS]
    for rejection, (_, _, _, code, reason) in zip(outcome.rejections, BAD_ROWS, strict=True):
        assert rejection.code == code and rejection.reason.startswith(reason)
    assert (outcome.status, outcome.rows_total, outcome.rows_loaded, outcome.rows_rejected) == (
        "partially_loaded",
        11,
        2,
        9,
    )
    assert outcome.message == "9 行被退回：请按回执更正后重新报送 [rows_rejected]"  # no warning for a rejected row


@pytest.mark.parametrize(
    ("folder", "name", "code"),
    [
        pytest.param(PARSE, "empty.csv", "empty_file", id="empty-csv"),
        pytest.param(PARSE, "empty.xlsx", "empty_file", id="empty-xlsx"),
        pytest.param(PARSE, "truncated.xlsx", "workbook_corrupt", id="truncated-xlsx"),
        pytest.param(PARSE, "not_a_zip.xlsx", "not_a_workbook", id="corrupt-xlsx"),
        pytest.param(PARSE, "encrypted.xlsx", "workbook_encrypted", id="password-protected"),
        pytest.param(PARSE, "binary.csv", "binary_in_csv", id="binary-named-csv"),
        pytest.param(FORMS, "unrecognisable.csv", "dataset_unrecognised", id="unrecognisable-dataset"),
        pytest.param(PARSE, "broken.json", "json_invalid", id="broken-json"),
    ],
)
def test_unreadable_file_is_rejected_with_one_line(tmp_path, folder, name, code):
    outcome, _ = process(folder / name, tmp_path)
    assert outcome.status == "rejected"
    assert outcome.message.startswith(f"{name}：") and outcome.message.endswith(f"[{code}]")
    assert "\n" not in outcome.message
    assert [(r.row_number, r.reason) for r in outcome.rejections] == [(None, outcome.message)]
