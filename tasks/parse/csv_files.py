"""CSV and delimited text: encoding, delimiter, records with their physical line numbers."""

from __future__ import annotations

import csv
import io
import re

from fupin.config import Limits
from tasks.parse.helpers import (
    NoHeaderError,
    ParsedTable,
    ParseError,
    clean_cell,
    decode_text,
    detect_delimiter,
    table_from_grid,
)

SAMPLE_CHARS = 64 * 1024
_WORKBOOK_MAGIC = {b"PK\x03\x04": "XLSX 工作簿", b"\xd0\xcf\x11\xe0": "XLS 工作簿"}


def decode_csv(data: bytes, name: str) -> tuple[str, str]:
    """The text of a delimited file and its encoding; binary content is refused."""
    for magic, what in _WORKBOOK_MAGIC.items():
        if data.startswith(magic):
            raise ParseError(
                f"{name}：扩展名是 .csv，内容却是{what}：请改用 .xlsx/.xls 扩展名报送，或另存为 CSV [binary_in_csv]"
            )
    if not data.startswith((b"\xff\xfe", b"\xfe\xff")) and b"\x00" in data:
        offset = data.index(b"\x00")
        raise ParseError(
            f"{name}：CSV 文件中有二进制内容（第 {offset} 字节为 NUL）："
            "请从 Excel 另存为 CSV 后重新报送 [binary_in_csv]"
        )
    try:
        return decode_text(data)
    except UnicodeDecodeError as exc:
        raise ParseError(
            f"{name}：文字编码无法识别（既不是 UTF-8 也不是 GB18030，第 {exc.start} 字节为 0x{data[exc.start]:02x}）："
            "请用 Excel 另存为“CSV UTF-8”后重新报送 [encoding_unknown]"
        ) from None


class LimitExceeded(ValueError):
    """A CSV beyond one of the configured limits (fupin.config.Limits)."""


def read_grid(text: str, delimiter: str, limits: Limits | None = None) -> tuple[list[list[str | None]], list[int]]:
    """Records as cleaned cells, each with the physical line it starts on (1-based)."""
    limits = limits or Limits.from_env()
    # a line longer than this (one 50 MB line of 25 M fields) is refused before the csv module splits it
    long_line = re.search(rf"[^\n]{{{limits.line_chars + 1}}}", text)
    if long_line:
        line = text.count("\n", 0, long_line.start()) + 1
        raise LimitExceeded(limits.exceeded("line_chars", limits.line_chars + 1, f"一行（第 {line} 行）字符数"))
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
            raise LimitExceeded(limits.exceeded("rows_per_sheet", len(grid) + 1, "每张表行数（至少）"))
        if len(record) > limits.columns_per_row:
            raise LimitExceeded(limits.exceeded("columns_per_row", len(record), f"第 {start} 行列数"))
        longest = max(map(len, record), default=0)
        if longest > limits.field_chars:
            raise LimitExceeded(limits.exceeded("field_chars", longest, f"第 {start} 行单元格字符数"))
        # clean_cell, with its line-break folding only for the cells that hold a carriage return
        grid.append([(cell.strip() or None) if "\r" not in cell else clean_cell(cell) for cell in record])
        numbers.append(start)
    return grid, numbers


def read_csv(data: bytes, name: str, default_delimiter: str = ",") -> list[ParsedTable]:
    """One table from a delimited text file's bytes."""
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise ParseError(f"{name}：文件是空的：请报送填好的报表 [empty_file]")
    text, encoding = decode_csv(data, name)
    delimiter = detect_delimiter(text[:SAMPLE_CHARS], default=default_delimiter)
    try:
        grid, numbers = read_grid(text, delimiter)
        table = table_from_grid(grid, numbers)
    except (NoHeaderError, LimitExceeded) as exc:
        raise ParseError(f"{name}：{exc}") from None
    except ValueError as exc:
        raise ParseError(f"{name}：CSV 格式有误，{exc}：请从 Excel 另存为 CSV 后重新报送 [csv_malformed]") from None
    table.context.update(encoding=encoding, delimiter=delimiter)
    if not table.rows and table.context["declared_total"] is None:
        return []
    return [ParsedTable(name, None, table.header, table.rows, table.row_numbers, table.context)]
