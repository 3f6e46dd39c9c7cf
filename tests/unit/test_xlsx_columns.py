"""The workbook reader's column path (Arrow columns) against its grid path (every cell by cell_text): the same table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from fupin.tasks.parse import SheetsRead, read_tables
from fupin.tasks.parse.helpers import HEAD_ROWS, ArrowRows, table_from_grid
from fupin.tasks.parse.xlsx_files import cell_text, column_text
from fupin.tasks.registry import is_registry_file

HEADER = ["年度", "县（市、区）", "行政区划代码", "落地资金（万元）", "受益人数", "备注"]


def data_rows(n: int, start: int = 0) -> list[list[object]]:
    """Rows with the cells clerks' workbooks hold: numbers as numbers or text, fractions, dates, blanks."""
    rows = []
    for i in range(start, start + n):
        amount: object = [f"{i * 1.5:,.1f}", i * 1.5, 12345.600000000002, f" {i} ", None][i % 5]
        note: object = [None, "饮水\r\n工程", dt.datetime(2017, 12, 31), True, "　全角空格　", 0.1 + 0.2][i % 6]
        rows.append([2016 + i % 3, "遂川县", "360827", amount, i % 90, note])
    return rows


def write_book(path: Path, rows: list[list[object]], merges=(), top: list[list[object]] = ()) -> Path:
    with xlsxwriter.Workbook(str(path)) as book:
        sheet = book.add_worksheet("表1")
        dates = book.add_format({"num_format": "yyyy-mm-dd"})
        covered = {(r, c) for r0, c0, r1, c1, _ in merges for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)}
        for r, row in enumerate([*top, *rows]):
            for c, value in enumerate(row):
                if value is None or (r, c) in covered:  # a merged range holds its value in its first cell only
                    continue
                if isinstance(value, dt.datetime):
                    sheet.write_datetime(r, c, value, dates)
                else:
                    sheet.write(r, c, value)
        for r0, c0, r1, c1, value in merges:
            sheet.merge_range(r0, c0, r1, c1, value)
    return path


def grid_path(path: Path):
    """The table as the grid path reads it: every cell by cell_text, then table_from_grid over the whole grid."""
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("表1")
    grid = [[cell_text(v) for v in row] for row in sheet.to_python(skip_empty_area=False)]
    merges = [(r0, c0, r1, c1) for (r0, c0), (r1, c1) in sheet.merged_cell_ranges or []]
    return table_from_grid(grid, list(range(1, len(grid) + 1)), merges)


TITLE = [["2017年社会组织扶贫项目表"], ["填报单位（盖章）：江西省民政厅  单位：万元"]]
TWO_LEVELS = [
    ["年度", "地区", None, "资金", "人数", "备注"],
    [None, "县（市、区）", "行政区划代码", "落地资金（万元）"],
]
WORKBOOKS = {
    "plain": dict(rows=[HEADER, *data_rows(200)]),
    "title-merged-across-and-unit-row": dict(
        rows=[HEADER, *data_rows(150)], top=TITLE, merges=[(0, 0, 0, 5, TITLE[0][0])]
    ),
    "two-header-rows-merged": dict(
        rows=[*TWO_LEVELS, *data_rows(120)],
        merges=[(0, 0, 1, 0, "年度"), (0, 1, 0, 2, "地区"), (0, 4, 1, 4, "人数"), (0, 5, 1, 5, "备注")],
    ),
    "county-merged-down-the-data": dict(rows=[HEADER, *data_rows(100)], merges=[(3, 1, 9, 1, "万安县")]),
    "a-total-row-merged-across": dict(
        rows=[HEADER, *data_rows(90), ["合计", None, None, "999.5", 45], *data_rows(5, 90)],
        merges=[(91, 0, 91, 2, "合计")],
    ),
    "blank-rows-and-footer": dict(
        rows=[HEADER, *data_rows(70), [], *data_rows(20, 70), ["填表人：张三"], *data_rows(3, 90)]
    ),
    "fewer-rows-than-the-probe": dict(rows=[HEADER, *data_rows(HEAD_ROWS - 10)]),
    "no-header": dict(rows=[[str(i), i] for i in range(100)]),
}


@pytest.mark.parametrize("case", list(WORKBOOKS.values()), ids=list(WORKBOOKS))
def test_column_path_reads_what_the_grid_path_reads(tmp_path, case):
    path = write_book(tmp_path / "form.xlsx", **case)
    try:
        slow = grid_path(path)
    except ValueError:  # NoHeaderError: the reader skips the sheet and says so
        with pytest.raises(Exception, match="no_header_row"):
            read_tables(path)
        return
    (fast,) = read_tables(path)
    assert fast.header == slow.header
    assert list(fast.rows) == slow.rows
    assert fast.row_numbers == slow.row_numbers
    assert fast.context == slow.context


@pytest.mark.parametrize("name", ["plain", "title-merged-across-and-unit-row", "two-header-rows-merged"])
def test_workbooks_merged_above_the_data_take_the_column_path(tmp_path, name):
    (table,) = read_tables(write_book(tmp_path / "form.xlsx", **WORKBOOKS[name]))
    assert isinstance(table.rows, ArrowRows)


@pytest.mark.parametrize(
    "values",
    [
        ["年度", 2016.0, 2017.0, -0.0, 1e16, 2.0**53, 12345.600000000002, float("inf"), None, ""],
        ["金额", "1,234.5", "  x  ", "a\r\nb", "", "　", 7, True, False],
        [dt.date(2017, 1, 2), dt.datetime(2017, 1, 2, 3, 4), dt.time(5, 6), 3.5, 4.0, "4.0"],
    ],
    ids=["floats", "text-and-others", "dates"],
)
def test_column_text_is_cell_text_of_each_cell(values):
    array, longest = column_text(values)
    assert array.to_pylist() == [cell_text(v) for v in values]
    assert longest == max((len(v) for v in values if isinstance(v, str)), default=0)


def test_sheets_read_by_the_registry_sniff_are_the_sheets_the_form_reader_reads(tmp_path):
    form = write_book(tmp_path / "form.xlsx", **WORKBOOKS["two-header-rows-merged"])
    registry = tmp_path / "户.xlsx"
    with xlsxwriter.Workbook(str(registry)) as book:
        book.add_worksheet("填表说明").write(0, 0, "本表由乡镇扶贫办填报")
        book.add_worksheet("户").write_row(0, 0, ["户编号", "户主姓名", "户主身份证号码", "县（市、区）", "家庭人口数"])

    sheets = SheetsRead(form)
    assert not is_registry_file(form, sheets)
    (kept,) = read_tables(form, sheets=sheets)
    (fresh,) = read_tables(form)
    assert (kept.header, list(kept.rows), kept.row_numbers, kept.context) == (
        fresh.header,
        list(fresh.rows),
        fresh.row_numbers,
        fresh.context,
    )
    assert sheets.take("表1") is None  # handed to the reader, not kept twice
    assert is_registry_file(registry, SheetsRead(registry))
