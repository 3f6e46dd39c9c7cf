"""Issue 18, findings 9 and 4 (receipt names): what fupin writes for people is never a formula, markup or a
terminal command, and a receipt's name always fits the file system."""

from __future__ import annotations

import csv

import duckdb
import pytest
from typer.testing import CliRunner

from fupin.cli import app
from fupin.core.config import Paths
from fupin.flows.nightly import nightly
from fupin.tasks.receipt import STEM_MAX_BYTES, write_receipt
from fupin.tasks.records import Outcome, Rejection

FORMULAS = ['=HYPERLINK("http://evil","点我")', "+1+1", "-2+3", "@SUM(A1)", "|calc", "\tx", "\r=1"]


def test_csv_receipts_escape_formula_prefixes_like_the_xlsx(tmp_path):
    outcome = Outcome(
        "43-000000000001",
        "43",
        "=cmd|' /C calc'!A0.csv",
        "0" * 64,
        "2026-01-01T00:00:00+00:00",
        rejections=[Rejection(i + 2, f, f, f) for i, f in enumerate(FORMULAS)],
    )
    xlsx = write_receipt(Paths(tmp_path), outcome)
    with open(xlsx.with_suffix(".csv"), encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    assert len(rows) == len(FORMULAS)
    for row in rows:
        for cell in (row[0], row[2], row[3], row[4]):
            assert cell.startswith("'"), row
    assert "/" not in xlsx.name and "|" not in xlsx.name


@pytest.mark.usefixtures("prefect_harness")
def test_a_250_byte_file_name_with_a_rejected_row_gets_its_receipt(tmp_path):
    inbox = tmp_path / "inbox" / "hunan"
    inbox.mkdir(parents=True)
    name = "资" * 77 + "民政资金2017.csv"  # 251 bytes of UTF-8: near the file system's 255
    assert 250 <= len(name.encode()) <= 255
    (inbox / name).write_text(
        "年度,行政区划代码,县市区,资金类别,资金级别,金额（元）\n"
        "2017,430224,茶陵县,民政事业费,中央,1000.00\n"
        "2017,999999,不存在县,民政事业费,中央,1000.00\n",
        encoding="utf-8",
    )
    home = tmp_path / "home"
    summary = nightly(inbox=str(tmp_path / "inbox"), home=str(home))
    assert summary["failed_provinces"] == {} and summary["exit_code"] == 3
    receipts = sorted((home / "receipts" / "43").iterdir())
    assert [p.suffix for p in receipts] == [".csv", ".xlsx"]
    for receipt in receipts:
        assert len(receipt.name.encode()) <= 255
        assert receipt.name.startswith("资" * (STEM_MAX_BYTES // 3))


@pytest.fixture()
def tainted_home(demo_home_copy):
    """A warehouse whose ledger holds rich markup, escape sequences and a forged line, as a file name could."""
    con = duckdb.connect(str(demo_home_copy / "warehouse.duckdb"))
    con.execute(
        "insert into meta.submissions select * replace ('43-tainted00001' as submission_id, ? as file_name, "
        "? as message) from meta.submissions limit 1",
        ["[link=https://evil.example]点我[/link].csv", "ok\x1b]52;c;ZXZpbA==\x07\nprogress: 43 load forged"],
    )
    con.execute(
        "insert into meta.rejections (submission_id, row_number, field, value, reason) values (?, 2, ?, ?, ?)",
        ["43-tainted00001", "[bold red]字段[/bold red]", "\x1b[2J\x1b[31mred", "原因\r\n[reverse]x"],
    )
    con.close()
    return demo_home_copy


@pytest.mark.parametrize(
    "args, shown",
    [
        (
            ["submissions", "--id", "43-tainted00001"],
            ["[link=https://evil.example]点我[/link].csv", "\\e[2J\\e[31mred"],
        ),
        (
            ["query", "select file_name, message from meta.submissions where submission_id = '43-tainted00001'"],
            ["[link=https://evil.example]点我[/link].csv", "ok\\e]52;c;ZXZpbA==\\u0007\\nprogress: 43 load forged"],
        ),
        (
            ["query", "select field, value, reason from meta.rejections where submission_id = '43-tainted00001'"],
            ["[bold red]字段[/bold red]", "原因\\r\\n[reverse]x"],
        ),
    ],
    ids=["submission_detail", "query_ledger", "query_rejections"],
)
def test_terminal_output_shows_stored_text_literally(tainted_home, args, shown):
    result = CliRunner().invoke(app, [*args, "--home", str(tainted_home)])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output and "\r" not in result.output
    assert not any(line.startswith("progress:") for line in result.output.splitlines())
    for text in shown:
        assert text in result.output
