"""Analysts' sessions and the warehouse file (issue 18, finding 5): a read-write session that has written, or
a WAL left by a killed one, never makes a run lose someone's data — the run fails with one line naming the
holder, or replays the WAL, and the next run works. Real second processes, real DuckDB files."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from fupin.cli import app
from fupin.demo import write_demo
from tests.helpers import copy_inbox, home_with_one_form

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture(scope="module")
def demo_inbox(tmp_path_factory) -> Path:
    inbox = tmp_path_factory.mktemp("inbox")
    write_demo(inbox)
    return inbox


ANALYST = """
import duckdb, os, signal, sys
con = duckdb.connect(sys.argv[1])
con.execute("create table main.my_notes as select 42 as answer")
print("written", flush=True)
if sys.argv[2] == "die":
    os.kill(os.getpid(), signal.SIGKILL)  # a killed session: its WAL stays beside the file
sys.stdin.readline()  # hold the session open until the test says so
con.close()
"""


def _analyst(warehouse, how: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", ANALYST, str(warehouse), how], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "written"
    return proc


def _answer(warehouse) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("select answer from main.my_notes").fetchone()[0]


def test_a_session_that_has_written_fails_the_run_naming_it_and_keeps_its_data(tmp_path, demo_inbox):
    inbox, home = home_with_one_form(tmp_path, demo_inbox)
    warehouse = home / "warehouse.duckdb"
    analyst = _analyst(warehouse, "hold")
    try:
        shutil.rmtree(inbox)
        copy_inbox(demo_inbox, inbox)
        result = CliRunner().invoke(app, ["run", "--inbox", str(inbox), "--home", str(home)])
        assert result.exit_code == 1
        assert f"PID {analyst.pid}" in result.output and "[warehouse_held]" in result.output
    finally:
        analyst.communicate("\n", timeout=30)  # the analyst commits and closes
    rerun = CliRunner().invoke(app, ["run", "--inbox", str(inbox), "--home", str(home)])
    assert rerun.exit_code == 0, rerun.output
    assert _answer(warehouse) == 42  # the analyst's table survived the run's swap
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from meta.submissions").fetchone()[0] == 15


def test_a_wal_left_by_a_killed_session_is_replayed_not_lost(tmp_path, demo_inbox):
    inbox, home = home_with_one_form(tmp_path, demo_inbox)
    warehouse = home / "warehouse.duckdb"
    analyst = _analyst(warehouse, "die")
    analyst.wait(timeout=30)
    assert (home / "warehouse.duckdb.wal").exists()
    shutil.rmtree(inbox)
    copy_inbox(demo_inbox, inbox)
    result = CliRunner().invoke(app, ["run", "--inbox", str(inbox), "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert not (home / "warehouse.duckdb.wal").exists()
    assert _answer(warehouse) == 42
    query = CliRunner().invoke(
        app, ["query", "select count(*) as n from meta.submissions", "--json", "--home", str(home)]
    )
    assert query.exit_code == 0 and '"n": 15' in query.output
