"""Reading a registry: its header mapped to canonical columns, its encoding and delimiter, its CSV blocks.

An XLSX registry is rewritten as CSV first, so that every registry streams the same way.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from python_calamine import CalamineWorkbook

from fupin.core.faults import fault_point
from fupin.core.messages import message, say
from fupin.core.raw import open_raw, received_suffix, workbook_source
from fupin.tasks.normalise.helpers import clean_label
from fupin.tasks.parse.xlsx_files import WORKBOOK_EXTENSIONS
from fupin.tasks.parse.xlsx_stream import STREAM_ROWS, StreamedWorkbook
from fupin.tasks.registry.schema import RegistryError

REGISTRY_COLUMNS: dict[str, tuple[str, ...]] = {
    "household_id": ("户编号", "户码", "家庭编号", "贫困户编号", "household_id"),
    "head_name": ("户主姓名", "姓名", "户主", "head_name"),
    "head_id": ("户主身份证号", "户主身份证号码", "身份证号", "身份证号码", "证件号码", "head_id_number", "head_id"),
    "county": ("县（市、区）", "县市区", "县", "区县", "county", "county_code", "行政区划代码"),
    "township": ("乡镇", "乡（镇）", "乡(镇)", "乡镇名称", "township"),
    "village": ("行政村", "村", "村名", "village"),
    "members": ("家庭人口数", "家庭人数", "人口数", "户人口数", "members"),
    "status": ("脱贫状态", "贫困户状态", "户状态", "状态", "status"),
    "registration_year": ("识别年度", "纳入年度", "建档年度", "registration_year"),
    "exit_year": ("脱贫年度", "脱贫年份", "exit_year"),
}


REQUIRED = ("household_id", "head_id", "county", "members", "status", "registration_year")


BLOCK_SIZE = 4 << 20  # 4 MB blocks keep the peak low at little cost (benchmarks/registry.py)


def registry_columns(header: list[str]) -> dict[str, int] | None:
    """Canonical registry column → position, or None when the header is not a registry's."""
    lookup = {clean_label(s)[0]: key for key, syns in REGISTRY_COLUMNS.items() for s in syns}
    found: dict[str, int] = {}
    for i, label in enumerate(header):
        key = lookup.get(clean_label(label or "")[0])
        if key and key not in found:
            found[key] = i
    if any("金额" in clean_label(label or "")[0] for label in header):
        return None  # a registry carries no money: a list of grants paid to households (household_grant) is a form
    return found if "head_id" in found and "household_id" in found else None


def sniff_text_file(path: Path | BinaryIO) -> tuple[str, str, list[str]]:
    """(pyarrow encoding, delimiter, header labels) of a delimited registry file (a path or a binary file)."""
    if isinstance(path, (str, Path)):
        with open_raw(path) as file:  # its head only: the SHA-256 is checked by the reading that ends it
            head = file.read(1 << 16)
    else:
        path.seek(0)
        head = path.read(1 << 16)
        path.seek(0)
    if not head:
        raise RegistryError(message("empty_file.registry"))
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8"
        head = head[len(codecs.BOM_UTF8) :]
    else:
        try:
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
            encoding = "utf-8"
        except UnicodeDecodeError:
            encoding = "gb18030"
    first = head.split(b"\n", 1)[0].decode(encoding, errors="replace").strip("\r")
    delimiter = max([",", "\t", ";", "|"], key=first.count)
    return encoding, delimiter, [h.strip().strip('"') for h in first.split(delimiter)]


def registry_year(file_name: str) -> int | None:
    """The year a registry describes, from its file name (…2017… or 2017年)."""
    years = set(re.findall(r"(?<!\d)(20\d{2})(?!\d)", file_name))
    return int(years.pop()) if len(years) == 1 else None


# a cell that is an ID number (or an older 15-digit one, or one typed a digit short): no header is ever that
_ID_CELL = re.compile(r"\s*[0-9]{14,17}[0-9Xx]\s*")


def is_headerless_registry(first_row: list[str]) -> bool:
    """True when a file's first row is a household's data rather than a header: one of its cells is an ID number.

    Such a file is read as a registry, never as a form: a form's messages quote its header, and this
    "header" is a person's name and ID number.
    """
    return any(_ID_CELL.fullmatch(str(cell or "")) for cell in first_row)


