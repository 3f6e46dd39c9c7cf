"""Pure helpers of the parser: bytes → text, a grid of cells → one table with flattened headers.

Nothing here opens files; ``tasks.parse.read_tables`` and the format modules feed it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fupin.core.chinese import simplified, traditional
from fupin.core.messages import CodedError, message
from fupin.tasks.normalise.numbers import format_decimal, format_float, looks_numeric
from fupin.tasks.normalise.values import to_halfwidth

Cell = str | None
Grid = list[list[Cell]]
# A merged range in grid coordinates, inclusive: (first_row, first_col, last_row, last_col).
Merge = tuple[int, int, int, int]

MAX_HEADER_ROWS = 3
TOTAL_LABELS = ("合计", "总计")
SUBTOTAL_LABELS = ("小计",)
BREAKDOWN_LABEL = "其中"  # 其中：… a breakdown of the row above, never a fact of its own
# what a unit row under the header may say: 计量单位 | | 万元 | 人 (the words a statistical form writes)
UNIT_WORDS = frozenset({"元", "万元", "亿元", "千元", "%", "人", "户", "人次", "个", "期", "次", "名", "年", "万人"})
_UNIT_LABEL = re.compile(r"^(?:计量)?单位\s*[:：]?$")
FOOTER_WORDS = ("负责人", "审核人", "填表人", "填表日期", "制表人", "联系电话", "监督电话", "举报电话")
DELIMITERS = (",", "\t", ";", "|")

_YEAR_LABEL = re.compile(r"(?:19|20)\d{2}")
_COLUMN_NUMBER = re.compile(r"[(（]?(\d+)[)）]?(?:=\d+(?:[+\-]\d+)*)?")  # 3 or 1=2+3
_COLUMN_LETTER = re.compile(r"[甲乙丙丁戊己庚辛A-Za-z]")
_UNIT_ONLY = re.compile(r"[(（\[【][^()（）\[\]【】]*[)）\]】]")
# the footer words as traditional forms write them too (負責人, 監督電話)
FOOTER_FORMS = tuple(dict.fromkeys((*FOOTER_WORDS, *map(traditional, FOOTER_WORDS))))
_FOOTER_WORD = re.compile("|".join(map(re.escape, FOOTER_FORMS)))
_TOTAL_CHARS = re.compile(f"[{''.join(sorted({ch for label in TOTAL_LABELS for ch in label[:1]}))}]")

_NOTE = re.compile(r"(?:注|说明|备注)\s*\d?\s*[:：]")
_REPORTING_UNIT = re.compile(
    r"填报单位\s*(?:[(（]\s*(?:盖章|公章|签章)\s*[)）])?\s*[:：]?\s*(?P<name>.*?)(?:\s{2,}|(?<!填报)单位\s*[:：]|填报日期|$)"
)
_UNIT = re.compile(r"(?<!填报)单位\s*[:：]\s*(?P<unit>[^\s)）]+(?:\s*[、,，/]\s*[^\s)）]+)*)")


class ParseError(CodedError):
    """A file that cannot be read as tables; the message names the file and the reason."""


@dataclass
class ParsedTable:
    """One table of a submission with the submitter's own (flattened) header labels."""

    file_name: str
    sheet: str | None
    header: list[str]
    rows: list[list[str | None]]
    row_numbers: list[int]
    context: dict[str, Any] = field(default_factory=dict)


class CellValueError(CodedError, ValueError):
    """A cell that cannot be a form's value (a nested JSON structure)."""


class NoHeaderError(CodedError, ValueError):
    """The grid holds cells but no row that can be its header."""


@dataclass
class GridTable:
    """What :func:`table_from_grid` found in a grid: header, data rows and the form's context."""

    header: list[str]
    rows: list[list[Cell]]
    row_numbers: list[int]
    context: dict[str, Any]
    # the grid index of the first row read as data, and the labels before empty columns were dropped
    # (what table_from_columns needs from a probe of a table's first rows)
    first: int = 0
    labels: list[str] = field(default_factory=list)
    units: list[str | None] | None = None  # each column's unit from a unit row under the header (before dropping)


