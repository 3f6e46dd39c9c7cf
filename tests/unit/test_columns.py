"""The column-wise normaliser gives what reading every row one by one gives: same records, same rejections."""

from __future__ import annotations

from pathlib import Path

import pytest
from fupin.tasks.normalise import (
    normalise_table,
)
from fupin.tasks.normalise.columns import FAILED, by_distinct
from fupin.tasks.normalise.helpers import detect_dataset, vocabularies, year_from_context
from fupin.tasks.normalise.values import parse_year
from fupin.tasks.parse import ParsedTable, ParseError, read_tables
from fupin.warehouse.contracts import contracts

from tests.helpers import FIXTURES, row_by_row

FILES = sorted(p for folder in ("forms", "headers", "parse") for p in (FIXTURES / folder).rglob("*") if p.is_file())


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
