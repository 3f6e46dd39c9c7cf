"""Issue 18, finding 10: limits, stated and configurable; beyond them a file is rejected in seconds, the limit named."""

from __future__ import annotations

import zipfile

import pytest
import xlsxwriter

from fupin.core.config import ConfigError, Limits
from fupin.tasks.parse import ParseError, read_tables


def _refused_quickly(path, code: str) -> str:
    """How fast is for benchmarks; here: refused, with the limit named."""
    with pytest.raises(ParseError, match=rf"\[limit_{code}\]") as caught:
        read_tables(path)
    return str(caught.value)


def test_a_workbook_with_more_rows_than_a_form_has_is_refused_before_its_cells_are_read(tmp_path, monkeypatch):
    monkeypatch.setenv("FUPIN_LIMIT_ROWS_PER_SHEET", "20000")  # the default (500,000) works alike, only slower
    path = tmp_path / "多行.xlsx"
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["年度", "行政区划代码", "金额（元）"])
    for row in range(1, Limits().rows_per_sheet + 50):
        sheet.write_row(row, 0, [2017, "360827", row])
    book.close()
    message = _refused_quickly(path, "rows_per_sheet")
    assert "20,000" in message and "FUPIN_LIMIT_ROWS_PER_SHEET" in message


def test_a_workbook_whose_xml_expands_beyond_the_limit_is_refused(tmp_path):
    path = tmp_path / "炸弹.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            chunk = b" " * (1 << 20)
            for _ in range(Limits().xlsx_expanded_bytes // len(chunk) + 8):
                member.write(chunk)
    assert path.stat().st_size < 2 * 2**20
    _refused_quickly(path, "xlsx_expanded_bytes")


def test_a_csv_with_one_50_mb_line_of_25_million_fields_is_refused(tmp_path):
    path = tmp_path / "一行.csv"
    path.write_bytes("年度,金额\n".encode() + b"1," * 25_000_000 + b"\n")
    _refused_quickly(path, "line_chars")


@pytest.mark.parametrize(
    "variable, value, content, code",
    [
        ("FUPIN_LIMIT_FORM_BYTES", "100", "年度,金额\n" + "2017,1\n" * 50, "form_bytes"),
        ("FUPIN_LIMIT_ROWS_PER_SHEET", "10", "年度,金额\n" + "2017,1\n" * 20, "rows_per_sheet"),
        ("FUPIN_LIMIT_COLUMNS_PER_ROW", "5", "年度,金额\n2017," + ",".join("1" * 10) + "\n", "columns_per_row"),
        ("FUPIN_LIMIT_FIELD_CHARS", "100", "年度,金额\n2017," + "9" * 200 + "\n", "field_chars"),
    ],
    ids=["file_size", "rows", "columns", "field_length"],
)
def test_each_limit_is_configurable_and_named(tmp_path, monkeypatch, variable, value, content, code):
    monkeypatch.setenv(variable, value)
    path = tmp_path / "form.csv"
    path.write_text(content, encoding="utf-8")
    message = _refused_quickly(path, code)
    assert variable in message


def test_a_limit_that_is_no_number_is_a_config_error(monkeypatch):
    monkeypatch.setenv("FUPIN_LIMIT_ROWS_PER_SHEET", "many")
    with pytest.raises(ConfigError, match="FUPIN_LIMIT_ROWS_PER_SHEET"):
        Limits.from_env()