class ArrowRows(Sequence):
    """Rows over Arrow text columns, equal to the list of lists they stand for.

    The CSV path keeps a big table's cells in columns (tasks.staging writes them as they are);
    a row becomes a Python list only when it is asked for.
    """

    def __init__(self, arrays: list[pa.Array]):
        self.arrays = arrays

    def __len__(self) -> int:
        return len(self.arrays[0]) if self.arrays else 0

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return [array[index].as_py() for array in self.arrays]

    def __iter__(self) -> Iterator[list[Cell]]:
        return (list(row) for row in zip(*(array.to_pylist() for array in self.arrays), strict=True))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


def empty_context() -> dict[str, Any]:
    """The context keys every ParsedTable carries, all unset."""
    return {
        "title": None,
        "unit": None,
        "reporting_unit": None,
        "metadata": {},
        "declared_total": None,
        "declared_total_row": None,
        # every 合计/总计, 小计 and 其中 row: kind (total, subtotal, breakdown), row, label, cells by header label and
        # before (how many data rows came before it), so the normaliser can check each against the rows it sums
        "summary_rows": [],
        # units a unit row under the header gives each column (aligned with the header), when the form has one
        "column_units": None,
        "unit_row": None,
        "encoding": None,
        "delimiter": None,
    }


def clean_cell(value: object) -> Cell:
    """A cell as a stripped string with '\n' line breaks; empty → None."""
    if value is None:
        return None
    text = str(value).replace("\r\n", "\n").strip()
    return text or None


# what str.strip() strips (str.isspace(), none beyond U+3000), as an RE2 class: a cell starting or ending
# with one of these is stripped in Python, the others are left as Arrow read them
_SPACE_CODES = [i for i in range(0x3001) if chr(i).isspace()]
_SPACE = "".join(f"\\x{{{i:x}}}" for i in _SPACE_CODES)
_EDGE_SPACE = f"^[{_SPACE}]|[{_SPACE}]$"
# a cell that may label a summary row: ends in 合计/总计/小计 (合計 總計 小計), or starts with 其中
_SUMMARY_CELL = re.compile(
    "^{s}*其{s}*中|[合总總小]{s}*[计計]{s}*$".format(s="[" + re.escape("".join(map(chr, _SPACE_CODES))) + "]")
)


def clean_texts(array: pa.Array) -> pa.Array:
    """A text column as ``clean_cell`` cleans each cell: '\\r\\n' → '\\n', stripped, and empty → None."""
    if pc.any(pc.match_substring(array, "\r")).as_py():
        array = pc.replace_substring(array, "\r\n", "\n")
    flagged = pc.or_(pc.equal(pc.utf8_length(array), 0), pc.match_substring_regex(array, _EDGE_SPACE)).fill_null(False)
    if not pc.any(flagged).as_py():
        return array
    cells = array.filter(flagged).to_pylist()
    return pc.replace_with_mask(array, flagged, pa.array([cell.strip() or None for cell in cells], pa.string()))


def squeeze_label(text: Cell) -> str:
    """A header label without whitespace or line breaks inside it (the normaliser's clean_label does more)."""
    return re.sub(r"\s+", "", text or "")


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-16 with BOM, UTF-8 with BOM, UTF-8, else GB18030, each strict."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    return data.decode("gb18030"), "gb18030"


def _field_counts(sample: str, delimiter: str) -> list[int]:
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
    counts = []
    try:
        for record in reader:
            if any(cell.strip() for cell in record):
                counts.append(len(record))
    except csv.Error:
        pass
    return counts[:-1] if len(counts) > 1 else counts  # the sample may cut the last record


