"""Issue 18, findings 2, 3, 7 and 12 (first item): odd entries in a province's folder never hurt a run.

A FIFO, symlinks (to a system file, to a file outside the inbox, to a folder, to themselves), a
GBK-encoded file name, hidden files, an Excel lock file and a ``..\\..\\evil.csv`` name sit beside
real submissions. The run is the real CLI in a subprocess with a timeout, so a hang fails the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from fupin.core.raw import read_raw
from fupin.core.safe_text import printable
from fupin.demo import write_demo
from fupin.tasks.pull import REFUSALS
from tests.helpers import FUPIN, api_env

GBK_NAME = "湖南资金2017.csv".encode("gbk")
ODD = {
    "passwd.csv": "not_regular_file",
    "outside.csv": "not_regular_file",
    "loop.csv": "not_regular_file",
    "etc": "not_regular_file",
    "pipe.csv": "not_regular_file",
    os.fsdecode(GBK_NAME): "undecodable_name",
    ".hidden.csv": "hidden_file",
    "~$资金.xlsx": "office_lock_file",
    "..\\..\\evil.csv": "hidden_file",
}


def _run(home: Path, inbox: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*FUPIN, "run", "--inbox", str(inbox), "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=240,
        env=api_env(),
    )


@pytest.fixture(scope="module")
def hostile(prefect_harness, tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    demo = base / "demo"
    write_demo(demo)
    inbox = base / "inbox"
    hunan = inbox / "hunan"
    shutil.copytree(demo / "hunan", hunan)
    good = sorted(p.name for p in hunan.iterdir())
    outside = base / "outside"
    outside.mkdir()
    shutil.copy(demo / "jiangxi" / "2016年罗霄山片区养老护理员培训.csv", outside / "training.csv")

    (hunan / "passwd.csv").symlink_to("/etc/passwd")
    (hunan / "outside.csv").symlink_to(outside / "training.csv")
    (hunan / "loop.csv").symlink_to(hunan / "loop.csv")
    (hunan / "etc").symlink_to("/etc", target_is_directory=True)
    os.mkfifo(hunan / "pipe.csv")
    with open(os.path.join(os.fsencode(hunan), GBK_NAME), "wb") as fh:
        fh.write((demo / "hunan" / good[0]).read_bytes())
    for name in (".hidden.csv", "~$资金.xlsx", "..\\..\\evil.csv"):
        shutil.copy(demo / "hunan" / good[0], hunan / name)

    home = base / "home"
    first = _run(home, inbox)
    second = _run(home, inbox)
    return {"home": home, "good": good, "first": first, "second": second, "outside": outside}


def test_the_run_finishes_and_loads_the_real_files(hostile):
    first = hostile["first"]
    assert first.returncode == 3, first.stdout[-2000:] + first.stderr[-2000:]  # rejections, not a failure
    assert "failed" not in first.stdout
    with duckdb.connect(str(hostile["home"] / "warehouse.duckdb"), read_only=True) as con:
        loaded = con.execute("select file_name from meta.submissions where status = 'loaded' order by 1").fetchall()
    assert [r[0] for r in loaded] == hostile["good"]


def test_every_odd_entry_has_a_rejected_ledger_row_with_its_code(hostile):
    with duckdb.connect(str(hostile["home"] / "warehouse.duckdb"), read_only=True) as con:
        rows = dict(con.execute("select file_name, message from meta.submissions where status = 'rejected'").fetchall())
        reasons = [r[0] for r in con.execute("select reason from meta.rejections").fetchall()]
    expected = {printable(name): code for name, code in ODD.items()}
    assert set(rows) == set(expected)
    for name, code in expected.items():
        assert f"[{code}]" in rows[name], (name, rows[name])
    assert "\\xba\\xfe" in printable(os.fsdecode(GBK_NAME))  # the GBK bytes shown as hex, never as surrogates
    assert not any("root:" in r for r in reasons)


def test_nothing_behind_a_link_or_pipe_reaches_the_archive_or_the_receipts(hostile):
    home = hostile["home"]
    raw_files = [p for p in (home / "raw").rglob("*") if p.is_file()]
    assert len(raw_files) == len(hostile["good"])
    passwd = Path("/etc/passwd").read_bytes()
    training = (hostile["outside"] / "training.csv").read_bytes()
    for raw in raw_files:
        assert read_raw(raw) not in (passwd, training)
    for receipt in (home / "receipts").rglob("*.csv"):
        assert "root:" not in receipt.read_text(encoding="utf-8-sig")


def test_a_second_run_changes_nothing(hostile):
    second = hostile["second"]
    # exit 3: nothing new, but the figures published from Hunan's files alone still lack Jiangxi's counties
    assert second.returncode == 3, second.stdout[-2000:] + second.stderr[-2000:]
    assert "收到 0 个文件" in second.stdout and "6/23 县，缺江西省 17 县" in second.stdout
    assert "[headline_incomplete]" in second.stdout
    for line in second.stdout.splitlines():
        assert REFUSALS["fifo"] not in line
