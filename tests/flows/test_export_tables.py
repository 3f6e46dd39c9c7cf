"""`fupin export --table`: each column once (a code beside its name, never the name twice), a Chinese sheet name,
Chinese headers, and a negative number written as a number (not '-115367.61)."""

from __future__ import annotations

import csv
from collections import Counter
from decimal import Decimal

import openpyxl
import pytest
from typer.testing import CliRunner

from fupin.cli import app
from fupin.export import sheet_title
from tests.helpers import send_fund_form

FUND_BY_COUNTY = [
    "县代码",
    "县（市、区）",
    "地市",
    "省份代码",
    "省份",
    "年度",
    "资金类型代码",
    "资金类型",
    "资金级别代码",
    "资金级别",
    "金额（万元）",
    "所属片区代码",
    "所属片区名称",
]


def _export(home, *args):
    return CliRunner().invoke(app, ["export", "--home", str(home), *args])


@pytest.fixture(scope="module")
def fund_by_county(demo_run, tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    for fmt in ("xlsx", "csv"):
        result = _export(
            demo_run["home"], "--format", fmt, "--table", "marts.fund_by_county", "--out", str(folder / f"县级.{fmt}")
        )
        assert result.exit_code == 0, result.output
    return folder


def test_fund_by_county_has_each_column_once_under_a_chinese_sheet_name(fund_by_county):
    book = openpyxl.load_workbook(fund_by_county / "县级.xlsx")
    assert book.sheetnames == ["县级资金（县×年度×资金类型×级别）"]
    rows = list(book.active.iter_rows(values_only=True))
    assert list(rows[0]) == FUND_BY_COUNTY
    found = {(r[0], r[5], r[6], r[8]): r for r in rows[1:]}
    lianhua = found[("360321", 2015, "civil_affairs", "central")]
    assert lianhua[:11] == (
        "360321",
        "莲花县",
        "萍乡市",
        "36",
        "江西省",
        2015,
        "civil_affairs",
        "民政事业费",
        "central",
        "中央",
        4929.43,
    )
    assert lianhua[12] == "民政部定点扶贫县、罗霄山片区"
    # no column repeats another: each code once, each name once
    columns = list(zip(*rows[1:], strict=True))
    assert [h for h, n in Counter(rows[0]).items() if n > 1] == []
    assert columns[7] != columns[6] and columns[9] != columns[8]


def test_the_csv_has_the_same_columns_and_exact_values(fund_by_county):
    with open(fund_by_county / "县级.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == FUND_BY_COUNTY
    lianhua = next(
        r for r in rows[1:] if r[0] == "360321" and r[5] == "2015" and r[6:10:2] == ["civil_affairs", "central"]
    )
    assert lianhua[7] == "民政事业费" and lianhua[9] == "中央" and lianhua[10] == "4929.43"


@pytest.mark.parametrize(
    ("relation", "title"),
    [
        ("marts.fund_by_county", "县级资金（县×年度×资金类型×级别）"),
        ("core.fct_household", "建档立卡贫困户（现行版本，已去标识）"),
        ("meta.submissions", "报送台账：每份收到的文件一行"),
        ("core.no_such_table", "core.no_such_table"),
    ],
)
def test_a_sheet_is_named_by_the_relations_chinese_title(relation, title):
    assert sheet_title(relation) == title
    assert len(sheet_title(relation)) <= 31


def test_every_exported_table_has_chinese_headers_each_once(demo_run, tmp_path):
    import duckdb

    with duckdb.connect(str(demo_run["home"] / "warehouse.duckdb"), read_only=True) as con:
        tables = [
            f"{s}.{n}"
            for s, n in con.execute(
                "select schema_name, table_name from duckdb_tables() where schema_name in ('core', 'marts', 'meta')"
            ).fetchall()
        ]
    assert len(tables) > 20
    for table in tables:
        out = tmp_path / f"{table}.csv"
        result = _export(demo_run["home"], "--format", "csv", "--table", table, "--out", str(out))
        assert result.exit_code == 0, (table, result.output)
        with open(out, encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh))
        assert [h for h, n in Counter(header).items() if n > 1] == [], table
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in h) for h in header), (table, header)


def test_a_negative_amount_is_written_as_a_number(demo_home_copy, tmp_path):
    """A clerk's negative amount is rejected; its value, exported with the rejections, is the number -115367.61 in
    Excel and in the CSV, not the text '-115367.61."""
    summary = send_fund_form(
        demo_home_copy, "茶陵县更正.csv", [["2017", "430224", "茶陵县", "民政事业费", "中央", "-115367.61"]]
    )
    assert summary["by_status"] == {"rejected": 1}
    for fmt in ("xlsx", "csv"):
        out = tmp_path / f"退回.{fmt}"
        result = _export(demo_home_copy, "--format", fmt, "--table", "meta.rejections", "--out", str(out))
        assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(tmp_path / "退回.xlsx")
    sheet = book.active
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    value = header.index("数值")
    cells = [row[value] for row in sheet.iter_rows(min_row=2)]
    negative = [c for c in cells if c.value == -115367.61]
    assert len(negative) == 1 and negative[0].data_type == "n"
    with open(tmp_path / "退回.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    values = [r[rows[0].index("数值")] for r in rows[1:]]
    assert "-115367.61" in values and "'-115367.61" not in values
    assert Decimal(next(v for v in values if v.startswith("-"))) == Decimal("-115367.61")