def detect_delimiter(sample: str, default: str = ",") -> str:
    """The delimiter among , TAB ; | that splits most records of the sample into the same width."""
    best, best_score = default, (0, 0)
    for delimiter in DELIMITERS:
        counts = [c for c in _field_counts(sample, delimiter) if c > 1]
        if not counts:
            continue
        width = max(set(counts), key=lambda c: (counts.count(c), c))
        score = (counts.count(width), width)
        if score > best_score or (score == best_score and delimiter == default):
            best, best_score = delimiter, score
    return best


def _non_empty(row: list[Cell]) -> list[Cell]:
    return [c for c in row if c]


def _is_blank(row: list[Cell]) -> bool:
    return not any(row)


def _has_total_label(row: list[Cell]) -> bool:
    if not any(c and _TOTAL_CHARS.search(c) for c in row):
        return False  # most rows: no 合 or 总 anywhere, so no cell can read 合计 or 总计
    labels = [c for c in row if c and not looks_numeric(c)][:3]
    return any(squeeze_label(c) in TOTAL_LABELS for c in labels)


def summary_kind(row: list[Cell]) -> str | None:
    """'total' for a 合计/总计 row (全省合计 too), 'subtotal' for 小计, 'breakdown' for 其中, else None.

    Read from the row's first three text cells, as a person finds a form's label column.
    """
    if not any(c and _SUMMARY_CELL.search(c) for c in row):
        return None  # most rows: no cell ends in 合计/总计/小计 (合計 總計 小計) or starts with 其中
    labels = [simplified(squeeze_label(c)) for c in row if c and not looks_numeric(c)][:3]
    for label in labels:
        if label in TOTAL_LABELS or (label.endswith(TOTAL_LABELS) and len(label) <= 8):
            return "total"
        if label.endswith(SUBTOTAL_LABELS) and len(label) <= 12:
            return "subtotal"
        if label.startswith(BREAKDOWN_LABEL):
            return "breakdown"
    return None


def _summary(kind: str, header: list[str], row: list[Cell], number: int, before: int) -> dict[str, Any]:
    label = next((squeeze_label(c) for c in row if c and not looks_numeric(c)), "")
    return {"kind": kind, "row": number, "label": label, "cells": _declared_total(header, row), "before": before}


def _declared_total(header: list[str], row: list[Cell]) -> dict[str, str]:
    """A 合计 row's cells by header label (the first cell under a repeated label)."""
    total: dict[str, str] = {}
    for label, cell in zip(header, row, strict=True):
        if cell is not None:
            total.setdefault(label, cell)
    return total


def _is_footer(row: list[Cell]) -> bool:
    cells = _non_empty(row)
    # one pass over the row: the cells joined by a non-space separator, so no word spans two cells
    if _FOOTER_WORD.search(squeeze_label("\x00".join(cells))):  # type: ignore[arg-type]
        return True
    return len(cells) == 1 and _NOTE.match(cells[0] or "") is not None


def _is_unit_row(row: list[Cell]) -> bool:
    cells = [simplified(c) for c in _non_empty(row) if c]
    return any("填报单位" in c or re.search(r"单位\s*[:：]", c) for c in cells)


def _is_header_candidate(row: list[Cell]) -> bool:
    cells = _non_empty(row)
    textual = [c for c in cells if not looks_numeric(c) or _YEAR_LABEL.fullmatch(to_halfwidth(c).strip())]
    return len(cells) >= 2 and len(textual) * 2 > len(cells)


def _is_column_number_row(row: list[Cell]) -> bool:
    cells = [to_halfwidth(c).strip() for c in _non_empty(row)]
    while cells and (_COLUMN_LETTER.fullmatch(cells[0]) or cells[0] in ("栏次", "栏号", "行次")):
        cells.pop(0)  # 栏次, 甲 乙 … label the descriptive columns before the numbered ones
    numbers = []
    for cell in cells:
        match = _COLUMN_NUMBER.fullmatch(cell)
        if not match:
            return False
        numbers.append(int(match[1]))
    return len(numbers) >= 2 and numbers == list(range(numbers[0], numbers[0] + len(numbers))) and numbers[0] <= 1


