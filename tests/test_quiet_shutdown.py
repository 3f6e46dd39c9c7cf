"""Quiet shutdown (issue 24): after a run of many files, Prefect's temporary server stops only once it has
recorded what the run sent — no "Error flushing events" traceback, and every task run recorded as finished."""

from __future__ import annotations

import csv
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

FUPIN = str(Path(sys.executable).with_name("fupin"))
HEADER = ["年度", "行政区划代码", "县市区", "资金类别", "资金级别", "金额（元）"]


@pytest.mark.slow
@pytest.mark.server
def test_a_run_of_a_hundred_files_ends_without_a_traceback(tmp_path):
    from fupin.demo import write_demo

    home = tmp_path / "home"
    write_demo(home / "inbox")
    for i in range(100):  # a hundred one-row corrections of Hunan's 2017 funds
        with open(home / "inbox" / "hunan" / f"湖南2017年更正{i:03d}.csv", "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows([HEADER, ["2017", "430224", "茶陵县", "民政事业费", "中央", str(1000 + i)]])
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    run = subprocess.run(
        [FUPIN, "run", "--quiet", "--home", str(home)], env=env, capture_output=True, text=True, timeout=1200
    )
    assert run.returncode in (0, 3), run.stderr[-3000:]
    received = re.search(r"received (\d+) files", run.stdout)
    assert received and int(received[1]) > 100, run.stdout[-2000:]
    assert "Traceback" not in run.stderr and "Error flushing" not in run.stderr, run.stderr[-3000:]
    with sqlite3.connect(tmp_path / "prefect" / "prefect.db") as db:
        unfinished = db.execute(
            "select count(*) from task_run where state_type not in ('COMPLETED', 'FAILED', 'CANCELLED', 'CRASHED')"
        ).fetchone()[0]
    assert unfinished == 0
