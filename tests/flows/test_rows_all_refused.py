"""Limits everywhere (issue 24): JSON keeps the per-cell, per-row and per-file limits of CSV and XLSX, and a form
whose first 1,000 rows are all refused for one reason stops there — one file-level message, a receipt of a few
lines — instead of minutes, gigabytes and a receipt line per row."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pytest
import xlsxwriter

from fupin.core.config import Limits
from fupin.tasks.parse import ParseError, read_tables

HEADER = ["年度", "行政区划代码", "县市区", "资金类别", "资金级别", "金额（元）"]
JIAN = [f"3608{n}" for n in range(21, 31)] + ["360881"]  # 吉安市's counties


def test_the_stop_is_after_1000_rows():
    assert Limits().same_reason_rows == 1_000


def _json_project(path: Path, name: str) -> Path:
    record = {"年度": 2018, "县": "遂川县", "社会组织名称": "某基金会", "项目名称": name, "到位资金（万元）": 1}
    path.write_text(json.dumps({"data": [record]}, ensure_ascii=False), encoding="utf-8")
    return path


def _csv_project(path: Path, name: str) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(
            [["年度", "县", "社会组织名称", "项目名称", "到位资金（万元）"], [2018, "遂川县", "某基金会", name, 1]]
        )
    return path


def _refusal(path: Path) -> str:
    with pytest.raises(ParseError) as caught:
        read_tables(str(path))
    return str(caught.value)


def test_a_json_cell_beyond_the_cell_limit_is_refused_with_the_code_a_csv_gets(tmp_path):
    name = "项" * 100_000  # beyond field_chars (32,767), within a CSV line's limit
    from_csv = _refusal(_csv_project(tmp_path / "项目.csv", name))
    from_json = _refusal(_json_project(tmp_path / "项目.json", name))
    assert from_csv.endswith("FUPIN_LIMIT_FIELD_CHARS 调整 [limit_field_chars]")
    assert "[limit_field_chars]" in from_json and "第 1 条记录单元格字符数" in from_json


def test_a_ten_million_character_project_name_in_json_is_refused(tmp_path):
    message = _refusal(_json_project(tmp_path / "项目.json", "项" * 10_000_000))
    assert "[limit_field_chars]" in message and "10,000,000" in message


def test_json_keys_records_and_fields_have_the_limits_of_csv(tmp_path, monkeypatch):
    long_key = tmp_path / "键.json"
    long_key.write_text(json.dumps([{"年" * 40_000: 2018}], ensure_ascii=False), encoding="utf-8")
    assert "[limit_field_chars]" in _refusal(long_key)
    wide = tmp_path / "宽.json"
    wide.write_text(json.dumps([{f"列{i}": 1 for i in range(1_001)}], ensure_ascii=False), encoding="utf-8")
    assert "[limit_columns_per_row]" in _refusal(wide)
    spread = tmp_path / "散.json"  # every record within the limit, their fields together beyond it
    spread.write_text(json.dumps([{f"列{i}": 1} for i in range(1_001)], ensure_ascii=False), encoding="utf-8")
    assert "[limit_columns_per_row]" in _refusal(spread)
    envelope = tmp_path / "封.json"
    envelope.write_text(json.dumps({"标题": "题" * 40_000, "data": [{"年度": 2018}]}, ensure_ascii=False))
    assert "[limit_field_chars]" in _refusal(envelope)
    monkeypatch.setenv("FUPIN_LIMIT_ROWS_PER_SHEET", "10")
    many = tmp_path / "多.json"
    many.write_text(json.dumps([{"年度": 2018}] * 11), encoding="utf-8")
    assert "[limit_rows_per_sheet]" in _refusal(many)


def _unknown_counties(path: Path, rows: int) -> Path:
    """A fund workbook whose every row names a county that does not exist: compresses to almost nothing."""
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("资金")
    sheet.write_row(0, 0, HEADER)
    for i in range(1, rows + 1):
        sheet.write_row(i, 0, [2017, "999999", "不存在县", "民政事业费", "中央", 1000])
    book.close()
    return path


def _old_years(path: Path, rows: int) -> Path:
    """A fund CSV of real counties whose every row is of a year before 2000 (1,100 distinct keys, then repeats):
    refused by the business rules."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for i in range(rows):
            county, year, level = JIAN[i % 11], 1950 + (i // 11) % 50, ("中央", "省级")[(i // 550) % 2]
            writer.writerow([year, county, "", "民政事业费", level, 1000 + i])
    return path


def _run(tmp_path: Path, make, name: str, rows: int) -> tuple[tuple, int, Path]:
    from fupin.flows.nightly import nightly

    home, inbox = tmp_path / "home", tmp_path / "inbox" / "jiangxi"
    inbox.mkdir(parents=True)
    make(inbox / name, rows)
    nightly(inbox=str(inbox.parent), home=str(home))
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        ledger = con.execute(
            "select status, rows_loaded, rows_rejected, message_code, message from meta.submissions"
        ).fetchone()
        rejections = con.execute("select count(*) from meta.rejections").fetchone()[0]
    (receipt,) = (home / "receipts" / "36").glob("*_回执.csv")
    return ledger, rejections, receipt


@pytest.mark.usefixtures("prefect_harness")
def test_a_workbook_of_30000_rows_none_of_which_can_load_stops_after_the_first_1000(tmp_path):
    ledger, rejections, receipt = _run(tmp_path, _unknown_counties, "资金.xlsx", 30_000)
    status, loaded, rejected, code, message = ledger
    assert (status, loaded, rejected, code) == ("rejected", 0, 0, "rows_all_refused")
    assert "前 1,000 行均因同一原因被退回（第 2 行：" in message and "原因代码 county_unknown" in message
    assert message.endswith("已停止读取本文件，请按原因修改后重新报送 [rows_all_refused]")
    assert rejections == 1  # the file, not 30,000 rows
    assert receipt.stat().st_size < 4_000


@pytest.mark.usefixtures("prefect_harness")
def test_rows_refused_by_the_business_rules_stop_the_file_too(tmp_path):
    ledger, rejections, receipt = _run(tmp_path, _old_years, "资金.csv", 5_000)
    assert ledger[:4] == ("rejected", 0, 0, "rows_all_refused") and "原因代码 year_not_reportable" in ledger[4]
    assert rejections == 1 and receipt.stat().st_size < 4_000


@pytest.mark.usefixtures("prefect_harness")
def test_fewer_rows_than_the_stop_are_each_listed_as_before(tmp_path):
    ledger, rejections, receipt = _run(tmp_path, _unknown_counties, "资金.xlsx", 999)
    assert ledger[:4] == ("rejected", 0, 999, "no_row_loaded")
    assert rejections == 999  # each row
