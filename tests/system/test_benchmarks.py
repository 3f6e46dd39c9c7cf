"""The benchmark scripts run and report what they measure (at a small size: timings belong to `make bench` and
`make bench-scale`, not to tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import ROOT


def _benchmark(script: str, *sizes: str) -> str:
    """A benchmark script's printed output; it must end well."""
    # the script starts Prefect's own temporary server, whose 20 s default start-up wait a loaded machine misses
    env = {"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90", **os.environ}
    proc = subprocess.run(
        [sys.executable, script, *sizes],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_registry_benchmark_smoke():
    out = _benchmark("benchmarks/registry.py", "20000")
    assert "(c) fupin registry ingest + load" in out
    targets = json.loads(out.strip().splitlines()[-1])["targets"]
    assert targets["c_under_1GiB"] and targets["query_under_0_5s"] and targets["raw_archive_at_most_35pct"]


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_scale_benchmark_smoke():
    """benchmarks/scale.py reads what it reports from fupin's public outputs."""
    result = json.loads(_benchmark("benchmarks/scale.py", "20000", "40000").strip().splitlines()[-1])
    small, large = result["sizes"]
    assert (small["households"], large["households"]) == (20000, 40000)
    for size in (small, large):
        assert "部分入库 [partially_loaded]" in size["ledger"]  # the run loaded the registry (a few IDs bad on purpose)
        assert 0 < size["registry_s"] < size["run_s"]  # its part, read from the run's progress lines
        parts = (size["start_s"], size["pull_s"], size["lake_s"], size["load_s"], size["finish_s"])
        assert all(p >= 0 for p in parts) and abs(sum(parts) - size["run_s"]) < 0.05  # the run, split
        assert 0 < size["lake_per_csv_byte"] < 2 and 0 < size["raw_per_csv_byte"] <= 1
        assert size["run_peak_mib"] > 0 and size["copy_peak_mib"] > 0
    assert set(result["checks"]) == {
        "peak_at_40_000_within_1.3x_peak_at_20_000",
        "peak_within_1_GiB",
        "run_within_2x_copy",
    }