def unit_row_units(row: list[Cell]) -> list[str | None] | None:
    """The unit of each column of a unit row under the header (计量单位 | | 万元 | 万元), or None if it is none.

    Every filled cell is a unit (元, 万元, 人, %, in brackets or not), the word 单位/计量单位, a dash or a column
    letter (甲 乙); at least one is a unit.
    """
    units: list[str | None] = []
    found = False
    for cell in row:
        text = simplified(squeeze_label(to_halfwidth(cell or ""))).strip("()（）[]【】")
        if not text or text in ("-", "—", "/") or _UNIT_LABEL.match(text) or _COLUMN_LETTER.fullmatch(text):
            units.append(None)
            continue
        if text not in UNIT_WORDS:
            return None
        units.append(text)
        found = True
    return units if found else None


def read_form_context(texts: list[str], context: dict[str, Any]) -> None:
    """Fill unit and reporting unit from a row like '填报单位（盖章）：某某民政厅  单位：万元'."""
    text = simplified("  ".join(t.strip() for t in texts if t and t.strip()))  # 單位：萬元 too
    if context.get("reporting_unit") is None and "填报单位" in text:
        match = _REPORTING_UNIT.search(text)
        name = match["name"].strip(" :：") if match else ""
        context["reporting_unit"] = name or None
    if context.get("unit") is None:
        match = _UNIT.search(to_halfwidth(text).replace("（", "(").replace("）", ")"))
        if match:
            context["unit"] = match["unit"].strip()


def _apply_merges(grid: Grid, merges: list[Merge], header_rows: range) -> None:
    """Copy merged labels over their range in the header, and vertical merges down the data."""
    for r0, c0, r1, c1 in merges:
        if r0 >= len(grid):
            continue
        value = grid[r0][c0] if c0 < len(grid[r0]) else None
        in_header = r0 in header_rows
        if value is None or not (in_header or (r0 > header_rows.stop - 1 and r1 > r0)):
            continue
        for r in range(r0, min(r1, len(grid) - 1) + 1):
            if in_header and r not in header_rows:
                break
            for c in range(c0, min(c1, len(grid[r]) - 1) + 1):
                if grid[r][c] is None:
                    grid[r][c] = value


def _is_continuation(grid: Grid, r: int, header_start: int, merges: list[Merge]) -> bool:
    """True when row r continues the header rows header_start..r-1."""
    row, above = grid[r], grid[r - 1]
    if _is_blank(row) or any(looks_numeric(c) for c in row):
        return False
    if _is_footer(row) or _is_column_number_row(row):
        return False
    if unit_row_units(row) is not None and not all(_UNIT_ONLY.fullmatch(c or "") for c in _non_empty(row)):
        return False  # 计量单位 | | 万元: the columns' units, read by _skip_under_header
    for r0, c0, r1, c1 in merges:
        if header_start <= r0 < r <= r1:
            return True  # a header label merged down into this row
        if r1 == r - 1 and r0 >= header_start and c1 > c0 and any(row[c0 : c1 + 1]):
            return True  # labels under a parent merged across columns: 民政事业费 over 合计 | 中央 | 省级
    if _has_total_label(row):
        return False
    if all(_UNIT_ONLY.fullmatch(c or "") for c in _non_empty(row)):
        return True
    width = len(row)
    blank_under_label = any(above[c] and not row[c] for c in range(width))
    label_under_blank = any(not above[c] and row[c] for c in range(width))
    return blank_under_label and label_under_blank


