"""Receipts follow the ledger: after a run, an approval, a discard or a recovery — even one killed right after the
warehouse swap — each receipt says what meta.submissions says; `fupin doctor` names a stale one, and the next run
or `fupin doctor --fix` writes it again."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

from fupin.cli import app
from fupin.core.config import Paths
from fupin.flows.nightly import nightly
from fupin.tasks.receipt import write_receipt
from fupin.tasks.records import Outcome
from tests.helpers import api_env, ledger_row, send_fund_form

FUPIN = [sys.executable, "-m", "fupin.cli"]
NAME = "湖南省2017年民政资金全量.csv"


@pytest.fixture(scope="module")
def hunan_rows(demo_run) -> list[list[str]]:
    """Hunan's 2017 rows of the demo's fund form, as the province sent them."""
    raw = next((demo_run["home"] / "inbox" / "hunan").glob("*民政资金*.csv"))
    with open(raw, encoding="gbk", newline="") as fh:
        return [r for r in csv.reader(fh) if r[0] == "2017"]


def _receipt(home: Path, sid: str) -> tuple[str, str]:
    """(the XLSX's title line, the CSV's first line) of a submission's receipt."""
    (xlsx,) = (home / "receipts" / "43").glob(f"*_{sid}_回执.xlsx")
    title = CalamineWorkbook.from_path(str(xlsx)).get_sheet_by_index(0).to_python()[0][0]
    with open(xlsx.with_suffix(".csv"), encoding="utf-8-sig", newline="") as fh:
        first = next(csv.reader(fh))[0]
    return title, first


def _held(home: Path, rows: list[list[str]]) -> str:
    """A full resubmission that shrinks Hunan's 2017 funds: held, its receipt says 暂缓入库."""
    send_fund_form(home, NAME, rows)
    sid, status, *_ = ledger_row(home, NAME)
    assert status == "held"
    assert "暂缓入库" in _receipt(home, sid)[0]
    return sid


def _doctor(home: Path, *extra: str):
    return CliRunner().invoke(app, ["doctor", "--home", str(home), *extra])


def _nothing_new(home: Path) -> dict:
    (home / "inbox-empty" / "hunan").mkdir(parents=True, exist_ok=True)
    return nightly(inbox=str(home / "inbox-empty"), home=str(home))


def test_an_approval_killed_after_the_swap_leaves_a_stale_receipt_that_doctor_names_and_the_next_run_rewrites(
    demo_home_copy, hunan_rows
):
    sid = _held(demo_home_copy, hunan_rows[:3])
    killed = subprocess.run(
        [*FUPIN, "approve", sid, "--home", str(demo_home_copy)],
        env=api_env(FUPIN_KILL_AT="swap"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert ledger_row(demo_home_copy, NAME)[1] == "loaded"  # the swap happened: the approval took effect
    assert "暂缓入库" in _receipt(demo_home_copy, sid)[0]  # … but the receipt still says it waits

    found = _doctor(demo_home_copy)
    assert found.exit_code == 1
    (line,) = [x for x in found.output.splitlines() if "[receipt_stale]" in x]
    assert line.startswith("错误 [receipt_stale] 1 份回执与台账不符") and sid in line and "已入库" in line

    _nothing_new(demo_home_copy)
    title, first = _receipt(demo_home_copy, sid)
    assert title == f"回执：{NAME}（已入库，入库 3 行，退回 0 行）" and first == "本文件全部入库，无需更正。"
    assert "[receipt_stale]" not in _doctor(demo_home_copy).output


def test_doctor_fix_rewrites_a_stale_receipt_from_the_ledger(demo_home_copy, hunan_rows):
    sid = _held(demo_home_copy, hunan_rows[:3])
    done = CliRunner().invoke(app, ["discard", sid, "--reason", "误报", "--home", str(demo_home_copy)])
    assert done.exit_code == 0, done.output
    assert _receipt(demo_home_copy, sid)[0].startswith(f"回执：{NAME}（已放弃，未入库，")
    # the receipt as a crash after the swap leaves it: written from the held row
    with duckdb.connect(str(demo_home_copy / "warehouse.duckdb"), read_only=True) as con:
        message = con.execute("select message from meta.submissions where submission_id = ?", [sid]).fetchone()[0]
    held = Outcome(sid, "43", NAME, "", "", status="held", message=message.split("原暂缓原因：", 1)[1])
    write_receipt(Paths(demo_home_copy), held)
    assert "[receipt_stale]" in _doctor(demo_home_copy).output

    fixed = _doctor(demo_home_copy, "--fix")
    assert "已按台账重写 1 份回执（与台账不符 1 份，缺失 0 份） [receipt_rewritten]" in fixed.output
    assert "[receipt_stale]" not in fixed.output
    title, first = _receipt(demo_home_copy, sid)
    assert title.startswith(f"回执：{NAME}（已放弃，未入库，")
    assert first.startswith("民政部核实后未采用本文件") and "[receipt_discarded]" in first and "误报" in first


def test_a_held_submission_superseded_by_a_newer_one_gets_a_receipt_saying_so(demo_home_copy, hunan_rows):
    sid = _held(demo_home_copy, hunan_rows[:3])
    send_fund_form(demo_home_copy, "湖南省2017年民政资金全量（二）.csv", hunan_rows[:2])
    title, first = _receipt(demo_home_copy, sid)
    assert title.startswith(f"回执：{NAME}（已被更新的报送取代，")
    assert "[receipt_held_superseded]" in first and "湖南省2017年民政资金全量（二）.csv" in first
    assert "[receipt_stale]" not in _doctor(demo_home_copy).output