def sheet_rows(
    path: Path, verify: bool = True, stream_above: int | None = None, book: Any = None
) -> Iterator[tuple[str, Iterator]]:
    """(name, rows) of each sheet of an archived workbook, its SHA-256 checked first unless ``verify`` is off
    (``book``: the workbook, if already open, for the sheets calamine reads).

    calamine reads a whole sheet before its first row: a sheet of more than ``stream_above`` rows (default
    ``STREAM_ROWS``) of an
    XLSX/XLSM is read row by row instead (``fupin.tasks.parse.xlsx_stream``, the same cell values), so a
    registry's million-row sheet costs a row's memory; a smaller one keeps calamine's speed.
    """
    limit = STREAM_ROWS if stream_above is None else stream_above
    streamable = received_suffix(path) in (".xlsx", ".xlsm")
    source = workbook_source(path, verify) if streamable or book is None else None
    streamed = None
    if streamable:
        try:
            streamed = StreamedWorkbook(source)
        except Exception:  # not a readable XLSX zip: calamine reads it, or says what is wrong with it
            streamed = None
    if streamed is None and book is None:
        book = _calamine(source)
    for name in streamed.sheet_names if streamed is not None else book.sheet_names:
        if streamed is not None and streamed.rows_of(name) > limit:
            yield name, streamed.rows(name)
        else:
            if book is None:  # opened only for a sheet it reads: it reads the shared strings too
                book = _calamine(source)
            yield name, book.get_sheet_by_name(name).iter_rows()


def _calamine(source: str | BinaryIO) -> CalamineWorkbook:
    if isinstance(source, str):
        return CalamineWorkbook.from_path(source)
    source.seek(0)
    return CalamineWorkbook.from_filelike(source)


def first_rows(path: Path, book: Any = None) -> list[list[str]]:
    """A CSV's first line, or each sheet's first row, as text (``book``: the workbook, if already open)."""
    if received_suffix(path) in WORKBOOK_EXTENSIONS:
        # a sniff: the file is read checked once routed; a large sheet's first row without reading the sheet
        return [[_cell_text(v) for v in next(rows, [])] for _, rows in sheet_rows(path, verify=False, book=book)]
    if received_suffix(path) in (".csv", ".txt", ".tsv"):
        return [sniff_text_file(path)[2]]
    return []


def is_registry_file(path: str | Path, book: Any = None) -> bool:
    """True when a file is a household registry's: its CSV's first line or a sheet's first row is a registry
    header, or is a household's data (a registry sent without its header row)."""
    try:
        rows = first_rows(Path(path), book)
        return any(registry_columns(row) is not None or is_headerless_registry(row) for row in rows)
    except Exception:  # unreadable files are the form parser's to report
        return False


def _cell_text(v: object) -> str:
    return "" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))


def xlsx_to_csv(
    path: Path, target: Path | BinaryIO, stream_above: int | None = None
) -> tuple[Path | BinaryIO, list[str]]:
    """A registry sent as XLSX, rewritten as UTF-8 CSV so it streams like the others; notes for the receipt.

    A sheet holds at most 1,048,576 rows, so a large registry comes as several sheets with the
    same header: they are written one after the other (a sheet with its columns in another
    order is put in the first one's). Sheets without a registry header (notes) are skipped; a
    sheet whose first row is a household's data rejects the file (registry_no_header).
    Names are left out; the ID numbers are still in clear, so ``target`` should be a file without
    a name (``tempfile.TemporaryFile``, which a SIGKILL cannot leave behind): ``registry_outcome``
    passes one. A path (tests, benchmarks) is created owner-only.
    A sheet of more than ``stream_above`` rows is read row by row (``sheet_rows``): a million rows in a
    few MB rather than calamine's 1.2 GB.
    """
    text = _cell_text
    sheets = sheet_rows(path, stream_above=stream_above)  # its SHA-256 checked first (fupin.core.raw)
    notes: list[str] = []
    order: list[str] | None = None
    line = 1
    named = isinstance(target, Path)
    binary = open(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") if named else target
    out = io.TextIOWrapper(binary, encoding="utf-8", newline="")
    try:
        writer = csv.writer(out)
        for name, rows in sheets:
            header = [text(v) for v in next(rows, [])]
            cols = registry_columns(header)
            if cols is None:
                if is_headerless_registry(header):
                    raise RegistryError(message("registry_no_header").within(f"工作表「{name}」"))
                notes.append(say("sheet_without_registry", sheet=name))
                continue
            if order is None:
                order = [k for k in REGISTRY_COLUMNS if k in cols and k != "head_name"]
                writer.writerow([header[cols[k]] for k in order])
            elif not set(order) <= set(cols):
                notes.append(say("sheet_columns_differ", sheet=name))
                continue
            else:
                notes.append(say("sheet_continues_registry", sheet=name, line=line + 1))
            for row in rows:
                values = [text(v) for v in row]
                writer.writerow([values[cols[k]] if cols[k] < len(values) else "" for k in order])
                line += 1
                if line % 10_000 == 0:
                    fault_point("convert")  # the crash tests' SIGKILL in the middle of a conversion
        out.flush()
    finally:
        out.detach()
        if named:
            binary.close()
    if order is None:
        raise RegistryError("not a household registry: no sheet has household id and ID number columns")
    return target, notes
