"""XLSX registries: a large sheet read row by row (bounded memory), its CSV the same as calamine's."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from fupin.core.raw import RawArchiveError
from fupin.demo.registry import HEADER
from fupin.tasks.parse import SheetsRead
from fupin.tasks.parse.xlsx_stream import StreamedWorkbook
from fupin.tasks.registry import reading, xlsx_to_csv
from fupin.tasks.registry.reading import is_registry_file
from fupin.tasks.registry.schema import RegistryError
from tests.helpers import valid_id

ID_1 = valid_id("36082719700101123")
ID_2 = valid_id("36242719850615002")
NEVER, ALWAYS = 10**9, 0  # stream_above: calamine for every sheet, the streaming reader for every sheet


def _awkward_rows() -> list[list[object]]:
    """A registry's rows as clerks type them: counts as floats, an ID as text, Chinese, holes, a date, a bool."""
    return [
        ["H001", "张三", ID_1, "360827", "坳南乡", "牛田村", 3.0, "已脱贫", 2015, 2016.0],
        ["H002", "李四", ID_2, 360827, " 禾川镇 ", "", 4, "未脱贫", 2016.0, None],
        [None, None, None, None, None, None, None, None, None, None],  # an empty row inside the sheet
        ["H003", "王\u3000五", ID_1, "360827", "坳南乡", "牛田村", 2.5, "已脱贫", dt.date(2017, 5, 1), True],
        ["H004", "", ID_2, "360827", "", "", 0.1, "已脱贫", 2017, 1e20],
    ]


def _write_openpyxl(path: Path) -> None:
    """openpyxl writes text inline (<is>) and dates as serial numbers with a date format."""
    book = openpyxl.Workbook()
    notes = book.active
    notes.title = "填表说明"
    notes["A1"] = "本表由乡镇扶贫办填报"
    sheet = book.create_sheet("户")
    sheet.append(HEADER + [None])  # a trailing empty column
    for row in _awkward_rows():
        sheet.append(row)
    other = book.create_sheet("户（续）")  # a second sheet, its columns in another order
    other.append(list(reversed(HEADER)))
    other.append(list(reversed(["H005", "赵六", ID_1, "360827", "坳南乡", "牛田村", 5, "未脱贫", 2014, None])))
    other["C9"] = "H006"  # a row after a gap of empty rows, its other cells empty
    book.save(path)


def _write_xlsxwriter(path: Path) -> None:
    """xlsxwriter (not in constant_memory) writes text as shared strings, as Excel and WPS do."""
    with xlsxwriter.Workbook(str(path)) as book:
        book.add_worksheet("填表说明").write(0, 0, "本表由乡镇扶贫办填报")
        sheet = book.add_worksheet("户")
        dates = book.add_format({"num_format": "yyyy-mm-dd"})
        sheet.write_row(0, 0, HEADER)
        for r, row in enumerate(_awkward_rows(), start=1):
            for c, value in enumerate(row):
                if isinstance(value, dt.date):
                    sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), dates)
                elif value is not None:
                    sheet.write(r, c, value)
        sheet.write_string(7, 1, "")  # an empty text cell below the data: a row of calamine's range
        sheet.write_blank(9, 3, None, dates)  # a formatted blank: no cell to calamine
        bold = book.add_format({"bold": True})
        other = book.add_worksheet("户（续）")
        other.write_row(0, 0, list(reversed(HEADER)))
        other.write_rich_string(1, 8, "赵", bold, "六")  # a name in two runs of text
        other.write_row(1, 9, ["H005"])
        other.write_string(1, 7, ID_1)
        other.write_number(1, 3, 5.0)


