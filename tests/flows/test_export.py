"""`fupin export`: files an official opens in Excel — Chinese headers, one unit per column, exact values."""

from __future__ import annotations

import csv
import json
import re
from decimal import Decimal

import duckdb
import openpyxl
import pytest
from typer.testing import CliRunner

from fupin.cli import app
from fupin.core.readonly import connect_readonly
from fupin.export import neutralise, table_sheet, warehouse_relations
from fupin.warehouse.contracts import contracts

runner = CliRunner()

CHINESE = re.compile(r"[\u4e00-\u9fff]")
# a numeric column's header names its one unit in brackets: 金额（万元）, 比率（%）, 期数（期）
UNIT_IN_HEADER = re.compile(r"（(元|万元|%|人|个|期|次|户)）$")


def _export(home, *args):
    return runner.invoke(app, ["export", "--home", str(home), *args])


def _xlsx(path):
    ws = openpyxl.load_workbook(path).active
    rows = list(ws.iter_rows())
    return [c.value for c in rows[0]], rows[1:]


def _mart(warehouse) -> dict[tuple[str, str, str], tuple]:
    rows = warehouse.execute("select indicator, scope_code, period, value, unit, unit_name from marts.indicators")
    return {(i, s, p): (v, u, n) for i, s, p, v, u, n in rows.fetchall()}