def _flatten_header(levels: list[list[Cell]], merged: bool) -> list[str]:
    """One label per column: parent/child joined with '/'; a child-less column keeps its parent."""
    levels = [list(level) for level in levels]
    if not merged:
        # Without merge information a parent spans the blanks to its right that have children.
        for k in range(len(levels) - 1):
            parent, child = levels[k], levels[k + 1]
            current = None
            for c in range(len(parent)):
                if parent[c]:
                    current = parent[c] if child[c] else None
                elif current is not None and child[c]:
                    parent[c] = current
                else:
                    current = None
    header = []
    for c in range(len(levels[0])):
        parts: list[str] = []
        for level in levels:
            label = squeeze_label(level[c])
            if not label or (parts and parts[-1] == label):
                continue
            if parts and _UNIT_ONLY.fullmatch(label):
                parts[-1] += label  # '(万元)' under a label is its unit, not a child
            else:
                parts.append(label)
        header.append("/".join(parts))
    return header


def table_from_grid(grid: Grid, row_numbers: list[int], merges: list[Merge] | None = None) -> GridTable:
    """Find title, unit row, header rows, data, 合计 row and footer in a grid of cleaned cells."""
    merges = list(merges or [])
    width = max((len(r) for r in grid), default=0)
    grid = [list(r) + [None] * (width - len(r)) for r in grid]
    context = empty_context()
    titles: list[str] = []

    start = None
    for r, row in enumerate(grid):
        if _is_blank(row):
            continue
        if _is_unit_row(row):
            read_form_context([c for c in row if c], context)
            continue
        cells = _non_empty(row)
        if len(cells) == 1:
            titles.append(cells[0] or "")
            continue
        if not _is_header_candidate(row):
            raise NoHeaderError(message("no_header_row.data", row=row_numbers[r]))
        start = r
        break
    if start is None:
        raise NoHeaderError(message("no_header_row"))
    if titles:
        context["title"] = " ".join(titles)
        if context["unit"] is None:
            read_form_context([t for t in titles if re.search(r"单位\s*[:：]", simplified(t))], context)

    stop = start + 1
    while stop < len(grid) and stop - start < MAX_HEADER_ROWS and _is_continuation(grid, stop, start, merges):
        stop += 1
    _apply_merges(grid, merges, range(start, stop))
    header = _flatten_header(grid[start:stop], merged=bool(merges))

    rows: list[list[Cell]] = []
    numbers: list[int] = []
    first, units = _skip_under_header(grid, stop, row_numbers, context)
    for r in range(first, len(grid)):
        row = grid[r]
        if _is_blank(row):
            continue
        if _is_footer(row):
            break
        kind = summary_kind(row)
        if kind:
            _note_summary(context, kind, header, row, row_numbers[r], len(rows))
            continue
        rows.append(row)
        numbers.append(row_numbers[r])

    keep = [c for c in range(width) if header[c] or any(row[c] for row in rows)]
    if units is not None:
        context["column_units"] = [units[c] for c in keep]
    return GridTable(
        header=[header[c] for c in keep],
        rows=[[row[c] for c in keep] for row in rows],
        row_numbers=numbers,
        context=context,
        first=first,
        labels=header,
        units=units,
    )


def _skip_under_header(
    grid: Grid, stop: int, row_numbers: list[int], context: dict[str, Any]
) -> tuple[int, list[str | None] | None]:
    """(first data row, each column's unit) past the blank, column-number (甲 乙 1 2 3) and unit rows under a header."""
    first, units = stop, None
    while first < len(grid):
        row = grid[first]
        if _is_blank(row) or _is_column_number_row(row):
            first += 1
            continue
        found = unit_row_units(row)
        if found is None or units is not None:
            break
        units, context["unit_row"] = found, row_numbers[first]
        first += 1
    return first, units


def _note_summary(context: dict[str, Any], kind: str, header: list[str], row: list[Cell], number: int, before: int):
    """Keep a 合计/小计/其中 row on the context (the first 合计 also as declared_total, as before)."""
    context["summary_rows"].append(_summary(kind, header, row, number, before))
    if kind == "total" and context["declared_total"] is None:
        context["declared_total"], context["declared_total_row"] = _declared_total(header, row), number


