"""Whole-column helpers of the normaliser: each distinct cell parsed once by the scalar parser, mapped back.

A form of 100,000 rows holds a few hundred counties, three years and a handful of fund types:
parsing each distinct value once and looking the result up per row is what makes a column cheap.
The scalar parsers (``helpers``, ``values``) keep their bounds, messages and edge cases; a cell
they refuse becomes ``FAILED`` here, and its row is read again by the row-by-row path, which
words the rejection exactly as it always has.

Amounts, counts and names are mostly distinct, so a call per distinct cell is still a call per
row: their common cells (plain numbers, text that cannot mean 'none') are settled on the whole
column by Arrow and numpy, exactly as the scalar parser reads them, and only the rest (units in
the cell, full-width digits, blanks, '-', junk) go to it, one call per distinct cell.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from fupin.tasks.normalise.values import MAX_SIGNIFICANT_DIGITS, parse_number
from fupin.warehouse.contracts import contracts


class RowError(Exception):
    """A row that cannot become a record: the field, the submitted value, the reason and its code."""

    def __init__(self, field_name: str, value: str | None, reason: str, code: str | None = None):
        super().__init__(reason)
        self.field, self.value, self.reason, self.code = field_name, value, reason, code


class _Failed:
    """A cell its scalar parser refused."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "FAILED"


FAILED = _Failed()


def by_distinct(values: Sequence[Hashable], fn: Callable[[Any], Any]) -> list[Any]:
    """``fn`` of every value, called once per distinct value; a refused value (ValueError, RowError) is FAILED."""
    memo: dict[Hashable, Any] = {}
    for value in dict.fromkeys(values):
        try:
            memo[value] = fn(value)
        except (ValueError, RowError):
            memo[value] = FAILED
    return list(map(memo.__getitem__, values))


def by_distinct_pairs(
    left: Sequence[str | None], right: Sequence[str | None], fn: Callable[[tuple[Any, Any]], Any]
) -> list[Any]:
    """``by_distinct`` over the pairs (left[i], right[i]), found on Arrow: no tuple per row (a code and a name)."""
    keys = np.zeros(len(left), np.int64)
    for column in (left, right):
        encoded = pa.array(column, pa.string()).dictionary_encode()
        width = len(encoded.dictionary) + 1  # the last index: an empty cell
        keys = keys * width + encoded.indices.fill_null(width - 1).to_numpy(zero_copy_only=False)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    found = np.empty(len(first), dtype=object)
    for k, i in enumerate(first.tolist()):
        try:
            found[k] = fn((left[i], right[i]))
        except (ValueError, RowError):
            found[k] = FAILED
    return found[inverse].tolist()


@dataclass(frozen=True)
class Parsed:
    """A column's converted cells as one Arrow array (null: an empty or a refused cell) and where it was refused."""

    values: pa.Array
    refused: np.ndarray


def failed(values: list[Any] | Parsed) -> np.ndarray:
    """Where a column of looked-up values holds FAILED."""
    if isinstance(values, Parsed):
        return values.refused
    return np.fromiter((v is FAILED for v in values), dtype=bool, count=len(values))


def is_none(values: list[Any] | Parsed) -> np.ndarray:
    """Where a column of looked-up values holds None."""
    if isinstance(values, Parsed):
        return values.values.is_null().to_numpy(zero_copy_only=False) & ~values.refused
    return np.fromiter((v is None for v in values), dtype=bool, count=len(values))


def completed(cells: Sequence[str | None], settled: np.ndarray, values: pa.Array, slow: Callable[[Any], Any]) -> Parsed:
    """A column whose ``settled`` cells hold their ``values``; the others converted by ``slow``, once per distinct."""
    rest = np.flatnonzero(~settled)
    found = by_distinct([cells[i] for i in rest.tolist()], slow)
    refused = np.zeros(len(cells), bool)
    refused[rest] = failed(found)
    if len(rest):
        slow_values = pa.array([None if v is FAILED else v for v in found], values.type)
        values = pc.replace_with_mask(values, pa.array(~settled), slow_values)
    return Parsed(values, refused)


# a plain number: digits (grouped by three or not), a point and its decimals, a minus; no unit, no space
_PLAIN = r"^(?P<sign>-?)(?P<whole>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<fraction>\d*))?$"
_FEN_PLACES = 6  # decimals settled on the column: 万元 with six is yuan to the fen
_WHOLE_DIGITS = 15  # under 10^15 yuan (and within int64 in fen), well inside DECIMAL(18,2)


class Plain(NamedTuple):
    """The plain numbers of a column (``plain``) and, where plain, their parts (0 elsewhere)."""

    plain: np.ndarray
    minus: np.ndarray
    whole: np.ndarray
    micros: np.ndarray  # the decimals in millionths
    places: np.ndarray  # how many decimals the cell wrote


