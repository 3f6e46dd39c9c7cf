"""The cell converter: each column's cells converted once per distinct cell, a refusal kept with its reason.

A form of 100,000 rows holds a few hundred counties, three years and a handful of fund types:
converting each distinct value once and looking the result up per row is what makes a column cheap.
Amounts, counts and names are mostly distinct, so a call per distinct cell is still a call per
row: their common cells (plain numbers, text that cannot mean 'none') are settled on the whole
column (``numbers.plain_yuan``, ``numbers.plain_counts``), and only the rest (units in the cell,
full-width digits, blanks, '-', junk) go to the cell's own converter, one call per distinct cell.

A cell its converter refuses is ``FAILED``, and the error the converter raised is kept (``error_at``): the
field, the cell, the reason a clerk reads and its code. The normaliser builds a row's rejection from the first
refused cell of the row, in the order the row's cells are read (``tasks.normalise._Plan``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fupin.tasks.normalise.numbers import plain_counts, plain_yuan
from fupin.warehouse.contracts import contracts


class RowError(Exception):
    """A row that cannot become a record: the field, the submitted value, the reason and its code."""

    def __init__(self, field_name: str, value: str | None, reason: str, code: str | None = None):
        super().__init__(reason)
        self.field, self.value, self.reason, self.code = field_name, value, reason, code


class _Failed:
    """A cell its converter refused."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "FAILED"


FAILED = _Failed()


def refused(value: Any) -> bool:
    """True for a cell its converter refused."""
    return value is FAILED


class Looked(list):
    """Converted cells, one per input value, with the error each refused input value raised."""

    def __init__(self, values: Any, inputs: Sequence[Any], refusals: dict[Hashable, Exception]):
        super().__init__(values)
        self.inputs, self.refusals = inputs, refusals


def by_distinct(values: Sequence[Hashable], fn: Callable[[Any], Any]) -> Looked:
    """``fn`` of every value, called once per distinct value; a refused value (ValueError, RowError) is FAILED,
    its error kept (``error_at``)."""
    memo: dict[Hashable, Any] = {}
    refusals: dict[Hashable, Exception] = {}
    for value in dict.fromkeys(values):
        try:
            memo[value] = fn(value)
        except (ValueError, RowError) as exc:
            memo[value], refusals[value] = FAILED, exc
    return Looked(map(memo.__getitem__, values), values, refusals)


class _Pairs:
    """(left[i], right[i]) on demand."""

    def __init__(self, left: Sequence[Any], right: Sequence[Any]):
        self.left, self.right = left, right

    def __getitem__(self, i: int) -> tuple[Any, Any]:
        return self.left[i], self.right[i]


def by_distinct_pairs(
    left: Sequence[str | None], right: Sequence[str | None], fn: Callable[[tuple[Any, Any]], Any]
) -> Looked:
    """``by_distinct`` over the pairs (left[i], right[i]), found on Arrow: no tuple per row (a code and a name)."""
    keys = np.zeros(len(left), np.int64)
    for column in (left, right):
        encoded = pa.array(column, pa.string()).dictionary_encode()
        width = len(encoded.dictionary) + 1  # the last index: an empty cell
        keys = keys * width + encoded.indices.fill_null(width - 1).to_numpy(zero_copy_only=False)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    found = np.empty(len(first), dtype=object)
    refusals: dict[Hashable, Exception] = {}
    for k, i in enumerate(first.tolist()):
        try:
            found[k] = fn((left[i], right[i]))
        except (ValueError, RowError) as exc:
            found[k], refusals[left[i], right[i]] = FAILED, exc
    return Looked(found[inverse].tolist(), _Pairs(left, right), refusals)


@dataclass(frozen=True)
class Parsed:
    """A column's converted cells as one Arrow array (null: an empty or a refused cell), where it was refused
    and why (position → the converter's error)."""

    values: pa.Array
    refused: np.ndarray
    errors: dict[int, Exception | None] = field(default_factory=dict, compare=False)