@pytest.mark.parametrize("write", [_write_openpyxl, _write_xlsxwriter], ids=["inline-strings", "shared-strings"])
def test_both_readers_write_the_same_csv(tmp_path, write):
    workbook = tmp_path / "莲花县建档立卡贫困户2017.xlsx"
    write(workbook)
    calamine, notes = xlsx_to_csv(workbook, tmp_path / "calamine.csv", stream_above=NEVER)
    streamed, streamed_notes = xlsx_to_csv(workbook, tmp_path / "streamed.csv", stream_above=ALWAYS)
    text = calamine.read_text(encoding="utf-8")
    assert streamed.read_text(encoding="utf-8") == text
    assert streamed_notes == notes and len(notes) == 2  # the note sheet skipped, the second sheet continuing
    lines = text.splitlines()
    assert lines[0] == "户编号,户主身份证号码,县（市、区）,乡镇,行政村,家庭人口数,脱贫状态,识别年度,脱贫年度"
    assert "张三" not in text  # names are left out
    assert lines[1] == f"H001,{ID_1},360827,坳南乡,牛田村,3,已脱贫,2015,2016"  # 3.0 and 2016.0 as the clerk sees them
    assert lines[2] == f"H002,{ID_2},360827, 禾川镇 ,,4,未脱贫,2016,"
    assert lines[3] == ",,,,,,,,"
    assert lines[4] == f"H003,{ID_1},360827,坳南乡,牛田村,2.5,已脱贫,2017-05-01,True"
    assert lines[5] == f"H004,{ID_2},360827,,,0.1,已脱贫,2017,100000000000000000000"
    assert any(line.startswith("H005,") for line in lines)


def test_a_headerless_sheet_is_refused_on_the_streamed_path(tmp_path):
    workbook = tmp_path / "莲花县建档立卡贫困户2017.xlsx"
    with xlsxwriter.Workbook(str(workbook)) as book:
        book.add_worksheet("户").write_row(0, 0, ["H001", "张三", ID_1, "360827", 3])
    for stream_above in (NEVER, ALWAYS):
        with pytest.raises(RegistryError, match=r"registry_no_header"):
            xlsx_to_csv(workbook, tmp_path / "out.csv", stream_above=stream_above)


def test_the_streamed_path_checks_the_archived_bytes_first(tmp_path):
    source = tmp_path / "source.xlsx"
    _write_xlsxwriter(source)
    data = source.read_bytes()
    archived = tmp_path / f"{hashlib.sha256(data).hexdigest()}.xlsx"
    archived.write_bytes(data)
    assert xlsx_to_csv(archived, tmp_path / "ok.csv", stream_above=ALWAYS)[0].stat().st_mode & 0o777 == 0o600
    archived.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # one bit flipped in the archive
    with pytest.raises(RawArchiveError):
        xlsx_to_csv(archived, tmp_path / "bad.csv", stream_above=ALWAYS)


def test_a_sheets_rows_are_known_without_reading_it(tmp_path):
    workbook = tmp_path / "registry.xlsx"
    with xlsxwriter.Workbook(str(workbook), {"constant_memory": True}) as book:
        book.add_worksheet("说明").write(0, 0, "说明")
        sheet = book.add_worksheet("户")
        sheet.write_row(0, 0, HEADER)
        for r in range(1, 3001):
            sheet.write_row(r, 0, [f"H{r}", "张三", ID_1, "360827", "", "", 3, "已脱贫", 2015, ""])
    streamed = StreamedWorkbook(str(workbook))
    assert streamed.sheet_names == ["说明", "户"]
    assert streamed.rows_of("户") == 3001 and streamed.rows_of("说明") == 1
    assert sum(1 for _ in streamed.rows("户")) == 3001


def test_the_registry_sniff_reads_a_large_sheets_first_row_without_reading_the_sheet(tmp_path, monkeypatch):
    """A workbook small enough to be a form is sniffed with its sheets kept for the form reader: a registry's
    large sheet must not be read whole there (calamine's 1 GB for a million rows), only its first row."""
    workbook = tmp_path / "registry.xlsx"
    with xlsxwriter.Workbook(str(workbook)) as book:
        book.add_worksheet("说明").write(0, 0, "说明")
        sheet = book.add_worksheet("户")
        sheet.write_row(0, 0, HEADER)
        for r in range(1, 2001):
            sheet.write_row(r, 0, [f"H{r}", "张三", ID_1, "360827", "", "", 3, "已脱贫", 2015, ""])
    monkeypatch.setattr(reading, "STREAM_ROWS", 1000)
    sheets = SheetsRead(workbook)
    assert is_registry_file(workbook, sheets)
    assert sheets.take("户") is None  # streamed: never read whole, nor kept
    assert sheets.take("说明") is not None  # a small sheet read by calamine and kept for the form reader
    monkeypatch.setattr(reading, "STREAM_ROWS", 10**9)
    sheets = SheetsRead(workbook)
    assert is_registry_file(workbook, sheets) and sheets.take("户") is not None
