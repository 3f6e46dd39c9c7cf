"""Quiet shutdown (issue 24): after a run of many files, Prefect's temporary server stops only once it has
recorded what the run sent — no "Error flushing events" traceback, and every task run recorded as finished."""

from __future__ import annotations

import csv
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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
    received = re.search(r"收到 ([\d,]+) 个文件", run.stdout)
    assert received and int(received[1].replace(",", "")) > 100, run.stdout[-2000:]
    assert "Traceback" not in run.stderr and "Error flushing" not in run.stderr, run.stderr[-3000:]
    with sqlite3.connect(tmp_path / "prefect" / "prefect.db") as db:
        unfinished = db.execute(
            "select count(*) from task_run where state_type not in ('COMPLETED', 'FAILED', 'CANCELLED', 'CRASHED')"
        ).fetchone()[0]
    assert unfinished == 0


class _Recorder(BaseHTTPRequestHandler):
    """Prefect's /task_runs/count as a server still recording answers it: counts that move until ``busy_until``."""

    busy_until = 0.0

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("content-length") or 0))
        moving = time.monotonic() < self.busy_until
        body = json.dumps(int(time.monotonic() * 10) if moving else 7).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def recorder():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}/api"
    server.shutdown()


def test_the_stop_waits_until_the_server_has_recorded_what_it_received(recorder):
    from fupin.ephemeral import SETTLE_QUIET_SECONDS, _wait_until_recorded

    server, api = recorder
    started = time.monotonic()
    server.RequestHandlerClass.busy_until = started + 2.0
    _wait_until_recorded(api)
    waited = time.monotonic() - started
    assert 2.0 + SETTLE_QUIET_SECONDS <= waited < 2.0 + SETTLE_QUIET_SECONDS + 2.0


def test_the_wait_is_bounded_and_a_gone_server_is_not_waited_for(recorder, monkeypatch):
    import fupin.ephemeral as ephemeral

    server, api = recorder
    monkeypatch.setattr(ephemeral, "SETTLE_MAX_SECONDS", 1.5)
    server.RequestHandlerClass.busy_until = time.monotonic() + 60
    started = time.monotonic()
    ephemeral._wait_until_recorded(api)
    assert 1.5 <= time.monotonic() - started < 4.0
    started = time.monotonic()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    ephemeral._wait_until_recorded(f"http://127.0.0.1:{closed}/api")
    assert time.monotonic() - started < 1.0