def plain_numbers(cells: Sequence[str | None]) -> Plain:
    """Which cells are plain numbers of at most ``_WHOLE_DIGITS`` whole and ``_FEN_PLACES`` decimal digits (within
    MAX_SIGNIFICANT_DIGITS), the numbers ``parse_number`` reads with no unit, and their parts."""
    parts = pc.extract_regex(pa.array(cells, pa.string()), _PLAIN)
    whole = pc.replace_substring(parts.field("whole"), ",", "")
    fraction = parts.field("fraction")
    places = pc.utf8_length(fraction)
    plain = pc.and_(
        parts.is_valid(),
        pc.and_(
            pc.and_(pc.less_equal(pc.utf8_length(whole), _WHOLE_DIGITS), pc.less_equal(places, _FEN_PLACES)),
            pc.less_equal(pc.add(pc.utf8_length(whole), places), MAX_SIGNIFICANT_DIGITS),
        ),
    ).fill_null(False)
    # out of bounds: '0', so the casts below cannot overflow; those cells are the scalar parser's
    whole = pc.if_else(plain, whole, "0")
    micros = pc.if_else(plain, pc.utf8_rpad(fraction, _FEN_PLACES, "0"), "0")
    return Plain(
        plain.to_numpy(zero_copy_only=False),
        pc.equal(parts.field("sign"), "-").to_numpy(zero_copy_only=False),
        pc.cast(whole, pa.int64()).to_numpy(zero_copy_only=False),
        pc.cast(micros, pa.int64()).to_numpy(zero_copy_only=False),
        pc.if_else(plain, places, 0).to_numpy(zero_copy_only=False),
    )


def number_sum(cells: Sequence[str | None]) -> tuple[Decimal, int]:
    """The sum of the cells' numbers and how many there are (``parse_number``'s; empty and refused cells left out),
    the Decimal that summing parse_number's values from Decimal(0) gives, to its last written decimal."""

    def number(cell: str | None) -> Decimal | None:
        return parse_number(cell)[0]

    plain, minus, whole, micros, places = plain_numbers(cells)
    others = by_distinct([cells[i] for i in np.flatnonzero(~plain).tolist()], number)
    if any(v is not None and v is not FAILED for v in others):  # units, full-width digits …: summed one by one
        values = [v for v in by_distinct(cells, number) if v is not None and v is not FAILED]
        return sum(values, Decimal(0)), len(values)
    signed = np.where(minus, -1, 1)
    # in Python integers: 100,000 amounts of 15 digits overflow int64
    micros_total = sum((whole * signed).tolist()) * 10**_FEN_PLACES + sum((micros * signed).tolist())
    exponent = -int(places.max(initial=0))  # a sum of Decimals keeps the most decimals any of them wrote
    total = Decimal(micros_total).scaleb(-_FEN_PLACES).quantize(Decimal(1).scaleb(exponent))
    return total, int(plain.sum())


