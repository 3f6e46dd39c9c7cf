"""Benchmarks (`make bench`): the nightly flow on the demo inbox, full run and no-op run.

Times are wall-clock seconds in one process; Prefect's ephemeral server start is measured apart
(the first flow call in a process pays it). Peak RSS is the process's maximum resident set.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# the demo includes household registries: synthetic people, so a fixed benchmark key will do
os.environ.setdefault("FUPIN_PII_KEY", "bench-key-not-a-secret-0123456789")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _timed(fn, *args, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - started, result


def main() -> None:
    """Run each case once and print a table."""
    from prefect import flow

    from fupin.demo import write_demo
    from fupin.flows.nightly import nightly

    @flow(name="bench-empty")
    def empty() -> None:
        return None

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        write_demo(home / "inbox")
        startup, _ = _timed(empty)
        rows.append(("Prefect ephemeral server start + empty flow", startup, ""))
        empty_flow, _ = _timed(empty)
        rows.append(("empty flow (server running)", empty_flow, ""))
        full, summary = _timed(nightly, inbox=str(home / "inbox"), home=str(home))
        rows.append(
            ("nightly, demo inbox, first run", full, f"{summary['received']} files, {summary['rows_loaded']} rows")
        )
        noop, summary = _timed(nightly, inbox=str(home / "inbox"), home=str(home))
        rows.append(("nightly, same inbox again (no-op)", noop, f"{summary['received']} files"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n{'case':<48} {'wall s':>8}  notes")
    for name, seconds, note in rows:
        print(f"{name:<48} {seconds:>8.2f}  {note}")
    print(f"{'no-op run beyond an empty flow':<48} {noop - empty_flow:>8.2f}")
    print(f"peak RSS of the process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
