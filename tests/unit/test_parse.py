"""The parser on committed fixtures (tests/fixtures/parse) and its pure helpers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fupin.tasks.parse import ParsedTable, ParseError, read_tables
from fupin.tasks.parse.helpers import (
    NoHeaderError,
    decode_text,
    detect_delimiter,
    format_float,
    looks_numeric,
    read_form_context,
    table_from_grid,
)
from tests.helpers import FIXTURES

PARSE = FIXTURES / "parse"
POVERTY_HEADER = [
    "县名",
    "县代码",
    "年份",
    "农业户籍人口",
    "未脱贫人口",
    "已脱贫人口",
    "贫困发生率",
]


def only_table(name: str) -> ParsedTable:
    tables = read_tables(PARSE / name)
    assert len(tables) == 1, [t.sheet for t in tables]
    return tables[0]


# --- CSV ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "encoding", "first_row"),
    [
        pytest.param("poverty_utf8.csv", "utf-8", 2, id="utf8"),
        pytest.param("poverty_utf8_bom.csv", "utf-8-sig", 2, id="utf8-bom"),
        pytest.param("poverty_gbk.csv", "gb18030", 4, id="gbk-form-with-title-and-unit-row"),
    ],
)
def test_csv_encodings_read_the_same_table(name, encoding, first_row):
    table = only_table(name)
    assert table.header == POVERTY_HEADER
    assert table.rows[0] == ["遂川县", "360827", "2017", "536326", "17002", "68386", "3.17%"]
    assert table.row_numbers == [first_row, first_row + 1]
    assert table.context["encoding"] == encoding
    assert table.context["delimiter"] == ","
    assert table.sheet is None and table.file_name == name


def test_gbk_form_context_total_and_footer():
    table = only_table("poverty_gbk.csv")
    assert table.context["title"] == "2017年贫困人口情况统计表"
    assert table.context["unit"] == "人、%"
    assert table.context["reporting_unit"] == "江西省民政厅"
    assert table.context["declared_total"] == {
        "县名": "合计",
        "农业户籍人口": "768016",
        "未脱贫人口": "23582",
        "已脱贫人口": "101451",
    }
    assert table.context["declared_total_row"] == 6
    assert [r[0] for r in table.rows] == ["遂川县", "莲花县"]  # 填表人 footer dropped


def test_gb18030_only_characters_and_codes_stay_text():
    table = only_table("registry_gb18030.csv")
    assert table.context["encoding"] == "gb18030"
    assert [r[1] for r in table.rows] == ["𠮷祥", "䶮明"]
    assert [r[0] for r in table.rows] == ["3608270001", "0036082702"]


@pytest.mark.parametrize(
    ("name", "delimiter", "trainees"),
    [
        pytest.param("training_tab.tsv", "\t", "1,003", id="tab"),
        pytest.param("training_semicolon.csv", ";", "1003", id="semicolon"),
    ],
)
def test_csv_delimiters(name, delimiter, trainees):
    table = only_table(name)
    assert table.context["delimiter"] == delimiter
    assert table.header == ["项目", "县名", "期数", "培训人数"]
    assert table.rows == [["养老护理员培训", "遂川县", "8", trainees]]


def test_quoted_fields_with_comma_and_newline_keep_physical_row_numbers():
    table = only_table("projects_quoted.csv")
    assert table.rows[0][1] == "助学,助老\n（第二期）"
    assert table.rows[0][3] == "1,200.5"
    assert table.rows[2][1] == '饮水"安全"工程'
    assert table.row_numbers == [2, 4, 5]


def test_file_name_overrides_the_content_addressed_name(tmp_path):
    stored = tmp_path / "ab12ef.csv"
    stored.write_bytes((PARSE / "poverty_utf8.csv").read_bytes())
    (table,) = read_tables(stored, file_name="/inbox/江西_贫困人口_2017.csv")
    assert table.file_name == "江西_贫困人口_2017.csv"


# --- XLSX --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def form() -> ParsedTable:
    return only_table("funds_form.xlsx")


def test_form_header_flattens_merged_two_row_header(form):
    assert form.sheet == "资金下达"
    assert form.header == [
        "序号",
        "县（市、区）",
        "县代码",
        "民政事业费/中央",
        "民政事业费/省级",
        "彩票公益金/中央",
        "彩票公益金/省级",
        "中央预算内投资",
    ]


def test_form_context(form):
    assert form.context["title"] == "2017年罗霄山片区民政资金下达情况统计表"
    assert form.context["unit"] == "万元"
    assert form.context["reporting_unit"] == "江西省民政厅"


def test_form_total_row_is_kept_apart(form):
    total = form.context["declared_total"]
    assert total["民政事业费/中央"] == "14545.6"
    assert total["中央预算内投资"] == "220"
    assert form.context["declared_total_row"] == 6
    assert all("合" not in (row[0] or "") for row in form.rows)


def test_form_data_rows_with_excel_row_numbers(form):
    assert form.row_numbers == [7, 8, 9]  # column numbers (5), 合计 (6), footer (11+) dropped
    assert form.rows[0] == ["1", "遂川县", "360827", "12345.6", "1200", "300.5", "—", "120"]
    assert form.rows[2] == ["3", "井冈山市", "360881", None, None, None, None, None]


def test_two_sheet_workbook_text_numbers_dates_and_float_noise():
    tables = read_tables(PARSE / "two_sheets.xlsx")
    assert [t.sheet for t in tables] == ["贫困人口", "社会组织"]  # the blank third sheet is skipped
    poverty, projects = tables
    assert poverty.rows[0] == ["遂川县", "360827", "2017-12-31", "17002", "3.17", "0012"]
    assert poverty.rows[1][2] == "2017-12-31"
    assert poverty.rows[1][3] == "6580"  # a number stored as text stays as typed
    assert projects.rows == [["中国社会福利基金会", "助学", "遂川县", "12345.6"]]
    assert projects.header[-1] == "落地资金（万元）"


# --- JSON --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "metadata"),
    [
        pytest.param("projects_list.json", {}, id="list"),
        pytest.param(
            "projects_object.json",
            {"省份": "江西", "年度": 2018, "单位": "万元"},
            id="object-with-data",
        ),
    ],
)
def test_json_records(name, metadata):
    table = only_table(name)
    assert table.header == ["组织名称", "县名", "落地资金", "受益人数", "项目名称"]
    assert table.rows == [
        ["中国社会福利基金会", "遂川县", "5430.9", "1200", None],
        ["中华慈善总会", "莲花县", "300", None, "乡村幼儿园"],
    ]
    assert table.row_numbers == [1, 2]
    assert table.context["metadata"] == metadata


# --- refused files -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code", "reason"),
    [
        pytest.param("empty.csv", "empty_file", "文件是空的", id="empty-csv"),
        pytest.param("empty.xlsx", "empty_file", "文件是空的", id="empty-xlsx"),
        pytest.param("binary.csv", "binary_in_csv", "CSV 文件中有二进制内容", id="binary-csv"),
        pytest.param("truncated.xlsx", "workbook_corrupt", "不完整或已损坏", id="truncated-xlsx"),
        pytest.param("not_a_zip.xlsx", "not_a_workbook", "不是有效的 Excel（XLSX）文件", id="text-named-xlsx"),
        pytest.param("encrypted.xlsx", "workbook_encrypted", "工作簿设有打开密码", id="encrypted-xlsx"),
        pytest.param("data_first.csv", "no_header_row", "找不到表头行", id="csv-without-header"),
        pytest.param("nested.json", "json_nested_value", "第 2 条记录的“落地资金”的值是嵌套的结构", id="nested-json"),
        pytest.param("broken.json", "json_invalid", "不是有效的 JSON", id="broken-json"),
    ],
)
def test_parse_errors_name_the_file_and_the_reason(name, code, reason):
    with pytest.raises(ParseError) as caught:
        read_tables(PARSE / name)
    message = str(caught.value)
    assert message.startswith(f"{name}：")
    assert reason in message and message.endswith(f"[{code}]")
    assert "\n" not in message


def test_unsupported_extension(tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF-1.4")
    with pytest.raises(ParseError, match=r"不支持的文件类型（\.pdf）.*\[unsupported_file_type\]"):
        read_tables(path)


# --- pure helpers ------------------------------------------------------------------------------


def test_header_without_merges_forward_fills_parents_over_children():
    grid = [
        ["县名", "民政事业费", None, "彩票公益金", None, "备注"],
        [None, "中央", "省级", "中央", "省级", None],
        ["遂川县", "1", "2", "3", "4", None],
    ]
    table = table_from_grid(grid, [1, 2, 3])
    assert table.header == [
        "县名",
        "民政事业费/中央",
        "民政事业费/省级",
        "彩票公益金/中央",
        "彩票公益金/省级",
        "备注",
    ]
    assert table.row_numbers == [3]


def test_unit_only_second_header_row_joins_its_label():
    table = table_from_grid([["县名", "金额"], [None, "（万元）"], ["遂川县", "5"]], [1, 2, 3])
    assert table.header == ["县名", "金额（万元）"]


@pytest.mark.parametrize(
    "numbers",
    [
        pytest.param(["1", "2", "3"], id="digits"),
        pytest.param(["(1)", "(2)", "(3)"], id="parenthesised"),
        pytest.param(["甲", "1", "2"], id="letter-then-digits"),
    ],
)
def test_column_number_row_is_dropped(numbers):
    table = table_from_grid([["县名", "人口", "户数"], numbers, ["遂川县", "5", "2"]], [1, 2, 3])
    assert table.rows == [["遂川县", "5", "2"]]


def test_year_labels_make_a_header():
    table = table_from_grid([["县名", "2015", "2016"], ["遂川县", "1", "2"]], [1, 2])
    assert table.header == ["县名", "2015", "2016"]


def test_total_at_the_end_and_note_footer():
    grid = [
        ["县名", "人口"],
        ["遂川县", "5"],
        ["总 计", "5"],
        ["注：不含外出务工人员"],
        ["遂川县", "9"],
    ]
    table = table_from_grid(grid, [1, 2, 3, 4, 5])
    assert table.rows == [["遂川县", "5"]]
    assert table.context["declared_total"] == {"县名": "总 计", "人口": "5"}


@pytest.mark.parametrize(
    ("texts", "unit", "reporting_unit"),
    [
        pytest.param(
            ["填报单位（盖章）：江西省民政厅          单位：万元"],
            "万元",
            "江西省民政厅",
            id="one-cell",
        ),
        pytest.param(["填报单位：", "湖南省民政厅", "单位:元"], "元", "湖南省民政厅", id="split-cells"),
        pytest.param(["金额单位：万元"], "万元", None, id="unit-only"),
        pytest.param(["填报单位（盖章）："], None, None, id="blank-reporting-unit"),
    ],
)
def test_form_context_row(texts, unit, reporting_unit):
    context: dict = {}
    read_form_context(texts, context)
    assert context.get("unit") == unit
    assert context.get("reporting_unit") == reporting_unit


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        pytest.param("县名".encode("utf-8-sig"), "utf-8-sig", id="bom"),
        pytest.param("县名".encode(), "utf-8", id="utf8"),
        pytest.param("遂川县".encode("gbk"), "gb18030", id="gbk"),
        pytest.param("县名\t人口".encode("utf-16"), "utf-16", id="utf16-excel-unicode-text"),
    ],
)
def test_decode_text(data, encoding):
    assert decode_text(data)[1] == encoding


@pytest.mark.parametrize(
    ("sample", "delimiter"),
    [
        pytest.param("a,b,c\n1,2,3\n", ",", id="comma"),
        pytest.param('a\tb\n1\t"2,5"\n', "\t", id="tab-with-quoted-comma"),
        pytest.param("a;b;c\n1;2,5;3\n", ";", id="semicolon-with-decimal-comma"),
        pytest.param("a|b\n1|2\n", "|", id="pipe"),
        pytest.param("单列\n1\n", ",", id="single-column-default"),
    ],
)
def test_detect_delimiter(sample, delimiter):
    assert detect_delimiter(sample) == delimiter


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (17.0, "17"),
        (12345.600000000002, "12345.6"),
        (0.1 + 0.2, "0.3"),
        (-0.0, "0"),
        (1.23e-05, "0.0000123"),
    ],
    ids=["integer", "noise", "sum-noise", "negative-zero", "small"],
)
def test_format_float(value, text):
    assert format_float(value) == text


@pytest.mark.parametrize(
    ("text", "numeric"),
    [
        pytest.param("1,234.5", True, id="separators"),
        pytest.param("３.１７％", True, id="fullwidth-percent"),
        pytest.param("12人", True, id="persons"),
        pytest.param("遂川县", False, id="county-name"),
        pytest.param("360827", True, id="division-code"),
        pytest.param("", False, id="empty"),
    ],
)
def test_looks_numeric(text, numeric):
    assert looks_numeric(text) is numeric


_cells = st.one_of(
    st.none(),
    st.sampled_from(["县名", "合计", "1", "2", "(1)", "单位：万元", "负责人：", "中央", "12.5", "注：略"]),
    st.text(min_size=1, max_size=4).map(str.strip).filter(bool),
)


@given(
    st.lists(st.lists(_cells, max_size=6), max_size=8),
    st.lists(st.tuples(*[st.integers(0, 7)] * 4), max_size=3),
)
def test_any_grid_gives_aligned_rows_or_no_header(grid, corners):
    merges = [(r0, c0, max(r0, r1), max(c0, c1)) for r0, c0, r1, c1 in corners]
    try:
        table = table_from_grid(grid, list(range(1, len(grid) + 1)), merges)
    except NoHeaderError as exc:
        assert "[no_header_row]" in str(exc)
        return
    assert len(table.rows) == len(table.row_numbers)
    assert all(len(row) == len(table.header) for row in table.rows)
    assert table.row_numbers == sorted(table.row_numbers)