def failed(values: list[Any] | Parsed) -> np.ndarray:
    """Where a column of converted cells holds a refusal."""
    if isinstance(values, Parsed):
        return values.refused
    return np.fromiter((v is FAILED for v in values), dtype=bool, count=len(values))


def is_none(values: list[Any] | Parsed) -> np.ndarray:
    """Where a column of converted cells holds None."""
    if isinstance(values, Parsed):
        return values.values.is_null().to_numpy(zero_copy_only=False) & ~values.refused
    return np.fromiter((v is None for v in values), dtype=bool, count=len(values))


def error_at(values: list[Any] | Parsed, position: int) -> Exception | None:
    """The error the converter raised for the cell at ``position`` (None: not refused, or refused for another)."""
    if isinstance(values, Parsed):
        return values.errors.get(position)
    if values[position] is not FAILED or not isinstance(values, Looked):
        return None
    return values.refusals.get(values.inputs[position])


def completed(cells: Sequence[str | None], settled: np.ndarray, values: pa.Array, slow: Callable[[Any], Any]) -> Parsed:
    """A column whose ``settled`` cells hold their ``values``; the others converted by ``slow``, once per distinct."""
    rest = np.flatnonzero(~settled)
    found = by_distinct([cells[i] for i in rest.tolist()], slow)
    refusals = failed(found)
    refused_cells = np.zeros(len(cells), bool)
    refused_cells[rest] = refusals
    errors = {int(rest[k]): error_at(found, k) for k in np.flatnonzero(refusals).tolist()}
    if len(rest):
        slow_values = pa.array([None if v is FAILED else v for v in found], values.type)
        values = pc.replace_with_mask(values, pa.array(~settled), slow_values)
    return Parsed(values, refused_cells, errors)


def money_column(cells: Sequence[str | None], factor: int | None, slow: Callable[[Any], Any]) -> Parsed:
    """Yuan of each cell, as DECIMAL(18,2): plain numbers × ``factor`` (yuan per unit of the column) on the column
    (``numbers.plain_yuan``); other cells by ``slow`` (``to_yuan``)."""
    if factor is None:  # a unit that is no money: every cell is the scalar parser's to refuse
        return completed(cells, np.zeros(len(cells), bool), pa.nulls(len(cells), pa.decimal128(18, 2)), slow)
    settled, yuan = plain_yuan(cells, factor)
    return completed(cells, settled, yuan, slow)


def count_column(cells: Sequence[str | None], arrow_type: pa.DataType, slow: Callable[[Any], Any]) -> Parsed:
    """Whole numbers of each cell: plain integers ('1,234', '12.0') on the column, others by ``slow`` (``to_count``)."""
    settled, values = plain_counts(cells)
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
    """A cell as the converters read it: None, or its text without surrounding spaces."""
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


# where a record came from, beside its row: the sheet (null for CSV and JSON) and the unit its amount was written in
SHEET, UNIT = "_sheet", "_unit"


def staging_schema(dataset: str) -> pa.Schema:
    """A dataset's normalised records: the sheet row they came from, the contract's columns, then the sheet and
    the amount's unit as submitted (the lake's source_sheet and source_unit)."""
    contract = contracts()[dataset]
    return pa.schema(
        [
            ("_row", pa.int64()),
            *((c.name, c.arrow_type) for c in contract.columns),
            (SHEET, pa.string()),
            (UNIT, pa.string()),
        ]
    )


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
    """Segments and the withdrawals' records as one table, in the order the rows and their records come."""
    schema = _ordered_schema(dataset)
    parts = [*segments, pa.Table.from_pylist(records, schema=schema)]
    table = pa.concat_tables(parts).sort_by([(POSITION, "ascending"), (ORDINAL, "ascending")])
    return table.drop_columns([POSITION, ORDINAL])


def as_records(table: pa.Table | None) -> list[dict[str, Any]]:
    """A staging table's records as dicts, for checks and tests."""
    return [] if table is None else table.to_pylist()
