"""`fupin explain` as a person runs it: a process of its own, no Prefect server, about a second on the demo."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from tests.helpers import FUPIN

pytestmark = pytest.mark.slow


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PREFECT_API_URL": "http://127.0.0.1:9/api"}  # nothing answers there: none may be needed
    return subprocess.run([*FUPIN, "explain", *args], capture_output=True, text=True, env=env, timeout=60)


def test_explain_answers_from_the_warehouse_alone_in_chinese_and_json(demo_run):
    home = str(demo_run["home"])
    started = time.monotonic()
    shown = _run("civil_affairs_funds", "luoxiao", "2015-2017", "--home", home)
    elapsed = time.monotonic() - started
    assert shown.returncode == 0, shown.stderr
    assert "数值：84.00亿元（精确值 8,400,000,000.00元）" in shown.stdout
    assert "2017年罗霄山片区县民政资金下达情况表.xlsx" in shown.stdout
    assert elapsed < 10  # about a second on the demo; the margin is for a machine shared by many suites
    document = json.loads(_run("civil_affairs_funds", "luoxiao", "2015-2017", "--json", "--home", home).stdout)
    assert set(document) >= {"value", "unit", "definition", "contributions", "coverage", "changes"}
    assert document["value"] == "8400000000.00"
    first = document["contributions"][0]
    assert set(first) >= {"value", "submission_id", "file_name", "sheet", "source_row", "county_code", "year"}
    unknown = _run("no_such_indicator", "luoxiao", "2015-2017", "--home", home)
    assert unknown.returncode == 1 and "[explain_unknown_indicator]" in unknown.stderr
