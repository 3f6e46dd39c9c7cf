"""An XLSX sheet read row by row in bounded memory, its cells as python-calamine gives them.

calamine reads a whole sheet before giving its first row (python-calamine has no lazy reader): a sheet of
a million registry rows costs it about 1.2 GiB. A large sheet is read here instead, with the standard
library's ``iterparse`` over the sheet's XML in the zip, one row at a time. openpyxl's read-only mode
streams too, but measured on a 100,000-row registry it took 10-14 s where this reader takes about 3 s and
calamine 1-1.5 s (1M rows: openpyxl 84-124 s, this reader 46-63 s, calamine 11-16 s in 800-980 MiB); and
it keeps the shared strings as a list of Python strings (about 80 bytes each, and a registry has one per
household id, name and ID number). Here they are kept as one UTF-8 buffer with offsets (about 25 bytes
each). expat's callbacks without elements (``xml.parsers.expat``) measured no faster than ``iterparse``.

Cells come out as calamine's: text as ``str``, numbers as ``float``, booleans as ``bool``, numbers
formatted as dates as ``date``/``datetime``/``time`` (durations as ``timedelta``), empty cells and
errors as ``""``; rows from the sheet's first row to its last one holding a value, a missing row as an
empty one. Columns are counted from column A (calamine counts from the first column used): a reader
that maps columns by the header's positions reads the same values either way.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from array import array
from collections.abc import Iterator
from typing import BinaryIO
from xml.etree.ElementTree import iterparse, parse

# above this many rows (the sheet's <dimension>, or its XML's size at 1 KB a row when larger) a sheet streams.
# Below it calamine is 2-3 times faster at a small cost in memory: a registry's lake step at 100,000 rows took
# 1.5-1.8 s and 338 MiB through calamine, 4.1 s and 317-319 MiB streamed; at 1,000,000 rows 953-1,137 MiB
# through calamine, 495-523 MiB streamed (inline and shared strings alike)
STREAM_ROWS = 100_000

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_STRICT = "http://purl.oclc.org/ooxml/spreadsheetml/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_STRICT_REL = "http://purl.oclc.org/ooxml/officeDocument/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"[A-Za-z]*\d*:?[A-Za-z]*(\d+)\"")
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_BUILTIN_DATES = {14, 15, 16, 17, 18, 19, 20, 21, 22, 45, 46, 47}
_BUILTIN_DURATIONS = {46}
_EPOCH = dt.datetime(1899, 12, 30)
_EPOCH_1904 = dt.datetime(1904, 1, 1)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _unescape(text: str) -> str:
    """Excel's ``_xHHHH_`` escapes (characters XML cannot hold) decoded, as calamine does."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


def _date_kind(code: str) -> str | None:
    """'date' or 'duration' for a custom number format that shows a date or a time (calamine's rule), else None."""
    escaped = quoted = ap = hms = False
    brackets = 0
    prev = " "
    for s in code:
        if escaped:
            escaped = False
        elif s in "_\\":
            escaped = True
        elif quoted:
            quoted = s != '"'
        elif s == '"':
            quoted = True
        elif s == ";":
            return None  # the first format only
        elif s == "[":
            brackets += 1
        elif s == "]" and brackets == 1 and hms:
            return "duration"
        elif s == "]":
            brackets = max(brackets - 1, 0)
        elif s in "aA" and not ap and brackets == 0:
            ap = True
        elif s in "pm/PM" and ap and brackets == 0:
            return "date"
        elif s in "dmhysDMHYS" and not ap and brackets == 0:
            return "date"
        elif not (hms and s.lower() == prev.lower()):
            hms = prev == "[" and s in "mhsMHS"
        prev = s
    return None


