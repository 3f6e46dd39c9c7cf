"""The deployments really deployed: a Prefect server, the fupin work pool, a process worker, a nightly run.

Everything runs in subprocesses with their own PREFECT_HOME and PREFECT_API_URL, so the session's
test harness is untouched; every process started here is killed (its whole group) at the end.
"""

from __future__ import annotations

import re
import subprocess
import sys

import duckdb
import httpx
import pytest

from fupin.demo import write_demo
from tests.helpers import PREFECT, ROOT, free_port, server_env, stop, wait_flow_run, wait_healthy
from tests.helpers import prefect_cli as cli

PROJECT = ROOT


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
        wait_healthy(api, started[0], tmp_path / "server.log")

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

        run = wait_flow_run(api, flow_run_id, tmp_path / "worker.log")
        state = run["state"]["type"]
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
