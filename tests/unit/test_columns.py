"""The column-wise normaliser gives what reading every row one by one gives: same records, same rejections."""

from __future__ import annotations

from pathlib import Path

import pytest
from fupin.tasks.normalise import (
    _SKIP_LABELS,
    _cell,
    _row_records,
    _RowError,
    normalise_table,
    rejection_of,
    submitted_headers,
)
from fupin.tasks.normalise.columns import FAILED, by_distinct
from fupin.tasks.normalise.helpers import detect_dataset, sheet_unit, vocabularies, year_from_context
from fupin.tasks.normalise.values import is_missing, parse_year
from fupin.tasks.parse import ParsedTable, ParseError, read_tables
from fupin.tasks.records import Rejection
from fupin.warehouse.contracts import contracts

from tests.helpers import FIXTURES

FILES = sorted(p for folder in ("forms", "headers", "parse") for p in (FIXTURES / folder).rglob("*") if p.is_file())
WIDE = FIXTURES / "wide"


def row_by_row(table: ParsedTable, province: str, dataset: str, hmap) -> tuple[list[dict], list[Rejection]]:
    """The reference: every row through _row_records, as the normaliser read forms before columns."""
    context_year = year_from_context(table.context, table.file_name)
    records, rejections = [], []
    for row, number in zip(table.rows, table.row_numbers, strict=True):
        if any(label in (_cell(row, hmap.columns.get("county")) or "") for label in _SKIP_LABELS):
            continue
        if all(is_missing(_cell(row, i)) for i in range(len(row))):
            continue
        try:
            found = _row_records(dataset, row, hmap, province, context_year, sheet_unit(table.context))
        except _RowError as exc:
            rejections.append(rejection_of(exc, number, dataset, submitted_headers(dataset, table.header, hmap)))
            continue
        records += [{**r, "_row": number} for r in found]
    return records, rejections


def _tables(path: Path) -> list[ParsedTable]:
    try:
        return read_tables(path)
    except ParseError:
        return []


def _messy(table: ParsedTable) -> ParsedTable:
    """The table with every third row's cells shuffled one column over: refused cells in every column."""
    rows = [row[1:] + row[:1] if i % 3 == 1 else row for i, row in enumerate(table.rows)]
    return ParsedTable(table.file_name, table.sheet, table.header, rows, table.row_numbers, table.context)


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
@pytest.mark.parametrize("shuffle", [False, True], ids=["as-sent", "shuffled"])
def test_columns_and_rows_agree(path: Path, shuffle: bool):
    for table in _tables(path):
        table = _messy(table) if shuffle else table
        province = "43" if "hunan" in path.name else "36"
        result = normalise_table(table, province)
        if result.dataset is None:
            continue
        vocabs = vocabularies()
        known = year_from_context(table.context, table.file_name) is not None
        required = {d: contracts()[d].required for d in vocabs}
        _, hmap, _, _ = detect_dataset(table.header, vocabs, required, known)
        records, rejections = row_by_row(table, province, result.dataset, hmap)
        names = ["_row", *(c.name for c in contracts()[result.dataset].columns)]
        assert result.rows == [{n: r.get(n) for n in names} for r in records]
        assert result.rejections == rejections


def test_by_distinct_calls_once_per_value_and_marks_refusals():
    calls = []

    def year(text):
        calls.append(text)
        return parse_year(text)

    assert by_distinct(["2017", "2017年", "x", "2017", None, "x"], year) == [2017, 2017, FAILED, 2017, None, FAILED]
    assert calls == ["2017", "2017年", "x", None]


@pytest.mark.parametrize("path", sorted(WIDE.iterdir()), ids=lambda p: p.name)
def test_columns_and_rows_agree_on_wide_forms(path: Path):
    """The column fast path and the row path give the same records and rejections on the wide forms too."""
    if path.suffix == ".json":
        return
    for table in read_tables(path):
        result = normalise_table(table, "36")
        if result.dataset is None:
            continue
        vocabs = vocabularies()
        known = year_from_context(table.context, table.file_name) is not None
        _, hmap, _, _ = detect_dataset(table.header, vocabs, {d: contracts()[d].required for d in vocabs}, known)
        records, rejections = row_by_row(table, "36", result.dataset, hmap)
        names = ["_row", *(c.name for c in contracts()[result.dataset].columns)]
        assert result.rows == [{n: r.get(n) for n in names} for r in records]
        assert result.rejections == rejections
