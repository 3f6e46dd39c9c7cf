"""Staging files between the form steps: rows as Arrow IPC files beside each step's JSON document."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from fupin.core.files import atomic_write
from fupin.tasks.parse import ParsedTable
from fupin.tasks.parse.helpers import ArrowRows


def write_arrow(path: Path, table: pa.Table) -> str:
    """An Arrow IPC file, written next to its target and renamed."""
    with atomic_write(path) as tmp:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))  # owner-only: a form's cells may be PII
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
    return str(path)


def read_arrow(path: str) -> pa.Table:
    """What ``write_arrow`` wrote."""
    with pa.OSFile(path, "rb") as source:
        return pa.ipc.open_file(source).read_all()


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def cells_table(table: ParsedTable) -> pa.Table:
    """A parsed table's cells as text columns c0, c1 … (a short row padded with nulls) and its row numbers."""
    if isinstance(table.rows, ArrowRows):  # the CSV path's columns, staged as they are
        arrays = table.rows.arrays
        n = len(table.rows)
        padding = [pa.nulls(n, pa.string())] * (len(table.header) - len(arrays))
        columns = {f"c{i}": array for i, array in enumerate([*arrays, *padding])}
        return pa.table({**columns, "row_number": pa.array(table.row_numbers, pa.int64())})
    width = max([len(table.header), *map(len, table.rows)])
    rows = table.rows
    if any(len(row) != width for row in rows):
        rows = [[*row, *([None] * (width - len(row)))] for row in rows]
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in range(width)]
    arrays = {}
    for i, column in enumerate(columns):
        try:
            arrays[f"c{i}"] = pa.array(column, pa.string())
        except (pa.ArrowTypeError, pa.ArrowInvalid):  # a reader left a number or a date as it was
            arrays[f"c{i}"] = pa.array([_text(v) for v in column], pa.string())
    arrays["row_number"] = pa.array(table.row_numbers, pa.int64())
    return pa.table(arrays)


class ColumnRows(Sequence):
    """A parsed table's rows over its cell columns: a row is built only when it is asked for."""

    def __init__(self, columns: list[list[str | None]]):
        self.columns = columns

    def __len__(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return [column[index] for column in self.columns]

    def __iter__(self) -> Iterator[list[str | None]]:
        return (list(row) for row in zip(*self.columns, strict=True))


def parsed_table(meta: dict[str, Any], cells: pa.Table) -> ParsedTable:
    """A ParsedTable back from its document entry and its cells (rows read from the columns on demand)."""
    columns = [cells[name].to_pylist() for name in cells.column_names if name != "row_number"]
    rows = ColumnRows(columns)
    return ParsedTable(
        meta["file_name"], meta["sheet"], meta["header"], rows, cells["row_number"].to_pylist(), meta["context"]
    )
