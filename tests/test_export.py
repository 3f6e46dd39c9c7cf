"""`fupin export`: files an official opens in Excel — Chinese headers, 亿元/万元, no formula injection."""

from __future__ import annotations

import csv

import duckdb
import openpyxl
import pytest
from typer.testing import CliRunner

from fupin.cli import app
from fupin.export import figure_text, neutralise

runner = CliRunner()

INDICATOR_HEADERS = ["指标", "指标代码", "范围", "范围代码", "期间", "数值", "单位", "原始数值", "原始单位", "指标说明"]


def _export(home, *args):
    return runner.invoke(app, ["export", "--home", str(home), *args])


def _rows_by_key(rows):
    return {(r[1], r[3], r[4]): r for r in rows}


def test_indicators_xlsx_has_chinese_headers_and_ministry_units(demo_run, tmp_path):
    out = tmp_path / "指标.xlsx"
    result = _export(demo_run["home"], "--format", "xlsx", "--indicators", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "rows to" in result.output
    ws = openpyxl.load_workbook(out).active
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == INDICATOR_HEADERS
    by_key = _rows_by_key(rows[1:])
    funds = by_key[("civil_affairs_funds", "luoxiao", "2015-2017")]
    assert funds[0] == "民政事业费" and funds[2] == "罗霄山片区"
    assert (funds[5], funds[6]) == (84.0, "亿元")
    assert funds[7] == pytest.approx(8.4e9)
    growth = by_key[("civil_affairs_funds_growth", "designated_mca", "2015-2017")]
    assert (growth[5], growth[6]) == (25.7, "%")
    landed = by_key[("social_org_funds_landed", "designated_mca", "2018")]
    assert (landed[5], landed[6]) == (5430.9, "万元")
    # the cell shows the figure as printed, and stays a number an official can sum
    cell = next(c for c in ws["F"] if c.value == 5430.9)
    assert cell.data_type == "n" and cell.number_format == "#,##0.0"


def test_indicators_csv_is_utf8_with_bom_and_printed_figures(demo_run, warehouse, tmp_path):
    out = tmp_path / "indicators.csv"
    result = _export(demo_run["home"], "--format", "csv", "--indicators", "--out", str(out))
    assert result.exit_code == 0, result.output
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0] == INDICATOR_HEADERS
    assert len(rows) - 1 == warehouse.execute("select count(*) from marts.indicators").fetchone()[0]
    by_key = _rows_by_key(rows[1:])
    assert by_key[("civil_affairs_funds", "luoxiao", "2015-2017")][5:7] == ["84.00", "亿元"]
    assert by_key[("central_budget_investment", "luoxiao", "2015-2017")][5:7] == ["2.25", "亿元"]
    assert by_key[("civil_affairs_funds_growth", "luoxiao", "2015-2017")][5:7] == ["24.00", "%"]
    assert by_key[("training_trainees", "luoxiao", "2016")][5:7] == ["1003", "人"]


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (8.4e9, "yuan", "84.00亿元"),
        (54309000.0, "yuan", "5,430.9万元"),
        (0.2399999, "fraction", "24.00%"),
        (1003, "persons", "1,003"),
        (48, "count", "48"),
        (False, "boolean", "否"),
        (None, "yuan", ""),
    ],
    ids=["yi-yuan", "wan-yuan", "percent", "persons", "count", "boolean", "missing"],
)
def test_printed_figure_follows_the_ministry_convention(value, unit, text):
    assert figure_text(value, unit) == text


def test_table_export_converts_yuan_to_wan_yuan(demo_run, warehouse, tmp_path):
    out = tmp_path / "funds.csv"
    result = _export(demo_run["home"], "--format", "csv", "--table", "CORE.fct_fund_allocation", "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert {"县代码", "年度", "资金类型", "金额（万元）", "报送编号"} <= set(rows[0])
    total_wan = sum(float(r["金额（万元）"]) for r in rows if r["资金类型"] == "civil_affairs")
    total_yuan = warehouse.execute(
        "select sum(amount_yuan) from core.fct_fund_allocation where fund_type = 'civil_affairs'"
    ).fetchone()[0]
    assert total_wan == pytest.approx(float(total_yuan) / 1e4)


@pytest.fixture()
def tampered_home(demo_home_copy):
    """A copy of the demo warehouse holding a rejected value that Excel would run as a formula."""
    home = demo_home_copy
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute(
            "insert into meta.rejections (submission_id, row_number, field, value, reason) "
            "values ('36-evil', 7, '@county', '=cmd|'' /C calc''!A0', '+not a number')"
        )
    return home


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_formula_injection_is_neutralised(tampered_home, tmp_path, fmt):
    out = tmp_path / f"rejections.{fmt}"
    result = _export(tampered_home, "--format", fmt, "--table", "meta.rejections", "--out", str(out))
    assert result.exit_code == 0, result.output
    if fmt == "csv":
        rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    else:
        ws = openpyxl.load_workbook(out).active
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        assert all(c.data_type == "s" for row in ws.iter_rows() for c in row if c.value == "'=cmd|' /C calc'!A0")
    assert rows[0] == ["报送编号", "行号", "字段", "数值", "原因", "原因代码"]
    evil = next(r for r in rows if r[0] == "36-evil")
    assert evil[2:5] == ["'@county", "'=cmd|' /C calc'!A0", "'+not a number"]
    assert str(evil[1]) == "7"


def test_neutralise_leaves_numbers_and_plain_text():
    assert neutralise(-5) == -5
    assert neutralise("遂川县") == "遂川县"
    assert neutralise("-1") == "'-1"


@pytest.mark.parametrize(
    "name", ["core.nope", "core.dim_county; drop table core.dim_county", "dim_county", '"core"."dim_county"']
)
def test_unknown_table_is_refused_with_one_line(demo_run, tmp_path, name):
    out = tmp_path / "x.csv"
    result = _export(demo_run["home"], "--format", "csv", "--table", name, "--out", str(out))
    assert result.exit_code == 1
    assert "no table" in result.output and "core.dim_county" in result.output
    assert not out.exists()


def test_bad_format_and_missing_choice_are_refused(demo_run, tmp_path):
    result = _export(demo_run["home"], "--format", "pdf", "--indicators", "--out", str(tmp_path / "x.pdf"))
    assert result.exit_code == 1 and "xlsx or csv" in result.output
    result = _export(demo_run["home"], "--format", "csv", "--out", str(tmp_path / "x.csv"))
    assert result.exit_code == 1 and "--indicators or --table" in result.output
