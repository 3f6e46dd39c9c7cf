"""`fupin run` without PREFECT_API_URL: Prefect's temporary server, spawned early, records the run and stops with it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

FUPIN = str(Path(sys.executable).with_name("fupin"))


@pytest.mark.slow
def test_a_run_without_an_api_reaches_prefects_temporary_server_and_leaves_none_behind(tmp_path):
    prefect_home = tmp_path / "prefect"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(prefect_home), PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="90")
    (tmp_path / "inbox" / "jiangxi").mkdir(parents=True)
    run = subprocess.run(
        [FUPIN, "run", "--home", str(tmp_path / "home"), "--inbox", str(tmp_path / "inbox")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "收到 0 个文件" in run.stdout
    # the server ran with this process's settings: its database is under this PREFECT_HOME and holds the run
    with sqlite3.connect(prefect_home / "prefect.db") as db:
        runs = db.execute(
            "select r.state_type from flow_run as r join flow as f on f.id = r.flow_id where f.name = 'nightly'"
        ).fetchall()
    assert runs == [("COMPLETED",)]
    servers = subprocess.run(["pgrep", "-f", "prefect.server.api.server:create_app"], capture_output=True, text=True)
    ours = f"PREFECT_HOME={prefect_home}".encode()
    still = [pid for pid in servers.stdout.split() if ours in _environ(pid)]
    assert still == []  # the run's server stopped with it


def _environ(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:  # gone since pgrep listed it
        return b""
