"""`fupin run` shows progress per province and stage: a live table on a terminal, plain lines otherwise."""

from __future__ import annotations

import os
import pty
import select
import subprocess

import pytest

from fupin.demo import write_demo
from tests.test_safe_runs import FUPIN, _api_env


@pytest.mark.usefixtures("prefect_harness")
def test_progress_is_line_oriented_when_not_on_a_terminal(tmp_path):
    write_demo(tmp_path / "home" / "inbox")
    proc = subprocess.run(
        [*FUPIN, "run", "--home", str(tmp_path / "home")], env=_api_env(), capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [line for line in proc.stdout.splitlines() if line.startswith("progress: ")]
    assert "progress: 36 pull 10 new files" in lines and "progress: 43 pull 3 new files" in lines
    for stage in ("parse", "normalise", "validate", "lake"):
        assert f"progress: 43 {stage} 湖南省罗霄山片区民政资金2015-2017.csv" in lines
    assert lines[-1] == "progress: all load 11 submissions"
    assert "\x1b[" not in proc.stdout  # no terminal control codes in a log file


@pytest.mark.usefixtures("prefect_harness")
def test_progress_is_a_live_table_on_a_terminal(tmp_path):
    write_demo(tmp_path / "home" / "inbox")
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [*FUPIN, "run", "--home", str(tmp_path / "home")],
        env=_api_env(COLUMNS="120"),
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
    assert "fupin run —" in text and "steps done" in text  # rich's live table
    assert "\x1b[" in text  # redrawn in place
    assert "progress: " not in text
