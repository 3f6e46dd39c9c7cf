"""The CSV reader's column path (Arrow) against its grid path (the csv module): the same table, row for row."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fupin.tasks.parse import read_tables
from fupin.tasks.parse.csv_files import read_columns, read_grid
from fupin.tasks.parse.helpers import HEAD_ROWS, ArrowRows, table_from_columns, table_from_grid
from fupin.tasks.staging import cells_table

HEADER = "年度,县（市、区）,行政区划代码,落地资金（万元）,受益人数"


def data_rows(n: int, start: int = 0) -> list[str]:
    return [f"{2016 + i % 3},遂川县,360827,{i * 1.5:.1f},{i % 90}" for i in range(start, start + n)]


def both(text: str):
    """(column path, grid path) of a text; the column path must apply."""
    arrays = read_columns(text, ",")
    assert arrays is not None, "the column path refused the text"
    fast = table_from_columns(arrays, list(range(1, len(arrays[0]) + 1)))
    assert fast is not None, "the column path found no header in the first rows"
    assert isinstance(fast.rows, ArrowRows)
    slow = table_from_grid(*read_grid(text, ","))
    return fast, slow


def assert_same(fast, slow) -> None:
    assert fast.header == slow.header
    assert list(fast.rows) == slow.rows
    assert fast.row_numbers == slow.row_numbers
    assert fast.context == slow.context


FORMS = {
    "plain": "\n".join([HEADER, *data_rows(200)]) + "\n",
    "crlf-no-final-newline": "\r\n".join([HEADER, *data_rows(200)]),
    "title-unit-row-padded": "\n".join(
        ["2017年社会组织扶贫项目表,,,,", "填报单位（盖章）：江西省民政厅  单位：万元,,,,", HEADER, *data_rows(150)]
    ),
    "two-header-rows-and-column-numbers": "\n".join(
        ["年度,地区,,资金,人数", ",县（市、区）,行政区划代码,落地资金（万元）,", "1,2,3,4,5", *data_rows(120)]
    ),
    "blank-rows-total-and-footer": "\n".join(
        [
            HEADER,
            *data_rows(70),
            ",,,,",
            *data_rows(30, 70),
            "合计,,,999.5,45",
            "合 计,,,1.0,1",  # a second total row is a total too, as on the grid path
            *data_rows(10, 100),
            "填表人：张三,,,,",
            *data_rows(5, 110),
        ]
    ),
    "empty-lines": "\n".join([HEADER, *data_rows(70), "", *data_rows(30), "", ""]) + "\n",
    "note-footer": "\n".join([HEADER, *data_rows(80), "注：金额为落地资金,,,,", *data_rows(3)]),
    "quotes-spaces-and-fullwidth-space": "\n".join(
        [
            HEADER,
            *data_rows(70),
            '2017,"  遂川县 ","360827","1,234.5","　12　"',
            '2017,"饮水""安全""工程",360827,  ,',
            "2017, 合江县 ,510522,3.0,4",  # 合 in a county's name: a data row all the same
            *data_rows(5),
        ]
    ),
    "an-empty-column-dropped": "\n".join(["年度,,县名,金额", *[f"2017,,遂川县,{i}" for i in range(100)]]),
}


@pytest.mark.parametrize("text", list(FORMS.values()), ids=list(FORMS))
def test_column_path_reads_what_the_grid_path_reads(text):
    assert_same(*both(text))


def test_declared_total_and_footer_are_found_on_the_column_path():
    fast, _ = both(FORMS["blank-rows-total-and-footer"])
    assert fast.context["declared_total"] == {"年度": "合计", "落地资金（万元）": "999.5", "受益人数": "45"}
    assert fast.context["declared_total_row"] == 103
    assert fast.row_numbers[-1] == 114 and len(fast.rows) == 110  # the footer ends the table
    assert ["合 计", None, None, "1.0", "1"] not in list(fast.rows)
    assert [(s["kind"], s["row"], s["before"]) for s in fast.context["summary_rows"]] == [
        ("total", 103, 100),
        ("total", 104, 100),
    ]


def test_cells_keep_what_the_csv_module_reads():
    fast, _ = both(FORMS["quotes-spaces-and-fullwidth-space"])
    rows = list(fast.rows)
    assert rows[70] == ["2017", "遂川县", "360827", "1,234.5", "12"]
    assert rows[71] == ["2017", '饮水"安全"工程', "360827", None, None]
    assert rows[72][1] == "合江县"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("\n".join([HEADER, *data_rows(100), "2017,遂川县"]), id="ragged-row"),
        pytest.param("\n".join([HEADER, '2017,"遂川\n县",360827,1,2', *data_rows(100)]), id="quoted-line-break"),
        pytest.param("\n".join([HEADER, *data_rows(100)]).replace("\n", "\r", 1), id="lone-carriage-return"),
    ],
)
def test_texts_the_column_path_leaves_to_the_grid_path(text):
    assert read_columns(text, ",") is None


def test_header_below_the_first_rows_goes_the_grid_way():
    text = "\n".join([*["说明文字"] * HEAD_ROWS, HEADER, *data_rows(100)])
    arrays = read_columns(text, ",")
    assert arrays is None or table_from_columns(arrays, list(range(1, len(arrays[0]) + 1))) is None


def test_big_csv_read_and_staged_as_columns(tmp_path):
    path = tmp_path / "项目.csv"
    path.write_bytes(("\n".join([HEADER, *data_rows(1000), "合计,,,10.0,5"]) + "\n").encode("gb18030"))
    (table,) = read_tables(path)
    assert table.context["encoding"] == "gb18030"
    assert table.rows[999] == ["2016", "遂川县", "360827", "1498.5", "9"]
    assert table.row_numbers[:2] == [2, 3] and table.context["declared_total_row"] == 1002
    staged = cells_table(table)
    assert staged.column_names == ["c0", "c1", "c2", "c3", "c4", "row_number"]
    assert staged["c3"].to_pylist()[-1] == "1498.5" and staged["row_number"].to_pylist()[-1] == 1001


CELL = st.one_of(
    st.none(),
    st.sampled_from(["合计", "总计", "合 计", "注：说明", "填表人：某", "负责人", "　", " x ", "2017", '"', "a,b"]),
    st.text(alphabet='合计总注说明备：: 　\t人县1,."', max_size=6),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(CELL, min_size=4, max_size=4), min_size=HEAD_ROWS + 1, max_size=HEAD_ROWS + 40))
def test_any_rows_read_alike_on_both_paths(rows):
    def quoted(cell):
        if cell is None:
            return ""
        return '"' + cell.replace('"', '""') + '"' if any(c in cell for c in ',"\n\r') else cell

    text = "\n".join(["县名,年度,金额,人数", *(",".join(map(quoted, row)) for row in rows)])
    arrays = read_columns(text, ",")
    if arrays is None:
        return
    fast = table_from_columns(arrays, list(range(1, len(arrays[0]) + 1)))
    if fast is None:
        return
    assert_same(fast, table_from_grid(*read_grid(text, ",")))