@pytest.fixture(scope="module")
def indicators_xlsx(demo_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "指标.xlsx"
    result = _export(demo_run["home"], "--format", "xlsx", "--indicators", "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


def test_indicators_xlsx_has_one_unit_per_numeric_column_and_yes_no_as_text(indicators_xlsx):
    headers, rows = _xlsx(indicators_xlsx)
    assert all(CHINESE.search(h) for h in headers), headers
    numeric = set()
    for c, header in enumerate(headers):
        cells = [row[c] for row in rows if row[c].value is not None]
        if any(cell.data_type == "n" for cell in cells):
            numeric.add(header)
            # one unit, stated in the header; every cell of the column a number with a display format
            assert UNIT_IN_HEADER.search(header), header
            assert all(cell.data_type == "n" for cell in cells), header
            assert all(cell.number_format != "General" for cell in cells), header
    assert {"金额（元）", "金额（万元）", "比率（%）", "人数（人）", "期数（期）"} <= numeric
    yes_no = [row[headers.index("是否")].value for row in rows if row[headers.index("是否")].value is not None]
    assert yes_no and set(yes_no) <= {"是", "否"}
    # 亿元 and 万元 never share a numeric column: the printed figure is text beside the numbers
    printed = {row[headers.index("公布数")].value for row in rows}
    assert "84.00亿元" in printed and "5,430.9万元" in printed


def test_indicators_xlsx_values_are_the_marts_unrounded(indicators_xlsx, warehouse):
    headers, rows = _xlsx(indicators_xlsx)
    mart = _mart(warehouse)
    col = {h: i for i, h in enumerate(headers)}
    assert len(rows) == len(mart)
    for row in rows:
        value, unit, unit_name = mart[(row[col["指标代码"]].value, row[col["范围代码"]].value, row[col["期间"]].value)]
        assert row[col["单位"]].value == unit_name
        filled = {h for h, i in col.items() if row[i].data_type == "n" and row[i].value is not None}
        if unit == "yuan":
            assert filled == {"金额（元）", "金额（万元）"}
            assert Decimal(str(row[col["金额（元）"]].value)) == Decimal(str(value))
            assert Decimal(str(row[col["金额（万元）"]].value)) == Decimal(str(value)) / 10000
            assert row[col["金额（元）"]].number_format == "#,##0.00"
        elif unit == "fraction":
            assert filled == {"比率（%）"}
            assert row[col["比率（%）"]].value == pytest.approx(float(value) * 100, rel=1e-12)
        elif unit == "boolean":
            assert not filled and row[col["是否"]].value == ("是" if value else "否")
        else:
            assert filled == {next(h for h in col if h.endswith(f"（{unit_name}）"))}
            assert next(row[col[h]].value for h in filled) == value
    by_key = {(r[col["指标代码"]].value, r[col["范围代码"]].value, r[col["期间"]].value): r for r in rows}
    # the designated counties' 2015 funds: 183,995,600 元 stored whole, not 1.84
    funds = by_key[("civil_affairs_funds", "designated_mca", "2015")]
    assert funds[col["金额（元）"]].value == 183_995_600
    assert funds[col["金额（万元）"]].value == pytest.approx(18_399.56, abs=1e-9)
    assert funds[col["公布数"]].value == "1.84亿元"
    growth = by_key[("civil_affairs_funds_growth", "luoxiao", "2015-2017")]
    assert growth[col["公布数"]].value == "24.00%" and growth[col["比率（%）"]].number_format == "0.00"


def test_training_sessions_are_counted_in_qi_not_ge(indicators_xlsx, warehouse):
    headers, rows = _xlsx(indicators_xlsx)
    col = {h: i for i, h in enumerate(headers)}
    sessions = [r for r in rows if r[col["指标代码"]].value == "training_sessions"]
    assert sessions and all(r[col["单位"]].value == "期" for r in sessions)
    luoxiao = next(r for r in sessions if r[col["范围代码"]].value == "luoxiao")
    assert luoxiao[col["期数（期）"]].value == 8 and luoxiao[col["个数（个）"]].value is None
    assert luoxiao[col["公布数"]].value == "8期"
    unit_name = warehouse.execute(
        "select unit_name from core.indicator_definition where indicator = 'training_sessions'"
    ).fetchone()[0]
    assert unit_name == "期"


def test_indicators_csv_has_the_same_columns_with_exact_values(demo_run, warehouse, indicators_xlsx, tmp_path):
    out = tmp_path / "indicators.csv"
    result = _export(demo_run["home"], "--format", "csv", "--indicators", "--out", str(out))
    assert result.exit_code == 0, result.output
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0] == _xlsx(indicators_xlsx)[0]
    mart = _mart(warehouse)
    assert len(rows) - 1 == len(mart)
    col = {h: i for i, h in enumerate(rows[0])}
    for row in rows[1:]:
        value, unit, _ = mart[(row[col["指标代码"]], row[col["范围代码"]], row[col["期间"]])]
        if unit == "yuan":
            assert Decimal(row[col["金额（元）"]]) == Decimal(str(value))
            assert Decimal(row[col["金额（万元）"]]) == Decimal(str(value)) / 10000
    by_key = {(r[col["指标代码"]], r[col["范围代码"]], r[col["期间"]]): r for r in rows[1:]}
    assert by_key[("civil_affairs_funds", "luoxiao", "2015-2017")][col["公布数"]] == "84.00亿元"
    assert by_key[("training_trainees", "luoxiao", "2016")][col["人数（人）"]] == "1003"


def test_every_table_export_has_chinese_headers_and_county_names(demo_run):
    with connect_readonly(demo_run["home"] / "warehouse.duckdb") as con:
        names = dict(con.execute("select county_code, county_name from core.dim_county").fetchall())
        for relation in sorted(warehouse_relations(con)):
            sheet = table_sheet(con, relation)
            assert all(CHINESE.search(h) for h in sheet.headers), (relation, sheet.headers)
            assert len(set(sheet.headers)) == len(sheet.headers), (relation, sheet.headers)
            for i, header in enumerate(sheet.headers):
                if header == "县代码" and sheet.rows:
                    assert sheet.headers[i + 1] == "县（市、区）", relation
                    assert all(r[i + 1] == names.get(r[i]) for r in sheet.rows), relation
                numbers = [r[i] for r in sheet.rows if isinstance(r[i], int | float | Decimal)]
                if numbers and header.endswith("）") and "（" in header and not header.startswith("文件指纹"):
                    assert UNIT_IN_HEADER.search(header), (relation, header)


def test_funds_table_export_names_counties_and_fund_types_in_chinese(demo_run, warehouse, tmp_path):
    out = tmp_path / "funds.xlsx"
    result = _export(demo_run["home"], "--format", "xlsx", "--table", "CORE.fct_fund_allocation", "--out", str(out))
    assert result.exit_code == 0, result.output
    headers, rows = _xlsx(out)
    col = {h: i for i, h in enumerate(headers)}
    assert {"县代码", "县（市、区）", "资金类型", "资金类型代码", "资金级别", "金额（万元）", "报送编号"} <= set(col)
    fund_types = {v.code: v.zh for v in contracts()["fund_allocation"].column("fund_type").values}
    levels = {v.code: v.zh for v in contracts()["fund_allocation"].column("fund_level").values}
    assert {r[col["资金类型"]].value for r in rows} == {fund_types[r[col["资金类型代码"]].value] for r in rows}
    assert {r[col["资金级别"]].value for r in rows} <= set(levels.values())
    suichuan = [r for r in rows if r[col["县代码"]].value == "360827"]
    assert suichuan and all(r[col["县（市、区）"]].value == "遂川县" for r in suichuan)
    assert all(r[col["金额（万元）"]].number_format == "#,##0.00####" for r in rows)
    exported = sum(
        Decimal(str(r[col["金额（万元）"]].value)) for r in rows if r[col["资金类型代码"]].value == "civil_affairs"
    )
    stored = warehouse.execute(
        "select sum(amount_yuan) from core.fct_fund_allocation where fund_type = 'civil_affairs'"
    ).fetchone()[0]
    assert exported == Decimal(stored) / 10000


def test_submissions_export_shows_statuses_and_datasets_in_chinese(demo_run, tmp_path):
    out = tmp_path / "submissions.csv"
    result = _export(demo_run["home"], "--format", "csv", "--table", "meta.submissions", "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert {r["状态"] for r in rows} == {"已入库"} and {r["状态代码"] for r in rows} == {"loaded"}
    datasets = {r["数据集代码"]: r["数据集"] for r in rows}
    assert datasets["fund_allocation"] == contracts()["fund_allocation"].zh
    assert datasets["household_registry"] == "建档立卡户名册"
    assert {r["省份"] for r in rows} == {"江西省", "湖南省", "民政部"}  # 民政部: the Ministry's projects list


@pytest.fixture()
def decimal_home(demo_home_copy):
    """A copy of the demo warehouse whose indicator values are DECIMAL, as the exact-numbers change makes them."""
    with duckdb.connect(str(demo_home_copy / "warehouse.duckdb")) as con:
        con.execute(
            "create or replace table marts.indicators as "
            "select * replace (cast(value as decimal(38, 10)) as value) from marts.indicators"
        )
        con.execute(
            "insert into marts.indicators by name select 'civil_affairs_funds' as indicator, "
            "'test' as scope_code, '测试' as scope_name, '2099' as period, 123456789012.34 as value, "
            "'yuan' as unit, '民政事业费' as indicator_name, '元' as unit_name"
        )
    return demo_home_copy


def test_decimal_values_export_and_print_exactly(decimal_home, tmp_path):
    out = tmp_path / "指标.xlsx"
    result = _export(decimal_home, "--format", "xlsx", "--indicators", "--out", str(out))
    assert result.exit_code == 0, result.output
    headers, rows = _xlsx(out)
    col = {h: i for i, h in enumerate(headers)}
    test = next(r for r in rows if r[col["范围代码"]].value == "test")
    assert Decimal(str(test[col["金额（元）"]].value)) == Decimal("123456789012.34")
    assert Decimal(str(test[col["金额（万元）"]].value)) == Decimal("12345678.901234")
    assert test[col["公布数"]].value == "1,234.57亿元"
    printed = runner.invoke(app, ["indicators", "--json", "--all", "--home", str(decimal_home)])
    assert printed.exit_code == 0, printed.output
    doc = {(r["indicator"], r["scope_code"], r["period"]): r["value"] for r in json.loads(printed.output)}
    assert Decimal(str(doc[("civil_affairs_funds", "luoxiao", "2015-2017")])) == Decimal("8400000000")
    table = runner.invoke(app, ["indicators", "--home", str(decimal_home)])
    assert table.exit_code == 0 and "84.00亿元" in table.output, table.output


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
    assert neutralise(Decimal("-5.00")) == Decimal("-5.00")
    assert neutralise("遂川县") == "遂川县"
    assert neutralise("-1") == "'-1"


@pytest.mark.parametrize(
    "name", ["core.nope", "core.dim_county; drop table core.dim_county", "dim_county", '"core"."dim_county"']
)
def test_unknown_table_is_refused_with_one_line(demo_run, tmp_path, name):
    out = tmp_path / "x.csv"
    result = _export(demo_run["home"], "--format", "csv", "--table", name, "--out", str(out))
    assert result.exit_code == 1
    assert "仓库中没有表" in result.output and "[unknown_table]" in result.output
    assert "core.dim_county" in result.output
    assert not out.exists()


def test_bad_format_and_missing_choice_are_refused(demo_run, tmp_path):
    result = _export(demo_run["home"], "--format", "pdf", "--indicators", "--out", str(tmp_path / "x.pdf"))
    assert result.exit_code == 1 and "xlsx 或 csv" in result.output and "[unknown_format]" in result.output
    result = _export(demo_run["home"], "--format", "csv", "--out", str(tmp_path / "x.csv"))
    assert result.exit_code == 1 and "--indicators 与 --table" in result.output and "[choose_one]" in result.output
