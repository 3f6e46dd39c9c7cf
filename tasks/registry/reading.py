"""Reading a registry: its header mapped to canonical columns, its encoding and delimiter, its CSV blocks.

An XLSX registry is rewritten as CSV first, so that every registry streams the same way.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from tasks.normalise.helpers import clean_label
from tasks.registry.schema import RegistryError

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


BLOCK_SIZE = 4 << 20  # 4 MB blocks keep the peak low at little cost (measured.md)


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


def sniff_text_file(path: Path) -> tuple[str, str, list[str]]:
    """(pyarrow encoding, delimiter, header labels) of a delimited registry file."""
    with path.open("rb") as file:
        head = file.read(1 << 16)
    if not head:
        raise RegistryError("empty file")
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


def batches(reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    """The reader's blocks; a file that breaks off or mixes encodings is rejected with where, never with what."""
    line = 2  # the header is line 1
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid as exc:
            raise RegistryError(f"unreadable from line {line} on: {without_row(exc)}") from None
        line += batch.num_rows
        yield batch


def without_row(exc: Exception) -> str:
    """Arrow's message without the line it quotes, which would put a name and an ID number in the logs.

    "CSV parse error: Expected 10 columns, got 12: H1,张三,3608…" → "CSV parse error: Expected 10 columns, got 12"
    """
    return ": ".join(str(exc).split(": ")[:2])


def registry_year(file_name: str) -> int | None:
    """The year a registry describes, from its file name (…2017… or 2017年)."""
    years = set(re.findall(r"(?<!\d)(20\d{2})(?!\d)", file_name))
    return int(years.pop()) if len(years) == 1 else None


def is_registry_file(path: str | Path) -> bool:
    """True when a file's header is a household registry's: a CSV's first line, or any sheet's first row."""
    path = Path(path)
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
            from python_calamine import CalamineWorkbook

            book = CalamineWorkbook.from_path(str(path))
            headers = ([str(v) for v in next(book.get_sheet_by_name(n).iter_rows(), [])] for n in book.sheet_names)
            return any(registry_columns(header) is not None for header in headers)
        if path.suffix.lower() in (".csv", ".txt", ".tsv"):
            return registry_columns(sniff_text_file(path)[2]) is not None
    except Exception:  # unreadable files are the form parser's to report
        return False
    return False


def xlsx_to_csv(path: Path, target: Path) -> tuple[Path, list[str]]:
    """A registry sent as XLSX, rewritten as UTF-8 CSV so it streams like the others; notes for the receipt.

    A sheet holds at most 1,048,576 rows, so a large registry comes as several sheets with the
    same header: they are written one after the other (a sheet with its columns in another
    order is put in the first one's). Sheets without a registry header (notes) are skipped.
    Names are left out; the ID numbers are still in clear, so the file is the owner's alone and
    the caller deletes it once read.
    """
    import csv

    from python_calamine import CalamineWorkbook

    def text(v: object) -> str:
        return "" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))

    book = CalamineWorkbook.from_path(str(path))
    notes: list[str] = []
    order: list[str] | None = None
    line = 1
    with open(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        for name in book.sheet_names:
            rows = book.get_sheet_by_name(name).iter_rows()
            header = [text(v) for v in next(rows, [])]
            cols = registry_columns(header)
            if cols is None:
                notes.append(f"sheet '{name}' has no registry header: skipped")
                continue
            if order is None:
                order = [k for k in REGISTRY_COLUMNS if k in cols and k != "head_name"]
                writer.writerow([header[cols[k]] for k in order])
            elif not set(order) <= set(cols):
                notes.append(f"sheet '{name}' has other columns than the first registry sheet: skipped")
                continue
            else:
                notes.append(f"sheet '{name}' continues the registry: its row 2 is line {line + 1}")
            for row in rows:
                values = [text(v) for v in row]
                writer.writerow([values[cols[k]] if cols[k] < len(values) else "" for k in order])
                line += 1
    return target, notes
