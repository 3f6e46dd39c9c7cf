"""A fupin command killed by any signal, SIGKILL included, leaves no Prefect server behind (fupin/ephemeral.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

FUPIN = str(Path(sys.executable).with_name("fupin"))


def _servers_of(pid: int) -> list[psutil.Process]:
    """Prefect's temporary servers spawned by process ``pid``."""
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for child in children:
        try:
            if "prefect.server.api.server:create_app" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_run_takes_its_prefect_server_with_it(tmp_path, sig):
    from fupin.demo import write_demo

    write_demo(tmp_path / "home" / "inbox")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    run = subprocess.Popen(
        [FUPIN, "run", "--quiet", "--home", str(tmp_path / "home")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    servers: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 120
        while not servers and time.monotonic() < deadline and run.poll() is None:
            servers = _servers_of(run.pid)
            time.sleep(0.2)
        assert servers, "fupin run never started Prefect's temporary server"
        time.sleep(1.0)  # the server is up and serving, the flow under way
        run.send_signal(sig)
        run.wait(timeout=30)
        gone, alive = psutil.wait_procs(servers, timeout=5)
        assert alive == [], f"Prefect server still running after {sig.name} of fupin run: {alive}"
    finally:
        if run.poll() is None:
            run.kill()
        for server in servers:  # an orphan of a failed check: not left running on the machine
            if server.is_running():
                server.kill()
