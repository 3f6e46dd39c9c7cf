"""Issue 18, finding 4 (run records): a run that died is marked `crashed` in meta.runs by the next run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

from fupin.demo import write_demo
from fupin.flows.nightly import nightly
from tests.helpers import FUPIN, api_env, open_warehouse


def _outcomes(home) -> dict[str, str]:
    with open_warehouse(home) as con:
        return dict(con.execute("select run_id, outcome from meta.runs").fetchall())


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_a_killed_run_is_marked_crashed_and_a_waiting_one_is_not(tmp_path):
    demo = tmp_path / "demo"
    write_demo(demo)
    inbox = tmp_path / "inbox"
    shutil.copytree(demo / "hunan", inbox / "hunan")
    home = tmp_path / "home"
    runs = home / "runs"

    proc = subprocess.Popen(
        [*FUPIN, "run", "--inbox", str(inbox), "--home", str(home)],
        env=api_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not list(runs.glob("*.json")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    (killed,) = [json.loads(p.read_text()) for p in runs.glob("*.json")]
    assert killed["outcome"] == "running"

    # a run waiting for the lock has a start record too, and a live process: it must stay 'running'
    waiting = {"run_id": "waiting-run", "started_at": "2026-01-01T00:00:00+00:00", "outcome": "running"}
    waiting.update(pid=os.getppid(), host=socket.gethostname())
    (runs / "waiting-run.json").write_text(json.dumps(waiting))

    summary = nightly(inbox=str(inbox), home=str(home))
    assert summary["failed_provinces"] == {}
    outcomes = _outcomes(home)
    assert outcomes[killed["run_id"]] == "crashed"
    assert outcomes["waiting-run"] == "running"
    assert sorted(outcomes.values()).count("crashed") == 1
    message = json.loads((runs / f"{killed['run_id']}.json").read_text())["message"]
    assert "[run_crashed]" in message
