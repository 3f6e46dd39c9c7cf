"""Workbooks (XLSX, XLSM, XLSB, XLS, ODS) via python-calamine: one table per sheet, cells as Excel shows."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from python_calamine import CalamineWorkbook

from fupin.core.config import Limits
from fupin.core.messages import message, say
from fupin.core.raw import workbook_source
from fupin.tasks.normalise.numbers import format_float
from fupin.tasks.parse.helpers import (
    Merge,
    NoHeaderError,
    ParsedTable,
    ParseError,
    clean_cell,
    clean_texts,
    table_from_columns,
    table_from_grid,
)

# every format python-calamine reads: Excel 2007+ (XML and binary), Excel 97-2003, OpenDocument
WORKBOOK_EXTENSIONS = frozenset({".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"})
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Office encrypts an XLSX by wrapping it in an OLE file with these streams (MS-OFFCRYPTO);
# directory entry names are stored in UTF-16LE.
_ENCRYPTION_STREAMS = ("EncryptedPackage".encode("utf-16-le"), "EncryptionInfo".encode("utf-16-le"))


def cell_text(value: object) -> str | None:
    """A calamine cell value as the string the clerk sees: '17', '12345.6', '2017-12-31'."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return clean_cell(value)


def _memoised_text() -> Callable[[object], str | None]:
    """``cell_text``, each distinct value (of its type: 1 is not 1.0) formatted once."""
    memo: dict[tuple[type, object], str | None] = {}

    def text(value: object) -> str | None:
        key = (value.__class__, value)
        found = memo.get(key, memo)
        if found is memo:
            found = memo[key] = cell_text(value)
        return found  # type: ignore[return-value]

    return text


def column_text(values: Sequence[object]) -> tuple[pa.Array, int]:
    """A column of calamine cells as ``cell_text`` reads each, as Arrow text; and its longest text cell's length.

    A column of text is cleaned by Arrow, whole numbers (years, counts: floats to calamine) are
    written by numpy; what is left (a header above numbers, fractions, dates) goes cell by cell.
    """
    kinds = set(map(type, values))
    if kinds <= {str}:
        array = pa.array(values, pa.string())
        return clean_texts(array), pc.max(pc.utf8_length(array)).as_py() or 0
    n = len(values)
    out = np.empty(n, dtype=object)
    whole = np.zeros(n, dtype=bool)
    if float in kinds:
        numbers = np.fromiter((v if type(v) is float else 0.5 for v in values), float, n)
        whole = (numbers == np.floor(numbers)) & (np.abs(numbers) < 2**53)
        out[whole] = pa.array(numbers[whole].astype(np.int64)).cast(pa.string()).to_numpy(zero_copy_only=False)
    rest = np.flatnonzero(~whole).tolist()
    others = [values[i] for i in rest]
    text = _memoised_text()
    out[rest] = [text(v) for v in others]
    return pa.array(out, pa.string()), max((len(v) for v in others if isinstance(v, str)), default=0)


def _grid(arrays: list[pa.Array]) -> list[list[str | None]]:
    return [list(row) for row in zip(*(a.to_pylist() for a in arrays), strict=True)]


def check_workbook_bytes(data: bytes, name: str) -> None:
    """Refuse empty, encrypted, truncated and non-workbook files with a specific reason."""
    if not data:
        raise ParseError(message("empty_file", name=name))
    if data.startswith(OLE_MAGIC):
        if any(stream in data for stream in _ENCRYPTION_STREAMS):
            raise ParseError(message("workbook_encrypted", name=name))
        return
    if not data.startswith(ZIP_MAGIC):
        head = data[:512].lstrip().lower()
        if head.startswith((b"<!doctype html", b"<html", b"<table", b"<?xml")):
            raise ParseError(message("not_a_workbook.html", name=name))
        raise ParseError(message("not_a_workbook", name=name))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            mimetype = b""
            if "mimetype" in names:  # OpenDocument names its kind first (an .ods: ...opendocument.spreadsheet)
                with archive.open("mimetype") as part:
                    mimetype = part.read(100)
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError):
        raise ParseError(message("workbook_corrupt", name=name)) from None
    if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
        return
    if "content.xml" in names:
        if b"opendocument.spreadsheet" in mimetype:
            return
        raise ParseError(message("not_a_workbook.opendocument", name=name))
    raise ParseError(message("not_a_workbook.zip", name=name))


