"""The deployments really deployed: a Prefect server, the fupin work pool, a process worker, a nightly run.

Everything runs in subprocesses with their own PREFECT_HOME and PREFECT_API_URL, so the session's
test harness is untouched; every process started here is killed (its whole group) at the end.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest

from fupin.demo import write_demo
from tests.helpers import ROOT

PROJECT = ROOT
BIN = Path(sys.executable).parent
PREFECT = str(BIN / "prefect")
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(tmp: Path, api_url: str) -> dict[str, str]:
    """A clean Prefect environment: nothing inherited from the harness or the developer's profile."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(tmp / "prefect"),
        PREFECT_API_URL=api_url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_WORKER_QUERY_SECONDS="1",
        FUPIN_PROJECT_DIR=str(PROJECT),
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM the process group, SIGKILL it if it lingers."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def cli(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    done = subprocess.run(
        [PREFECT, "--no-prompt", *args], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"prefect {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.server
@pytest.mark.slow
def test_nightly_deployment_runs_on_a_real_server_and_worker(tmp_path):
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = server_env(tmp_path, api)
    home = tmp_path / "home"
    write_demo(home / "inbox")
    started: list[subprocess.Popen] = []
    logs = {name: open(tmp_path / f"{name}.log", "w") for name in ("server", "worker")}

    def log_tail(name: str) -> str:
        logs[name].flush()
        return (tmp_path / f"{name}.log").read_text()[-3000:]

    try:
        started.append(
            subprocess.Popen(
                [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                cwd=tmp_path,
                env=env,
                stdout=logs["server"],
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert started[0].poll() is None, f"server exited:\n{log_tail('server')}"
            assert time.monotonic() < deadline, f"server not healthy after 120 s:\n{log_tail('server')}"
            time.sleep(0.5)

        # make deploy: pool, Secret block from the key, deployments, automation — the key reaches the worker
        # only through the Secret block
        key = env.pop("FUPIN_PII_KEY")
        made = subprocess.run(
            ["make", "deploy", f"PY={sys.executable}"],
            cwd=PROJECT,
            env={**env, "FUPIN_PII_KEY": key},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert made.returncode == 0, made.stdout + made.stderr
        assert key not in made.stdout + made.stderr  # never echoed
        deployments = {d["name"] for d in httpx.post(f"{api}/deployments/filter", json={}, timeout=5).json()}
        assert {"nightly", "backfill", "rebuild-warehouse", "approve", "discard"} <= deployments
        blocks = httpx.post(f"{api}/block_documents/filter", json={}, timeout=5).json()
        assert "fupin-pii-key" in {b["name"] for b in blocks}
        automations = httpx.post(f"{api}/automations/filter", json={}, timeout=5).json()
        assert "fupin-nightly-failed" in {a["name"] for a in automations}
        started.append(
            subprocess.Popen(
                [PREFECT, "worker", "start", "--pool", "fupin", "--type", "process"],
                cwd=tmp_path,
                env=env,
                stdout=logs["worker"],
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        out = cli(
            env,
            "deployment",
            "run",
            "nightly/nightly",
            "--param",
            f"home={home}",
            "--param",
            f"inbox={home / 'inbox'}",
        )
        flow_run_id = re.search(r"UUID:\s*([0-9a-f-]{36})", out).group(1)

        deadline = time.monotonic() + 240
        while True:
            run = httpx.get(f"{api}/flow_runs/{flow_run_id}", timeout=5).json()
            state = run["state"]["type"] if run.get("state") else None
            if state in TERMINAL:
                break
            assert time.monotonic() < deadline, f"flow run still {state} after 240 s:\n{log_tail('worker')}"
            time.sleep(1)
        assert state == "COMPLETED", f"{run['state']}\n{log_tail('worker')}"

        with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
            total = con.execute(
                "select value from marts.indicators "
                "where indicator = 'civil_affairs_funds' and scope_code = 'luoxiao' and period = '2015-2017'"
            ).fetchone()[0]
        assert total == pytest.approx(84e8, rel=0.01)

        artifacts = httpx.post(
            f"{api}/artifacts/filter", json={"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}}, timeout=5
        ).json()
        keys = {a["key"] for a in artifacts}
        assert {"fupin-submissions", "fupin-indicators"} <= keys, keys
        table = next(a for a in artifacts if a["key"] == "fupin-submissions")
        assert "civil_affairs" in str(table["data"]) or "fund_allocation" in str(table["data"])
        task_runs = httpx.post(
            f"{api}/task_runs/filter", json={"flow_runs": {"id": {"any_": [flow_run_id]}}}, timeout=5
        ).json()
        assert "parse 江西省 遂川县建档立卡贫困户2017.csv" in {t["name"] for t in task_runs}
        with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:  # the key came from the block
            assert con.execute("select count(*) from core.household_registry").fetchone()[0] == 2
        runs = list((home / "runs").glob("*.json"))
        assert [p.stem for p in runs] == [flow_run_id]
    finally:
        for proc in reversed(started):
            stop(proc)
        for fh in logs.values():
            fh.close()