# A data row can be blank, a footer or a 合计/小计/其中 row only if one of its cells holds one of these characters
# (or none holds anything): the first characters of FOOTER_WORDS, of the notes _NOTE reads (注 说明 备注), and
# 计 計 其, one of which every cell summary_kind reads as a label holds. Rows without any are plain data; the
# others are looked at as table_from_grid does.
_NOTE_WORDS = ("注", "说明", "备注")
_MARKER_CHARS = re.compile(f"[{''.join(sorted({w[0] for w in (*FOOTER_FORMS, *_NOTE_WORDS)} | set('计計其')))}]")
HEAD_ROWS = 64


def table_from_columns(
    arrays: list[pa.Array], row_numbers: list[int], merges: list[Merge] | None = None
) -> GridTable | None:
    """What :func:`table_from_grid` finds, for a grid held as Arrow text columns of cleaned cells.

    The first ``HEAD_ROWS`` rows go through table_from_grid for the title, unit row and header; the
    data rows below are checked on whole columns, and only rows that may be blank, a footer or a 合计
    row are looked at one by one. None when the header does not end within those first rows, or a
    merged range reaches down into the data (table_from_grid copies its value down the rows): the
    caller then builds the whole grid.
    """
    n = len(arrays[0]) if arrays else 0
    if n <= HEAD_ROWS:
        return None
    head = [list(row) for row in zip(*(a.slice(0, HEAD_ROWS).to_pylist() for a in arrays), strict=True)]
    try:
        probe = table_from_grid(head, row_numbers[:HEAD_ROWS], merges)
    except NoHeaderError:
        return None  # the whole grid says where, or whether, its header is
    first = probe.first
    if first >= HEAD_ROWS - 1 or any(r1 > r0 and r1 >= first for r0, _, r1, _ in merges or []):
        return None
    context = probe.context
    # found again below, over every row
    context.update(declared_total=None, declared_total_row=None, summary_rows=[], column_units=None)
    header = probe.labels

    blank = np.ones(n, dtype=bool)
    marked = np.zeros(n, dtype=bool)
    for array in arrays:
        blank &= array.is_null().to_numpy(zero_copy_only=False)
        marked |= pc.match_substring_regex(array, _MARKER_CHARS.pattern).fill_null(False).to_numpy(zero_copy_only=False)
    keep = np.ones(n, dtype=bool)
    keep[:first] = False
    looked = np.flatnonzero(blank | marked)
    looked = looked[looked >= first]
    if len(looked):
        cells = [a.take(pa.array(looked)).to_pylist() for a in arrays]
        for r, row in zip(looked.tolist(), zip(*cells, strict=True), strict=True):
            row = list(row)
            if _is_blank(row):
                keep[r] = False
                continue
            if _is_footer(row):
                keep[r:] = False
                break
            kind = summary_kind(row)
            if kind:
                _note_summary(context, kind, header, row, row_numbers[r], int(keep[first:r].sum()))
                keep[r] = False
    mask = pa.array(keep)
    data = [a.filter(mask) for a in arrays]
    kept = [c for c, a in enumerate(data) if header[c] or a.null_count < len(a)]
    if probe.units is not None:
        context["column_units"] = [probe.units[c] for c in kept]
    return GridTable(
        header=[header[c] for c in kept],
        rows=ArrowRows([data[c] for c in kept]),  # type: ignore[arg-type]
        row_numbers=np.asarray(row_numbers, dtype=np.int64)[keep].tolist(),
        context=context,
        first=first,
        labels=header,
        units=probe.units,
    )


def record_value(value: object, where: str) -> Cell:
    """A JSON scalar as a cell string; nested values are refused."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, str):
        return clean_cell(value)
    raise CellValueError(message("json_nested_value", where=where))


def plain_json(value: Any) -> Any:
    """JSON metadata with Decimals turned back into ints and floats."""
    if isinstance(value, Decimal):
        if not value.is_finite() or abs(value.adjusted()) > 18:  # beyond what metadata holds: kept as written
            return str(value)
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_json(v) for v in value]
    return value
