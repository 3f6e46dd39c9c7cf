"""Bad input end to end: rejected files and rows in the ledger, receipts for the province, exit code 3.

Flow-level tests run ``flows.nightly.nightly`` (or the ``fupin`` CLI) under the session's Prefect
test harness against temporary folders and a temporary DuckDB file.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import pytest
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

from fupin.cli import app
from fupin.cli import submissions as submissions_cli
from fupin.core.config import Paths
from fupin.core.messages import say
from fupin.core.raw import read_raw
from fupin.flows.nightly import nightly
from fupin.tasks import receipt
from fupin.tasks.receipt import HEADERS, NO_ROW_TO_CORRECT, NOTHING_TO_CORRECT, receipt_note, write_receipt
from fupin.tasks.records import Outcome, Rejection
from fupin.tasks.report import read_report_data, write_report
from fupin.warehouse import read
from tests.helpers import FIXTURES

FORMS = FIXTURES / "forms"
PARSE = FIXTURES / "parse"
# one good form, one with bad rows, and files that cannot be read at all
BAD_INBOX = {
    FORMS / "funds_three_header_rows.xlsx": "loaded",
    FORMS / "poverty_bad_rows.csv": "partially_loaded",
    PARSE / "truncated.xlsx": "rejected",
    PARSE / "encrypted.xlsx": "rejected",
    PARSE / "binary.csv": "rejected",
    PARSE / "empty.csv": "rejected",
    FORMS / "unrecognisable.csv": "rejected",
}


def receipt_sheet(path: Path) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()


@pytest.fixture(scope="module")
def bad_run(prefect_harness, tmp_path_factory) -> dict:
    """`fupin run` on an inbox of Jiangxi files, most of them bad."""
    home = tmp_path_factory.mktemp("bad_home")
    inbox = home / "inbox" / "jiangxi"
    inbox.mkdir(parents=True)
    for source in BAD_INBOX:
        shutil.copy(source, inbox / source.name)
    runner = CliRunner()
    result = runner.invoke(app, ["run", "--inbox", str(home / "inbox"), "--home", str(home)])
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    ledger = {
        r[0]: r[1:]
        for r in con.execute(
            "select file_name, submission_id, status, rows_total, rows_loaded, rows_rejected, message_code, message "
            "from meta.submissions"
        ).fetchall()
    }
    rejections = con.execute(
        "select s.file_name, r.row_number, r.field, r.value, r.reason from meta.rejections r "
        "join meta.submissions s using (submission_id) order by s.file_name, r.row_number"
    ).fetchall()
    con.close()
    return {"home": home, "result": result, "ledger": ledger, "rejections": rejections, "runner": runner}


def test_run_exits_3_when_anything_was_rejected(bad_run):
    result = bad_run["result"]
    assert result.exit_code == 3, result.output
    assert "收到 7 个文件" in result.output


def test_every_file_is_in_the_ledger_with_its_status(bad_run):
    assert {name: row[1] for name, row in bad_run["ledger"].items()} == {
        source.name: status for source, status in BAD_INBOX.items()
    }
    sid, status, total, loaded, rejected, code, message = bad_run["ledger"]["poverty_bad_rows.csv"]
    assert (total, loaded, rejected) == (11, 2, 9)
    assert (code, message) == ("rows_rejected", "9 行被退回：请按回执更正后重新报送 [rows_rejected]")


@pytest.mark.parametrize(
    ("name", "code", "reason"),
    [
        ("truncated.xlsx", "workbook_corrupt", "Excel 文件不完整或已损坏"),
        ("encrypted.xlsx", "workbook_encrypted", "工作簿设有打开密码：请取消密码后重新报送"),
        ("binary.csv", "binary_in_csv", "CSV 文件中有二进制内容"),
        ("empty.csv", "empty_file", "文件是空的"),
        ("unrecognisable.csv", "dataset_unrecognised", "无法从表头识别是哪一种报表"),
    ],
)
def test_unreadable_files_are_rejected_with_a_one_line_message(bad_run, name, code, reason):
    message_code, message = bad_run["ledger"][name][-2:]
    assert message_code == code
    assert message.startswith(f"{name}：") and reason in message and "\n" not in message
    assert [r[1:] for r in bad_run["rejections"] if r[0] == name] == [(None, None, None, message)]


def test_every_file_received_stays_in_the_raw_archive(bad_run):
    archived = {hashlib.sha256(read_raw(p)).hexdigest() for p in (bad_run["home"] / "raw").rglob("*") if p.is_file()}
    assert {hashlib.sha256(s.read_bytes()).hexdigest() for s in BAD_INBOX} <= archived


def test_row_rejections_carry_the_row_number_the_clerk_sees(bad_run):
    rows = [r[1:4] for r in bad_run["rejections"] if r[0] == "poverty_bad_rows.csv"]
    assert rows[:3] == [(3, "poor_population", "-6580"), (4, "incidence", "1.3"), (5, "poor_population", "600000")]
    assert (8, "county", "浏阳市") in rows
    assert len(rows) == 9


def test_submissions_command_shows_statuses_and_one_submissions_rejections(bad_run):
    runner, home = bad_run["runner"], bad_run["home"]
    listing = runner.invoke(app, ["submissions", "--home", str(home)])
    assert listing.exit_code == 0
    assert "部分入库" in listing.output and "退回" in listing.output and "贫困人口" in listing.output
    assert "partially_loaded" not in listing.output and "poverty_status" not in listing.output
    sid = bad_run["ledger"]["poverty_bad_rows.csv"][0]
    detail = runner.invoke(app, ["submissions", "--id", sid, "--home", str(home)])
    assert detail.exit_code == 0
    assert "退回的行（9）" in detail.output and "county_unknown" in detail.output
    assert "火星县" in detail.output and "12a" in detail.output


def test_submissions_command_prints_the_first_rejections_and_the_json_has_them_all(bad_run, monkeypatch):
    monkeypatch.setattr(submissions_cli, "SHOWN_REJECTIONS", 3)
    runner, home = bad_run["runner"], bad_run["home"]
    sid = bad_run["ledger"]["poverty_bad_rows.csv"][0]
    detail = runner.invoke(app, ["submissions", "--id", sid, "--home", str(home)], terminal_width=200)
    assert "退回的行（9，列出前 3 行；完整清单见回执 CSV 或 --json）" in detail.output
    as_json = runner.invoke(app, ["submissions", "--id", sid, "--json", "--home", str(home)])
    assert len(json.loads(as_json.stdout)["rejections"]) == 9


def test_receipts_list_the_rejected_rows_for_the_province(bad_run):
    folder = bad_run["home"] / "receipts" / "36"
    sid = bad_run["ledger"]["poverty_bad_rows.csv"][0]
    sheet = receipt_sheet(folder / f"poverty_bad_rows_{sid}_回执.xlsx")
    assert list(sheet[2]) == list(HEADERS)
    body = [row for row in sheet[3:] if any(row)]
    assert len(body) == 9
    # the clerk's own column header, not the canonical field; the machine code beside the Chinese reason
    assert body[0][:4] == ["poverty_bad_rows.csv", 3, "未脱贫人口", "-6580"]
    assert body[0][4].startswith("“未脱贫人口”不能为负数") and body[0][5] == "negative_count"
    with open(folder / f"poverty_bad_rows_{sid}_回执.csv", encoding="utf-8-sig", newline="") as fh:
        lines = list(csv.reader(fh))
    assert lines[0] == list(HEADERS) and len(lines) == 10
    assert lines[6][:4] == ["poverty_bad_rows.csv", "8", "县名", "浏阳市"]
    assert lines[6][5] == "county_other_province"
    # a whole-file rejection gets a receipt too; a clean submission's says there is nothing to correct
    truncated = bad_run["ledger"]["truncated.xlsx"][0]
    assert (folder / f"truncated_{truncated}_回执.xlsx").exists()
    clean = bad_run["ledger"]["funds_three_header_rows.xlsx"][0]
    clean_csv = folder / f"funds_three_header_rows_{clean}_回执.csv"
    assert clean_csv.read_text(encoding="utf-8-sig").splitlines() == ["本文件全部入库，无需更正。"]


def test_receipt_writer_keeps_values_as_typed(tmp_path):
    paths = Paths.from_home(tmp_path)
    outcome = Outcome(
        submission_id="abc",
        province_code="43",
        file_name="湖南_培训_2017.xlsx",
        sha256="0" * 64,
        received_at="2024-01-01T00:00:00+00:00",
        status="partially_loaded",
        rows_loaded=5,
        rows_rejected=2,
        rejections=[
            Rejection(
                7, "county_code", "360827.0", "“区划代码”：「360827.0」是江西省的遂川县", "county_other_province"
            ),
            Rejection(9, "trainees", "0012", "“培训人数”应为数字", "not_a_number"),
        ],
    )
    xlsx = write_receipt(paths, outcome)
    assert xlsx == tmp_path / "receipts" / "43" / "湖南_培训_2017_abc_回执.xlsx"
    sheet = receipt_sheet(xlsx)
    assert "入库 5 行，退回 2 行" in sheet[0][0]
    assert sheet[1][0].startswith("退回的行未入库")
    # no header mapping at hand: the header the reason names, else the contract's Chinese label
    assert sheet[3][:3] == ["湖南_培训_2017.xlsx", 7, "区划代码"]
    assert sheet[3][3:] == ["360827.0", "“区划代码”：「360827.0」是江西省的遂川县", "county_other_province"]
    assert sheet[4][2:4] == ["培训人数", "0012"]  # text, not the number 12
    assert xlsx.with_suffix(".csv").read_text(encoding="utf-8-sig").splitlines()[0] == ",".join(HEADERS)
    clean = write_receipt(paths, Outcome("ok", "43", "ok.csv", "0" * 64, "2024-01-01", status="loaded"))
    rows = receipt_sheet(clean)
    assert rows[1][0] == "本文件全部入库，无需更正。" and len(rows) == 2  # no table of rows to correct


def test_a_long_receipt_lists_the_first_rows_in_excel_all_in_the_csv_and_sums_up_by_reason(tmp_path, monkeypatch):
    """A registry whose every row came back (sent in the wrong province's folder): the XLSX lists the first
    rows and says where the rest are, its second sheet counts the rows per column and reason, the CSV has all."""
    monkeypatch.setattr(receipt, "RECEIPT_XLSX_ROWS", 4)
    wrong = "“县（市、区）”：「361126」是江西省的弋阳县（361126），不属于报送省份贵州省"
    rejections = [Rejection(n, "county_code", "361126", wrong, "unknown_county") for n in range(2, 8)]
    rejections.insert(3, Rejection(4, "head_id", "", "“户主身份证号码”的校验位与前 17 位不符", "id_check_digit"))
    outcome = Outcome(
        "52-x", "52", "建档立卡贫困户2017.csv", "0" * 64, "2024-01-01", status="rejected", rows_rejected=6,
        rejections=rejections,
    )  # fmt: skip
    xlsx = write_receipt(Paths.from_home(tmp_path), outcome)
    sheet = receipt_sheet(xlsx)
    assert [row[1] for row in sheet[3:7]] == [2, 3, 4, 4] and len(sheet) == 8
    assert sheet[7][0] == (
        f"… 共 7 条退回记录，此表列出前 4 条；完整清单见 {xlsx.with_suffix('.csv').name}，"
        "各列各原因的行数见工作表“按原因汇总”"
    )
    book = CalamineWorkbook.from_path(str(xlsx))
    assert book.sheet_names == ["回执", receipt.SUMMARY_SHEET]
    assert book.get_sheet_by_index(1).to_python() == [
        list(receipt.SUMMARY_HEADERS),
        ["县（市、区）", "unknown_county", 6.0, 2.0, wrong],
        ["户主身份证号码", "id_check_digit", 1.0, 4.0, "“户主身份证号码”的校验位与前 17 位不符"],
    ]
    with open(xlsx.with_suffix(".csv"), encoding="utf-8-sig", newline="") as fh:
        listed = list(csv.reader(fh))
    assert [row[1] for row in listed[1:]] == ["2", "3", "4", "4", "5", "6", "7"]


def test_the_report_lists_the_first_rejections_and_counts_them_all(bad_run, monkeypatch):
    """The nightly report shows the first rejected rows and the count of all; it does not read millions."""
    monkeypatch.setattr(read, "REPORT_REJECTIONS", 2)
    total = len(bad_run["rejections"])
    assert total > 2
    with read.connect(bad_run["home"] / "warehouse.duckdb") as con:
        data = read_report_data(con, None)
    assert len(data["rejections"]) == 2 and data["rejection_count"] == [{"rejections": total}]
    page = write_report(Paths.from_home(bad_run["home"])).read_text(encoding="utf-8")
    assert f"退回明细 Rejections ({total})" in page and f"仅列出前 2 条，共 {total} 条" in page


def test_a_receipt_without_rejected_rows_says_nothing_is_to_be_corrected(tmp_path):
    """A held submission with no rejected row: its receipt says why it waits, and that nothing is to be corrected,
    with no empty table under a request to correct it."""
    paths = Paths.from_home(tmp_path)
    message = "暂缓入库，待人工确认 [held_shrink_guard]：2017 年资金合计将减少 40%"
    held = Outcome("held1", "36", "江西_资金_2017.xlsx", "0" * 64, "2024-01-01", status="held", message=message)
    xlsx = write_receipt(paths, held)
    sheet = [row for row in receipt_sheet(xlsx) if any(row)]
    assert sheet[0][0].startswith("回执：江西_资金_2017.xlsx（暂缓入库，待确认")
    # written for the clerk (issue 27): what changed, with the Ministry, do not resend; never the operator's commands
    said = say("receipt_held", reasons="2017 年资金合计将减少 40%", code="held_shrink_guard")
    assert sheet[1][0] == f"{said}。{NO_ROW_TO_CORRECT}" and "fupin" not in sheet[1][0]
    assert len(sheet) == 2 and "行号" not in str(sheet) and "更正后重新报送" not in str(sheet)
    assert xlsx.with_suffix(".csv").read_text(encoding="utf-8-sig").splitlines() == [sheet[1][0]]
    loaded = Outcome("ok", "36", "ok.csv", "0" * 64, "2024-01-01", status="loaded")
    assert receipt_note(loaded, rejected=False) == NOTHING_TO_CORRECT == "本文件全部入库，无需更正。"


@pytest.mark.usefixtures("prefect_harness")
def test_ten_thousand_rows_with_one_bad_row_load_9999(tmp_path):
    inbox = tmp_path / "inbox" / "jiangxi"
    inbox.mkdir(parents=True)
    counties = ["遂川县", "莲花县", "井冈山市", "赣县区", "南康区", "上犹县", "兴国县", "宁都县"]
    lines = ["组织名称,项目名称,县名,年度,落地资金（万元）,受益人数"]
    for i in range(10_000):
        amount = "-3.5" if i == 6_000 else f"{(i % 97) + 0.5}"
        lines.append(f"社会组织{i % 50},项目{i},{counties[i % len(counties)]},2019,{amount},{i % 300}")
    (inbox / "社会组织扶贫项目_2019.csv").write_text("\r\n".join(lines) + "\r\n", encoding="gbk")

    summary = nightly(inbox=str(tmp_path / "inbox"), home=str(tmp_path))
    assert summary["rows_loaded"] == 9_999 and summary["rows_rejected"] == 1
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    status = con.execute("select status, rows_total, rows_loaded, rows_rejected from meta.submissions").fetchall()
    assert status == [("partially_loaded", 10_000, 9_999, 1)]
    assert con.execute("select row_number, field, value from meta.rejections").fetchall() == [
        (6_002, "amount_yuan", "-35000.00")  # data row 6,001 sits on line 6,002 under the header
    ]
    assert con.execute("select count(*), sum(amount_yuan) > 0 from core.fct_social_org_project").fetchone() == (
        9_999,
        True,
    )
    con.close()