def expanded_size(data: bytes) -> int:
    """Bytes of a workbook's parts once unzipped, from the zip's directory (0 if it is no zip)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        return 0


def _merges(sheet) -> list[Merge]:
    ranges = getattr(sheet, "merged_cell_ranges", None) or []
    return [(r0, c0, r1, c1) for (r0, c0), (r1, c1) in ranges]


def open_book(path: str | Path, verify: bool = True) -> CalamineWorkbook:
    """An archived workbook opened by calamine through the raw archive's door (``fupin.core.raw``): its
    SHA-256 checked first unless ``verify`` is off (a sniff, whose file the parse or the registry reads checked)."""
    source = workbook_source(path, verify)
    return CalamineWorkbook.from_path(source) if isinstance(source, str) else CalamineWorkbook.from_filelike(source)


class SheetsRead:
    """A workbook whose sheets, once read, are kept for the next reader.

    calamine reads a whole sheet to give any row of it: the registry sniff (each sheet's first row)
    and then the form reader would read every sheet twice. The form reader takes each kept sheet once.
    """

    def __init__(self, path: str | Path):
        self._book = open_book(path, verify=False)  # kept for read_tables, which checks the file's bytes
        self._sheets: dict[str, Any] = {}
        self.sheet_names = self._book.sheet_names

    def get_sheet_by_name(self, name: str) -> Any:
        """The sheet, read from the file the first time only (CalamineWorkbook's signature)."""
        if name not in self._sheets:
            self._sheets[name] = self._book.get_sheet_by_name(name)
        return self._sheets[name]

    def take(self, name: str) -> Any | None:
        """The sheet if it was read, no longer kept here."""
        return self._sheets.pop(name, None)


def read_workbook(data: bytes, name: str, sheets: SheetsRead | None = None) -> list[ParsedTable]:
    """One table per non-empty worksheet, rows numbered as in Excel (``sheets``: those of it already read)."""
    check_workbook_bytes(data, name)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises its own error types for every kind of damage
        raise ParseError(message("workbook_corrupt.open", name=name, error=exc)) from None
    tables: list[ParsedTable] = []
    skipped: list[str] = []
    notes: list[str] = []
    limits = Limits.from_env()
    for meta in workbook.sheets_metadata:
        if "WorkSheet" not in str(meta.typ):
            continue  # chart and macro sheets hold no cells
        try:
            sheet = (sheets and sheets.take(meta.name)) or workbook.get_sheet_by_name(meta.name)
        except Exception as exc:
            raise ParseError(message("sheet_unreadable", name=name, sheet=meta.name, error=exc)) from None
        # checked before the cells become Python objects, which is where a million rows cost minutes
        if sheet.height > limits.rows_per_sheet:
            reason = limits.message("rows_per_sheet", sheet.height, f"每张表（'{meta.name}'）行数")
            raise ParseError(reason.within(name))
        if sheet.width > limits.columns_per_row:
            reason = limits.message("columns_per_row", sheet.width, f"每张表（'{meta.name}'）列数")
            raise ParseError(reason.within(name))
        try:
            raw = sheet.to_python(skip_empty_area=False)
        except Exception as exc:
            raise ParseError(message("sheet_unreadable", name=name, sheet=meta.name, error=exc)) from None
        width = max(map(len, raw), default=0)
        if any(len(row) != width for row in raw):
            raw = [[*row, *[None] * (width - len(row))] for row in raw]
        columns = [column_text(column) for column in zip(*raw, strict=True)]
        del raw
        arrays = [array for array, _ in columns]
        longest = max((length for _, length in columns), default=0)
        if longest > limits.field_chars:
            raise ParseError(limits.message("field_chars", longest, "单元格字符数").within(name))
        if all(a.null_count == len(a) for a in arrays):
            continue
        row_numbers = list(range(1, len(arrays[0]) + 1))
        grid = None
        try:
            found = table_from_columns(arrays, row_numbers, _merges(sheet))
            if found is None:
                grid = _grid(arrays)
                found = table_from_grid(grid, row_numbers, _merges(sheet))
        except NoHeaderError as exc:
            grid = grid or _grid(arrays)
            if sum(1 for row in grid if sum(1 for c in row if c) >= 2) == 0:
                notes.append(say("sheet_without_table", sheet=meta.name))
                continue
            skipped.append(f"工作表「{meta.name}」{exc}")
            continue
        tables.append(ParsedTable(name, meta.name, found.header, found.rows, found.row_numbers, found.context))
    if skipped and not tables:
        raise ParseError(f"{name}：" + "；".join(skipped))
    for table in tables:
        if skipped or notes:
            table.context["skipped_sheets"] = skipped + notes
    return tables