def money_column(cells: Sequence[str | None], factor: int | None, slow: Callable[[Any], Any]) -> Parsed:
    """Yuan of each cell, as DECIMAL(18,2): plain numbers × ``factor`` (yuan per unit of the column) in integer
    fen, rounded half to even as ``to_yuan``'s Decimal.quantize rounds; other cells by ``slow`` (``to_yuan``)."""
    if factor is None:  # a unit that is no money: every cell is the scalar parser's to refuse
        return completed(cells, np.zeros(len(cells), bool), pa.nulls(len(cells), pa.decimal128(18, 2)), slow)
    plain, minus, whole, micros, _ = plain_numbers(cells)
    settled = plain & (whole < 10**_WHOLE_DIGITS // factor)
    per_unit = factor * 100  # fen per unit
    scale = 10**_FEN_PLACES
    fen, rest = np.divmod(np.where(settled, micros, 0) * per_unit, scale)
    fen += np.where(settled, whole, 0) * per_unit
    fen += (2 * rest > scale) | ((2 * rest == scale) & (fen % 2 == 1))
    return completed(cells, settled, _yuan_of_fen(np.where(minus, -fen, fen)), slow)


def _yuan_of_fen(fen: np.ndarray) -> pa.Array:
    """Fen as DECIMAL(18,2) yuan: a decimal's stored integer is its value in hundredths, little-endian in 128 bits."""
    words = np.empty((len(fen), 2), np.int64)
    words[:, 0], words[:, 1] = fen, fen >> 63
    return pa.Array.from_buffers(pa.decimal128(18, 2), len(fen), [None, pa.py_buffer(words)])


_COUNT_DIGITS = 9  # under 10^9: within MAX_COUNT, and within int32


def count_column(cells: Sequence[str | None], arrow_type: pa.DataType, slow: Callable[[Any], Any]) -> Parsed:
    """Whole numbers of each cell: plain integers ('1,234', '12.0') on the column, others by ``slow`` (``to_count``)."""
    plain, minus, whole, micros, _ = plain_numbers(cells)
    settled = plain & (whole < 10**_COUNT_DIGITS) & (micros == 0)
    values = np.where(settled, np.where(minus, -whole, whole), 0)
    return completed(cells, settled, pa.array(values).cast(arrow_type), slow)


# the characters of every cell is_missing reads as 'none' (—, -, /, 无, N/A, NA, null, None, in either width and
# any case) and the spaces str.strip() strips: a cell with any other character is text (tests pin the list)
_SPACES = r"\t-\r\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
MAYBE_MISSING = rf"^[{_SPACES}\-/AELNOUaelnou–—无－／ＡＥＬＮＯＵａｅｌｎｏｕ]*$"


def text_column(cells: Sequence[str | None], slow: Callable[[Any], Any]) -> Parsed:
    """Text cells as they are, but those that may mean 'none' (empty, '-', '无', 'N/A' …), read by ``slow``."""
    text = pa.array(cells, pa.string())
    maybe = pc.match_substring_regex(text, MAYBE_MISSING).fill_null(True).to_numpy(zero_copy_only=False)
    return completed(cells, ~maybe, text, slow)


def stripped(value: object) -> str | None:
    """A cell as the row path reads it: None, or its text without surrounding spaces."""
    return None if value is None else str(value).strip()


def width_of(header: Sequence[Any], rows: Sequence[Sequence[Any]]) -> int:
    """Columns of a table: its header's, or its longest row's when wider."""
    columns = getattr(rows, "columns", None)
    return max([len(header), *(map(len, rows) if columns is None else [len(columns)])])


def cell_columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[str | None]]:
    """The rows' cells column by column, stripped; a short row's missing cells are None."""
    if not rows:
        return [[] for _ in range(width)]
    if isinstance(getattr(rows, "columns", None), list):  # rows over columns (tasks.staging.ColumnRows)
        # staged cells are the readers' cleaned cells (tasks.parse: stripped text, empty → None), taken as they are
        n = len(rows)
        return [*rows.columns, *([[None] * n] * (width - len(rows.columns)))]  # type: ignore[attr-defined]
    if any(len(row) != width for row in rows):
        rows = [[*row[:width], *([None] * (width - len(row)))] for row in rows]
    return [by_distinct(column, stripped) for column in zip(*rows, strict=True)]


POSITION, ORDINAL = "_position", "_ordinal"  # where a record's row sits in the table, and its place among the row's


def staging_schema(dataset: str) -> pa.Schema:
    """A dataset's normalised records: the sheet row they came from, then the contract's columns."""
    contract = contracts()[dataset]
    return pa.schema([("_row", pa.int64()), *((c.name, c.arrow_type) for c in contract.columns)])


def _ordered_schema(dataset: str) -> pa.Schema:
    return staging_schema(dataset).append(pa.field(POSITION, pa.int64())).append(pa.field(ORDINAL, pa.int32()))


def segment(dataset: str, row_numbers: np.ndarray, rows: np.ndarray, ordinal: int, values: dict[str, Any]) -> pa.Table:
    """Records of the rows at ``rows``: a list is taken at those rows, a scalar repeated, an absent column null."""
    arrays = []
    for f in _ordered_schema(dataset):
        if f.name == "_row":
            arrays.append(pa.array(row_numbers[rows], pa.int64()))
        elif f.name == POSITION:
            arrays.append(pa.array(rows, pa.int64()))
        elif f.name == ORDINAL:
            arrays.append(pa.array(np.full(len(rows), ordinal), pa.int32()))
        elif f.name not in values:
            arrays.append(pa.nulls(len(rows), f.type))
        elif isinstance(values[f.name], Parsed):
            arrays.append(values[f.name].values.take(pa.array(rows, pa.int64())).cast(f.type))
        elif isinstance(values[f.name], list):
            column = values[f.name]
            arrays.append(pa.array([column[i] for i in rows.tolist()], f.type))
        else:
            arrays.append(pa.array([values[f.name]] * len(rows), f.type))
    return pa.Table.from_arrays(arrays, schema=_ordered_schema(dataset))


def in_row_order(dataset: str, segments: list[pa.Table], records: list[dict[str, Any]]) -> pa.Table:
    """Segments and the row path's records as one table, in the order the rows and their records come."""
    schema = _ordered_schema(dataset)
    parts = [*segments, pa.Table.from_pylist(records, schema=schema)]
    table = pa.concat_tables(parts).sort_by([(POSITION, "ascending"), (ORDINAL, "ascending")])
    return table.drop_columns([POSITION, ORDINAL])


def as_records(table: pa.Table | None) -> list[dict[str, Any]]:
    """A staging table's records as dicts (the row path's shape), for checks and tests."""
    return [] if table is None else table.to_pylist()
