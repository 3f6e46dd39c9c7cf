"""The read-only commands answer without Prefect: its API a closed port, its temporary server forbidden, and still
each succeeds, prints what it prints and writes no Prefect line to stderr (none imports Prefect at all). A decision
(approve) without a configured server is taken in process and recorded in the ledger."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.helpers import FUPIN, ROOT, fund_facts, ledger_row, send_fund_form


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def without_prefect(server: bool = True) -> dict[str, str]:
    """No Prefect to be had: a closed port for its API (``server=False``: none configured), no temporary server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_SERVER_ALLOW_EPHEMERAL_MODE="false", PREFECT_SERVER_ANALYTICS_ENABLED="false")
    if server:
        env.update(PREFECT_API_URL=f"http://127.0.0.1:{closed_port()}/api")
    return env


@pytest.fixture(scope="module")
def home(demo_run, tmp_path_factory) -> Path:
    """A copy of the demo run's whole home (calendar, receipts, run records): the commands may write reports."""
    copy = tmp_path_factory.mktemp("readonly") / "home"
    shutil.copytree(demo_run["home"], copy)
    (copy / "config").mkdir(exist_ok=True)  # the demo's reporting calendar, as `fupin demo` writes it
    shutil.copy(ROOT / "warehouse" / "seeds" / "calendar.demo.yaml", copy / "config" / "calendar.yaml")
    return copy


def commands(home: Path, out: Path) -> dict[str, tuple[list[str], str]]:
    """Command → (its arguments, a text its output shows)."""
    at = ["--home", str(home)]
    return {
        "submissions": (["submissions", *at], "报送台账"),
        "status": (["status", "--all", *at], "报送情况"),
        "report": (["report", *at], ".html"),
        "doctor": (["doctor", *at], ""),
        "export": (["export", "--indicators", "--out", str(out / "x.xlsx"), *at], "x.xlsx"),
        "indicators": (["indicators", *at], "民政事业费"),
        "query": (["query", "select count(*) as n from marts.indicators", *at], "共 1 行"),
        "explain": (["explain", "civil_affairs_funds", "luoxiao", "2015-2017", *at], "84.00亿元"),
    }


@pytest.mark.parametrize(
    "name", ["submissions", "status", "report", "doctor", "export", "indicators", "query", "explain"]
)
def test_a_read_only_command_needs_no_prefect_and_prints_none_of_it(home, tmp_path, name):
    args, shows = commands(home, tmp_path)[name]
    # -X importtime: every module the command imports, on stderr (one "import time:" line each)
    done = subprocess.run(
        [*FUPIN[:-2], "-X", "importtime", *FUPIN[-2:], *args],
        env=without_prefect(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode in ((0, 1) if name == "doctor" else (0,)), done.stdout + done.stderr[-3000:]
    assert shows in done.stdout
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert not {m for m in imported if m == "prefect" or m.startswith("prefect.")}, name
    said = [line for line in done.stderr.splitlines() if not line.startswith("import time:")]
    assert said == [], said  # no telemetry error, no warning, no server line


def test_approve_without_a_server_decides_in_process_and_records_it(demo_home_copy):
    key = ("430224", 2017, "civil_affairs", "provincial")
    old = fund_facts(demo_home_copy)[key]
    name = "湖南2017年资金补充.csv"
    row = ["2017", "430224", "茶陵县", "民政事业费", "省级", f"{old * 5:.2f}"]
    summary = send_fund_form(demo_home_copy, name, [row])
    assert summary["by_status"] == {"held": 1}
    sid = ledger_row(demo_home_copy, name)[0]

    done = subprocess.run(
        [*FUPIN, "approve", sid, "--by", "张处长", "--home", str(demo_home_copy)],
        env={**without_prefect(server=False), "PREFECT_HOME": str(demo_home_copy.parent / "prefect")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert done.stdout.startswith(f"{sid}（{name}）已确认入库，决定人 张处长；") and done.stderr == ""
    assert ledger_row(demo_home_copy, name)[1] == "loaded"
    assert fund_facts(demo_home_copy)[key] == old * 5 == Decimal(f"{old * 5:.2f}")
    with duckdb.connect(str(demo_home_copy / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute(
            "select decision, decided_by from meta.decisions where submission_id = ?", [sid]
        ).fetchall() == [("approved", "张处长")]
    assert not (demo_home_copy.parent / "prefect" / "prefect.db").exists()  # no server started, no database made

    # and a discard, the same way
    name = "湖南2017年资金再补充.csv"
    summary = send_fund_form(demo_home_copy, name, [[*row[:5], f"{old * 25:.2f}"]])
    assert summary["by_status"] == {"held": 1}
    sid = ledger_row(demo_home_copy, name)[0]
    done = subprocess.run(
        [*FUPIN, "discard", sid, "--reason", "误报", "--home", str(demo_home_copy)],
        env={**without_prefect(server=False), "PREFECT_HOME": str(demo_home_copy.parent / "prefect")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and done.stderr == "", done.stdout + done.stderr[-3000:]
    assert "已放弃（未入库）" in done.stdout and ledger_row(demo_home_copy, name)[1] == "discarded"
    assert fund_facts(demo_home_copy)[key] == old * 5


def test_approve_against_a_configured_server_that_does_not_answer_says_so_in_one_line(demo_home_copy):
    done = subprocess.run(
        [*FUPIN, "approve", "43-000000000000", "--home", str(demo_home_copy)],
        env=without_prefect(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert line.startswith("error: 无法连接 Prefect 服务器 http://127.0.0.1:") and line.endswith("[server_unreachable]")


def test_the_commands_benchmark_runs_each_read_only_command(home):
    import json
    import sys

    done = subprocess.run(
        [sys.executable, "benchmarks/commands.py", str(home), "--repeat", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert {r["command"] for r in found["commands"]} >= {"submissions", "status", "report", "doctor", "query"}
    assert found["targets"]["answered"] and found["targets"]["no_stderr"]  # timings belong to `make bench`
