"""The benchmark scripts run (at a small size: timings belong to `make bench`, not to tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import ROOT


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_registry_benchmark_smoke():
    # the script starts Prefect's own temporary server, whose 20 s default start-up wait a loaded machine misses
    env = {"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90", **os.environ}
    proc = subprocess.run(
        [sys.executable, "benchmarks/registry.py", "20000"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "(c) fupin registry ingest + load" in proc.stdout
    targets = json.loads(proc.stdout.strip().splitlines()[-1])["targets"]
    assert targets["c_under_1GiB"] and targets["query_under_0_5s"] and targets["raw_archive_at_most_35pct"]
