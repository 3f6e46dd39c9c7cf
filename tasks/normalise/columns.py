"""Whole-column helpers of the normaliser: each distinct cell parsed once by the scalar parser, mapped back.

A form of 100,000 rows holds a few hundred counties, three years and a handful of fund types:
parsing each distinct value once and looking the result up per row is what makes a column cheap.
The scalar parsers (``helpers``, ``values``) keep their bounds, messages and edge cases; a cell
they refuse becomes ``FAILED`` here, and its row is read again by the row-by-row path, which
words the rejection exactly as it always has.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from warehouse.contracts import contracts


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


def failed(values: list[Any]) -> np.ndarray:
    """Where a column of looked-up values holds FAILED."""
    return np.fromiter((v is FAILED for v in values), dtype=bool, count=len(values))


def is_none(values: list[Any]) -> np.ndarray:
    """Where a column of looked-up values holds None."""
    return np.fromiter((v is None for v in values), dtype=bool, count=len(values))


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
        n = len(rows)
        columns = [*rows.columns, *([[None] * n] * (width - len(rows.columns)))]  # type: ignore[attr-defined]
        return [by_distinct(column, stripped) for column in columns]
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
