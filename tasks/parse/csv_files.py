"""CSV and delimited text: encoding, delimiter, records with their physical line numbers."""

from __future__ import annotations

import csv
import io
import re

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from fupin.core.config import Limits
from fupin.core.messages import CodedError, code_of, message, said_of
from fupin.tasks.parse.helpers import (
    GridTable,
    NoHeaderError,
    ParsedTable,
    ParseError,
    clean_cell,
    clean_texts,
    decode_text,
    detect_delimiter,
    table_from_columns,
    table_from_grid,
)

SAMPLE_CHARS = 64 * 1024
_BLANK = re.compile(rb"[ \t\r\n\xef\xbb\xbf]*")  # what stripping leaves nothing of, matched without a copy
_WORKBOOK_MAGIC = {b"PK\x03\x04": "XLSX 工作簿", b"\xd0\xcf\x11\xe0": "XLS 工作簿"}


def decode_csv(data: bytes, name: str) -> tuple[str, str]:
    """The text of a delimited file and its encoding; binary content is refused."""
    for magic, what in _WORKBOOK_MAGIC.items():
        if data.startswith(magic):
            raise ParseError(message("binary_in_csv", name=name, what=what))
    if not data.startswith((b"\xff\xfe", b"\xfe\xff")) and b"\x00" in data:
        offset = data.index(b"\x00")
        raise ParseError(message("binary_in_csv.nul", name=name, offset=offset))
    try:
        return decode_text(data)
    except UnicodeDecodeError as exc:
        raise ParseError(message("encoding_unknown", name=name, offset=exc.start, byte=data[exc.start])) from None


class LimitExceeded(CodedError, ValueError):
    """A CSV beyond one of the configured limits (fupin.core.config.Limits)."""


def read_grid(text: str, delimiter: str, limits: Limits | None = None) -> tuple[list[list[str | None]], list[int]]:
    """Records as cleaned cells, each with the physical line it starts on (1-based)."""
    limits = limits or Limits.from_env()
    # a line longer than this (one 50 MB line of 25 M fields) is refused before the csv module splits it
    long_line = re.search(rf"[^\n]{{{limits.line_chars + 1}}}", text)
    if long_line:
        line = text.count("\n", 0, long_line.start()) + 1
        raise LimitExceeded(limits.message("line_chars", limits.line_chars + 1, f"一行（第 {line} 行）字符数"))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    grid: list[list[str | None]] = []
    numbers: list[int] = []
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ValueError(f"第 {start} 行（{exc}）") from None
        if len(grid) >= limits.rows_per_sheet:
            raise LimitExceeded(limits.message("rows_per_sheet", len(grid) + 1, "每张表行数（至少）"))
        if len(record) > limits.columns_per_row:
            raise LimitExceeded(limits.message("columns_per_row", len(record), f"第 {start} 行列数"))
        longest = max(map(len, record), default=0)
        if longest > limits.field_chars:
            raise LimitExceeded(limits.message("field_chars", longest, f"第 {start} 行单元格字符数"))
        # clean_cell, with its line-break folding only for the cells that hold a carriage return
        grid.append([(cell.strip() or None) if "\r" not in cell else clean_cell(cell) for cell in record])
        numbers.append(start)
    return grid, numbers


def read_columns(text: str, delimiter: str, limits: Limits | None = None) -> list[pa.Array] | None:
    """The records as cleaned text columns (row k on line k + 1) read by Arrow, or None for read_grid.

    Only for a file whose every record is one physical line of the same number of fields, within
    every limit: anything else (ragged rows, a quoted line break, a lone carriage return, a limit
    reached, a line Arrow refuses) goes to read_grid, which reads it, and words its refusal, as always.
    Arrow splits fields as the csv module does (quotes, doubled quotes, quotes inside a field).
    """
    limits = limits or Limits.from_env()
    if not text or text.count("\r") != text.count("\r\n"):
        return None  # a carriage return that ends no line: the csv module counts it as a line of its own
    lines = text.split("\n")
    if max(map(len, lines)) > limits.line_chars:
        return None
    physical = len(lines) - (lines[-1] == "")
    del lines
    width = len(next(csv.reader([text[: text.find("\n")] if "\n" in text else text], delimiter=delimiter), []))
    if not 0 < width <= limits.columns_per_row or physical > limits.rows_per_sheet:
        return None
    try:
        table = pa_csv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=pa_csv.ReadOptions(autogenerate_column_names=True, block_size=1 << 24),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(width)},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if table.num_rows != physical or table.num_columns != width:
        return None  # a record over two lines: its row numbers are the csv module's to count
    arrays = [column.combine_chunks() for column in table.columns]
    if any((pc.max(pc.utf8_length(a)).as_py() or 0) > limits.field_chars for a in arrays):
        return None
    return [clean_texts(a) for a in arrays]


def _table(text: str, delimiter: str) -> GridTable:
    """The table of a delimited text: Arrow's columns when they can be read so, else the csv module's grid."""
    arrays = read_columns(text, delimiter)
    if arrays is not None:
        found = table_from_columns(arrays, list(range(1, len(arrays[0]) + 1)))
        if found is not None:
            return found
    grid, numbers = read_grid(text, delimiter)
    return table_from_grid(grid, numbers)


def read_csv(data: bytes, name: str, default_delimiter: str = ",") -> list[ParsedTable]:
    """One table from a delimited text file's bytes."""
    if _BLANK.fullmatch(data):
        raise ParseError(message("empty_file", name=name))
    text, encoding = decode_csv(data, name)
    delimiter = detect_delimiter(text[:SAMPLE_CHARS], default=default_delimiter)
    try:
        table = _table(text, delimiter)
    except (NoHeaderError, LimitExceeded) as exc:
        raise ParseError(said_of(name, exc), code_of(exc)) from None
    except ValueError as exc:
        raise ParseError(message("csv_malformed", name=name, error=str(exc))) from None
    table.context.update(encoding=encoding, delimiter=delimiter)
    if not table.rows and table.context["declared_total"] is None:
        return []
    return [ParsedTable(name, None, table.header, table.rows, table.row_numbers, table.context)]
