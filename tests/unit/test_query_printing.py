"""`fupin query` for people: numbers right-aligned with thousands separators and a row count; --csv/--json raw."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import duckdb
import pytest
from typer.testing import CliRunner

from fupin.cli import app

runner = CliRunner()


@pytest.fixture()
def home(tmp_path):
    """A home whose warehouse holds one small table of money, counts and names (a real DuckDB file)."""
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("create schema core")
        con.execute(
            "create table core.funds (county_name varchar, year integer, amount_yuan decimal(18, 2), "
            "households bigint, share double)"
        )
        con.execute(
            "insert into core.funds values ('遂川县', 2017, 183995600.00, 12345, 0.2399999832880371), "
            "('莲花县', 2017, 4929.43, 7, null), ('合计', 2017, 184000529.43, 12352, 1.0)"
        )
    return tmp_path


SQL = "select county_name, year, amount_yuan, households, share from core.funds order by amount_yuan"


def _query(home, *args):
    result = runner.invoke(app, ["query", "--home", str(home), *args, SQL])
    assert result.exit_code == 0, result.output
    return result.output


def _cells(line: str) -> list[str]:
    return line.split("│")[1:-1]


def test_numbers_are_right_aligned_with_separators_and_rows_counted(home):
    out = _query(home)
    header = next(line for line in out.splitlines() if line.startswith("┃"))
    rows = [line for line in out.splitlines() if line.startswith("│")]
    assert [c.strip() for c in header.split("┃")[1:-1]] == ["county_name", "year", "amount_yuan", "households", "share"]
    assert len(rows) == 3
    by_name = {_cells(r)[0].strip(): _cells(r) for r in rows}
    suichuan = by_name["遂川县"]
    assert suichuan[2].strip() == "183,995,600.00"
    assert suichuan[3].strip() == "12,345"
    assert suichuan[4].strip() == "0.2399999832880371"
    assert suichuan[1].strip() == "2017"  # a year, not a quantity: no separator
    # right-aligned: every numeric cell ends one space before its column's border
    for row in rows:
        for cell in _cells(row)[1:4]:
            assert cell.endswith(" ") and not cell.endswith("  "), row
    lianhua = by_name["莲花县"]
    assert lianhua[2].strip() == "4,929.43" and lianhua[2].startswith("  ")
    assert out.rstrip().splitlines()[-1] == "共 3 行"


def test_csv_and_json_stay_raw_and_exact(home):
    rows = list(csv.reader(io.StringIO(_query(home, "--csv"))))
    assert rows[0] == ["county_name", "year", "amount_yuan", "households", "share"]
    assert rows[1][2:4] == ["4929.43", "7"]
    assert rows[3][2] == "184000529.43" and rows[3][3] == "12352"
    doc = json.loads(_query(home, "--json"))
    assert [Decimal(str(r["amount_yuan"])) for r in doc] == [
        Decimal("4929.43"),
        Decimal("183995600.00"),
        Decimal("184000529.43"),
    ]
    assert doc[1]["share"] == 0.2399999832880371 and doc[0]["share"] is None


def test_an_empty_result_says_zero_rows(home):
    result = runner.invoke(app, ["query", "--home", str(home), "select * from core.funds where false"])
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().splitlines()[-1] == "共 0 行"
