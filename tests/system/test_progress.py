"""`fupin run` shows progress per province and stage: a live table on a terminal, plain lines otherwise."""

from __future__ import annotations

import os
import pty
import select
import subprocess

import pytest

from fupin.demo import write_demo
from tests.helpers import FUPIN, api_env


@pytest.mark.usefixtures("prefect_harness")
def test_fupin_run_on_the_demo_prints_a_line_per_file_and_a_short_summary(tmp_path):
    files = write_demo(tmp_path / "home" / "inbox")
    proc = subprocess.run(
        [*FUPIN, "run", "--home", str(tmp_path / "home")], env=api_env(), capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert len(lines) <= 20, proc.stdout
    for file in files:  # each file on a line of its own, with its province, status and rows
        province = {"jiangxi": "江西省 36", "hunan": "湖南省 43", "mca": "民政部 00"}[file.parent.name]
        (line,) = [line for line in lines if line.startswith(f"{province}  {file.name}  ")]
        assert "  已入库 [loaded]：入库 " in line and " 行，退回 0 行" in line
    assert "收到 15 个文件：已入库 15；" in proc.stdout
    (luoxiao,) = [line for line in lines if line.startswith("罗霄山片区：")]
    assert "民政事业费 2015-2017 84.00亿元" in luoxiao and "24.00%" in luoxiao
    (designated,) = [line for line in lines if line.startswith("民政部定点扶贫县：")]
    assert "7.06亿元" in designated and "100.0万元" in designated and "1,000户" in designated  # F1, F3
    assert "1,000元/户" in designated
    (deep,) = [line for line in lines if line.startswith("三区三州：")]
    assert "2017-2018 298个" in deep and "1.04亿元" in deep and "2期" in deep and "153" in deep  # F12, F13
    assert lines[-1].startswith("全部指标：fupin indicators")
    assert not [line for line in lines if line.startswith("progress: ")]  # the steps only with --verbose
    assert "\x1b[" not in proc.stdout and "Traceback" not in proc.stderr


@pytest.mark.usefixtures("prefect_harness")
def test_progress_is_line_oriented_when_not_on_a_terminal_and_verbose(tmp_path):
    write_demo(tmp_path / "home" / "inbox")
    proc = subprocess.run(
        [*FUPIN, "run", "--verbose", "--home", str(tmp_path / "home")],
        env=api_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [line for line in proc.stdout.splitlines() if line.startswith("progress: ")]
    assert "progress: 36 pull 10 new files" in lines and "progress: 43 pull 3 new files" in lines
    for stage in ("parse", "normalise", "validate", "lake"):
        assert f"progress: 43 {stage} 湖南省罗霄山片区民政资金2015-2017.csv" in lines
    assert lines[-1] == "progress: all load 15 submissions"
    assert "\x1b[" not in proc.stdout  # no terminal control codes in a log file


@pytest.mark.usefixtures("prefect_harness")
def test_progress_is_a_live_table_on_a_terminal(tmp_path):
    write_demo(tmp_path / "home" / "inbox")
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [*FUPIN, "run", "--home", str(tmp_path / "home")],
        env=api_env(COLUMNS="120"),
        stdout=child,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    os.close(child)
    out = b""
    while True:
        ready, _, _ = select.select([main], [], [], 120)
        if not ready:
            break
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    assert proc.wait(timeout=120) == 0
    text = out.decode("utf-8", errors="replace")
    assert "fupin run — 已用" in text and "已完成步骤" in text  # rich's live table
    assert "\x1b[" in text  # redrawn in place
    assert "progress: " not in text
    assert "收到 15 个文件" in text.split("已完成步骤")[-1]  # then the summary, once the table is gone
