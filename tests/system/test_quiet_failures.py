"""A failure fupin handles is one Chinese line with its code — in `fupin run --quiet`, in a worker's log of a failed
nightly, from `make deploy` against a server that does not answer — and a real bug still shows its traceback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fupin.demo import write_demo
from tests.helpers import FUPIN, ROOT, api_env


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sources(tmp_path: Path, **provinces: str) -> Path:
    """sources.yaml: province → url."""
    file = tmp_path / "sources.yaml"
    file.write_text(
        "sources:\n" + "".join(f'  - province: "{p}"\n    url: {u}\n' for p, u in provinces.items()), encoding="utf-8"
    )
    return file


def one_hunan_form(tmp_path: Path) -> Path:
    """A folder with Hunan's demo fund form only."""
    demo = tmp_path / "demo"
    files = write_demo(demo)
    folder = tmp_path / "hunan-one"
    folder.mkdir()
    (form,) = [f for f in files if f.parent.name == "hunan" and "民政资金" in f.name]
    shutil.copy(form, folder / form.name)
    return folder


@pytest.mark.usefixtures("prefect_harness")
def test_quiet_run_says_an_unreachable_source_in_one_chinese_line(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/fupin/"
    listed = sources(tmp_path, **{"43": url})
    done = subprocess.run(
        [*FUPIN, "run", "--quiet", "--sources", str(listed), "--home", str(tmp_path / "home")],
        env=api_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]
    assert done.stdout.splitlines() == [
        "收到 0 个文件：无新报送；入库 0 行，退回 0 行 [run_counts]",
        done.stdout.splitlines()[1],
    ]
    failed = done.stdout.splitlines()[1]
    assert failed.startswith(f"失败 湖南省 43：报送来源 {url} 读取失败（共尝试 4 次）：") and failed.endswith(
        "[source_failed]"
    )
    # no Prefect line about it: no ERROR, no raw ClientConnectorError(ConnectionKey(…)), no traceback
    assert done.stderr == "", done.stderr[-3000:]


@pytest.mark.usefixtures("prefect_harness")
def test_a_real_bug_in_a_run_still_shows_its_traceback(tmp_path):
    listed = sources(tmp_path, **{"43": str(one_hunan_form(tmp_path))})
    buggy = textwrap.dedent(
        """
        import sys
        from fupin.tasks import process

        def parse_with_a_bug(*args, **kwargs):
            raise ZeroDivisionError("a bug in fupin")

        process.parse_submission.fn = parse_with_a_bug
        from fupin.cli import app

        sys.argv = ["fupin", *sys.argv[1:]]
        app()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", buggy, "run", "--quiet", "--sources", str(listed), "--home", str(tmp_path / "home")],
        env=api_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]
    assert "Traceback (most recent call last)" in done.stderr and "ZeroDivisionError: a bug in fupin" in done.stderr
    assert "失败 湖南省 43：湖南省罗霄山片区民政资金2015-2017.csv: ZeroDivisionError: a bug in fupin" in done.stdout


def _run_as_a_worker_does(entrypoint: str, folder: Path, parameters: dict, tmp_path: Path):
    """A deployment's flow run executed as a process worker executes it: `python -m prefect.engine`."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name(entrypoint.split(":")[1])
        deployment = client.create_deployment(
            flow_id=flow_id, name=f"quiet-{tmp_path.name}", entrypoint=entrypoint, path=str(folder)
        )
        flow_run = client.create_flow_run_from_deployment(deployment, parameters=parameters)
        done = subprocess.run(
            [sys.executable, "-m", "prefect.engine"],
            cwd=folder,
            env=api_env(PREFECT__FLOW_RUN_ID=str(flow_run.id), PREFECT_LOGGING_LEVEL="INFO"),
            capture_output=True,
            text=True,
            timeout=300,
        )
        state = client.read_flow_run(flow_run.id).state
    return done, state


@pytest.mark.usefixtures("prefect_harness")
def test_a_failed_nightly_ends_in_the_worker_log_with_one_chinese_line_not_a_traceback(tmp_path):
    listed = sources(tmp_path, **{"43": str(tmp_path / "no-such-folder")})
    done, state = _run_as_a_worker_does(
        "flows/nightly.py:nightly",
        ROOT,
        {"sources_file": str(listed), "home": str(tmp_path / "home"), "pull_retries": 0},
        tmp_path,
    )
    log = done.stdout + done.stderr
    assert state.is_failed() and state.message.endswith("[run_failed]"), state
    assert "Traceback" not in log and "RunFailed" not in log, log[-4000:]
    errors = [line for line in log.splitlines() if "| ERROR" in line]
    assert len(errors) == 2, errors  # the province, when it failed; the run, when it ended
    assert errors[0].endswith(
        f"湖南省 43：报送来源 {tmp_path / 'no-such-folder'} 读取失败（共尝试 1 次）："
        f"source {tmp_path / 'no-such-folder'} does not exist [source_failed]"
    )
    assert "1 个省份未能入库（湖南省 43），其他省份已入库：湖南省 43：报送来源 " in errors[1]
    assert errors[1].endswith("[run_failed]")


@pytest.mark.usefixtures("prefect_harness")
def test_a_bug_in_a_flow_keeps_its_traceback_in_the_worker_log(tmp_path):
    (tmp_path / "buggy.py").write_text(
        textwrap.dedent(
            """
            from prefect import flow

            from fupin.tasks.summary import quiet_handled_tracebacks


            @flow(name="buggy")
            def buggy():
                quiet_handled_tracebacks()  # what the nightly installs: it must not hide a bug
                raise ZeroDivisionError("a bug in fupin")
            """
        ),
        encoding="utf-8",
    )
    done, state = _run_as_a_worker_does("buggy.py:buggy", tmp_path, {}, tmp_path)
    log = done.stdout + done.stderr
    assert state.is_failed()
    assert "Traceback (most recent call last)" in log and "ZeroDivisionError: a bug in fupin" in log, log[-3000:]


def test_deploy_against_a_server_that_does_not_answer_says_so_in_one_line(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_API_URL=url, PREFECT_HOME=str(tmp_path / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    done = subprocess.run(
        [sys.executable, "-m", "fupin.deploy"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"无法连接 Prefect 服务器 {url}（ConnectError: ") and line.endswith("[server_unreachable]")
    made = subprocess.run(
        ["make", "deploy", f"PY={sys.executable}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert made.returncode != 0 and line.split("（")[0] in made.stderr and "Traceback" not in made.stderr


def test_a_run_against_a_configured_server_that_does_not_answer_says_so_in_one_line(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_API_URL=url, PREFECT_HOME=str(tmp_path / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    (tmp_path / "home" / "inbox" / "hunan").mkdir(parents=True)
    run = [*FUPIN, "run", "--quiet", "--home", str(tmp_path / "home")]
    done = subprocess.run(run, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"error: 无法连接 Prefect 服务器 {url}（ConnectError: ")
    assert line.endswith("[server_unreachable]")