class StreamedWorkbook:
    """An XLSX/XLSM workbook's sheets, each readable row by row (``rows``); its shared strings read once."""

    def __init__(self, source: str | BinaryIO):
        self._zip = zipfile.ZipFile(source)
        names = set(self._zip.namelist())
        workbook = self._xml("xl/workbook.xml")
        ns = _STRICT if workbook.tag.startswith("{" + _STRICT) else _MAIN
        rel_ns = _STRICT_REL if ns == _STRICT else _REL
        self._1904 = any(e.get("date1904") in ("1", "true") for e in workbook.iter(f"{{{ns}}}workbookPr"))
        targets: dict[str, str] = {}
        if "xl/_rels/workbook.xml.rels" in names:
            for rel in self._xml("xl/_rels/workbook.xml.rels").iter(f"{{{_PKG_REL}}}Relationship"):
                target = rel.get("Target", "")
                targets[rel.get("Id", "")] = target.lstrip("/") if target.startswith("/") else "xl/" + target
        self.parts: dict[str, str] = {}
        for sheet in workbook.iter(f"{{{ns}}}sheet"):
            self.parts[sheet.get("name", "")] = targets.get(sheet.get(f"{{{rel_ns}}}id", ""), "")
        self.sheet_names = list(self.parts)
        self._styles: list[str | None] | None = None
        self._strings: tuple[bytearray, array] | None = None

    def _xml(self, part: str):
        with self._zip.open(part) as file:
            return parse(file).getroot()

    def rows_of(self, name: str) -> int:
        """A cheap upper estimate of a sheet's rows, without reading it: its <dimension>, or 1 a KB of XML."""
        part = self.parts.get(name, "")
        try:
            info = self._zip.getinfo(part)
        except KeyError:
            return 0
        with self._zip.open(info) as file:
            found = _DIMENSION.search(file.read(4096))
        return max(int(found.group(1)) if found else 0, info.file_size // 1024)

    def _date_styles(self) -> list[str | None]:
        """Per cell style (``s``): 'date', 'duration' or None, from xl/styles.xml."""
        if self._styles is None:
            self._styles = []
            if "xl/styles.xml" in self._zip.namelist():
                root = self._xml("xl/styles.xml")
                custom = {
                    int(f.get("numFmtId", "-1")): f.get("formatCode", "")
                    for f in root.iter()
                    if _local(f.tag) == "numFmt"
                }
                for xfs in (e for e in root if _local(e.tag) == "cellXfs"):
                    for xf in xfs:
                        fid = int(xf.get("numFmtId", "0"))
                        if fid in custom:
                            self._styles.append(_date_kind(custom[fid]))
                        elif fid in _BUILTIN_DATES:
                            self._styles.append("duration" if fid in _BUILTIN_DURATIONS else "date")
                        else:
                            self._styles.append(None)
        return self._styles

    def _shared(self) -> tuple[bytearray, array]:
        """The shared strings, as one UTF-8 buffer and the offset of each (a Python string each would cost 3x)."""
        if self._strings is None:
            data, ends = bytearray(), array("q", [0])
            part = "xl/sharedStrings.xml"
            if part in self._zip.namelist():
                with self._zip.open(part) as file:
                    for text in _string_items(file):
                        data += text.encode("utf-8")
                        ends.append(len(data))
            self._strings = data, ends
        return self._strings

    def rows(self, name: str) -> Iterator[list[object]]:
        """A sheet's rows from row 1 to its last holding a value; a row's cells from column A."""
        part = self.parts[name]
        styles = self._date_styles()
        data, ends = self._shared() if "xl/sharedStrings.xml" in self._zip.namelist() else (bytearray(), array("q"))
        epoch = _EPOCH_1904 if self._1904 else _EPOCH
        columns: dict[str, int] = {}
        with self._zip.open(part) as file:
            # "end" events only: asking for "start" too doubles the events, and the time. A row read is cleared,
            # its empty element left in the tree: about 100 bytes a row, 100 MB at a sheet's 1,048,576 rows
            row_tag = cell_tag = value_tag = inline_tag = ""
            written = 0  # rows given so far
            number = 0
            for _, element in iterparse(file):
                tag = element.tag
                if tag != row_tag:
                    if row_tag or _local(tag) != "row":
                        continue
                    ns = tag[: -len("row")]  # the first row: the sheet's namespace (transitional or strict)
                    row_tag, cell_tag, value_tag, inline_tag = ns + "row", ns + "c", ns + "v", ns + "is"
                r = element.get("r")
                number = int(r) if r else number + 1
                values: list[object] = []
                col = -1
                for cell in element:
                    if cell.tag != cell_tag:
                        continue
                    ref = cell.get("r")
                    if ref:
                        letters = ref.rstrip("0123456789")
                        col = columns.get(letters, -1)
                        if col < 0:
                            col = columns[letters] = _column(letters)
                    else:
                        col += 1
                    value = _cell(cell, value_tag, inline_tag, data, ends, styles, epoch)
                    if value is not None:
                        if col > len(values):
                            values.extend([""] * (col - len(values)))
                        if col == len(values):
                            values.append(value)
                        else:
                            values[col] = value
                element.clear()
                if not values:
                    continue
                for _ in range(number - 1 - written):  # rows without a value, given only when one follows
                    yield []
                written = number
                yield values


def _column(ref: str) -> int:
    """0-based column of a cell reference ('A1' → 0, 'AB7' → 27)."""
    n = 0
    for ch in ref:
        if ch.isdigit():
            break
        n = n * 26 + (ord(ch.upper()) - 64)
    return n - 1


def _rich_text(element, ns: str) -> str:
    """A string item's text: its <t>, or its runs' <t>s, never the phonetic guide (<rPh>)."""
    parts = []
    for child in element:
        tag = child.tag
        if tag == ns + "t":
            parts.append(child.text or "")
        elif tag == ns + "r":
            parts.extend(t.text or "" for t in child if t.tag == ns + "t")
    return _unescape("".join(parts))


def _string_items(file: BinaryIO) -> Iterator[str]:
    events = iterparse(file, events=("start", "end"))
    _, root = next(events)
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    item = ns + "si"
    for event, element in events:
        if event == "end" and element.tag == item:
            yield _rich_text(element, ns)
            root.clear()


def _cell(cell, value_tag, inline_tag, data, ends, styles, epoch) -> object:
    """A cell's value as calamine's; None for a cell without one (a formatted blank: not in calamine's range)."""
    kind = cell.get("t")
    if kind == "inlineStr":
        inline = cell.find(inline_tag)
        return None if inline is None else _rich_text(inline, inline_tag[:-2])
    v = cell.find(value_tag)
    if v is None:
        return None
    text = v.text or ""
    if kind == "e":
        return ""  # an error (#DIV/0!): calamine's empty text, yet a cell of its range
    if kind == "str" or kind == "d":
        return _unescape(text)  # a formula's text; an ISO date as written
    if text == "":
        return None
    if kind == "s":
        i = int(text)
        return data[ends[i] : ends[i + 1]].decode("utf-8")
    if kind is None or kind == "n":
        number = float(text)
        s = cell.get("s")
        style = styles[int(s)] if s and int(s) < len(styles) else None
        return number if style is None else _date(number, style, epoch)
    if kind == "b":
        return text != "0"
    return None


def _date(serial: float, style: str, epoch: dt.datetime) -> object:
    """An Excel serial number as calamine gives a cell formatted as a date, a time or a duration."""
    ms = round(serial * 86_400_000)
    if style == "duration":
        return dt.timedelta(milliseconds=ms)
    if epoch == _EPOCH and serial < 60:
        ms += 86_400_000  # Excel's 1900 is a leap year: serials before 1 March 1900 are a day off
    value = epoch + dt.timedelta(milliseconds=ms)
    if value.time() == dt.time(0):
        return value.date()
    if 0 <= serial < 1:
        return value.time()
    return value
