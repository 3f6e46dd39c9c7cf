"""Benchmark (`make bench`): the read-only commands on the demo home, each a process of its own as a person runs it.

    python benchmarks/commands.py [HOME] [--repeat N]

Without HOME the demo inbox is written to a temporary home and run once (`fupin run`, Prefect's temporary server:
that part is not timed). Each command then runs ``--repeat`` times (default 3) with Prefect pointed at a closed
port and its temporary server forbidden, as a proof that none needs Prefect: the table gives the median wall
seconds, the median CPU seconds (user + system, which a loaded machine does not inflate), the exit code and the
lines written to stderr; the last line is JSON with the figures and whether each answered in under two seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FUPIN = [sys.executable, "-m", "fupin.cli"]
TARGET_SECONDS = 2.0


def commands(home: Path, out: Path) -> list[tuple[str, list[str]]]:
    """(name, arguments) of every read-only command, on ``home``."""
    at = ["--home", str(home)]
    listed = [
        ("submissions", ["submissions", *at]),
        ("status", ["status", *at]),
        ("report", ["report", *at]),
        ("doctor", ["doctor", *at]),
        ("export", ["export", "--indicators", "--format", "xlsx", "--out", str(out / "indicators.xlsx"), *at]),
        ("indicators", ["indicators", *at]),
        ("query", ["query", "select count(*) from marts.indicators", *at]),
    ]
    # `fupin explain` where this checkout has it
    if subprocess.run([*FUPIN, "explain", "--help"], capture_output=True).returncode == 0:
        listed.append(("explain", ["explain", "civil_affairs_funds", "luoxiao", "2015-2017", *at]))
    return listed


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def without_prefect() -> dict[str, str]:
    """The environment of a command that must not need Prefect: its API a closed port, no temporary server."""
    return {
        **os.environ,
        "PREFECT_API_URL": f"http://127.0.0.1:{closed_port()}/api",
        "PREFECT_SERVER_ALLOW_EPHEMERAL_MODE": "false",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }


def demo_home(tmp: Path) -> Path:
    """A home with the demo run once (Prefect's temporary server: the run is not what is measured here)."""
    from fupin.demo import write_demo

    home = tmp / "home"
    write_demo(home / "inbox")
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.setdefault("FUPIN_PII_KEY", "bench-key-not-a-secret-0123456789")  # synthetic people
    env.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    done = subprocess.run([*FUPIN, "run", "--quiet", "--home", str(home)], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the demo run failed ({done.returncode}):\n{done.stdout}\n{done.stderr[-2000:]}")
    return home


def measure(home: Path, repeat: int) -> list[dict]:
    out = Path(tempfile.mkdtemp(prefix="fupin-bench-out-"))
    found = []
    for name, args in commands(home, out):
        seconds, cpu, code, stderr = [], [], 0, ""
        for _ in range(repeat):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            done = subprocess.run([*FUPIN, *args], env=without_prefect(), capture_output=True, text=True)
            seconds.append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            code, stderr = done.returncode, done.stderr
        found.append(
            {
                "command": name,
                "median_s": round(statistics.median(seconds), 2),
                "min_s": round(min(seconds), 2),
                "cpu_s": round(statistics.median(cpu), 2),  # user + system: what a shared machine's load does not add
                "exit": code,
                "stderr_lines": len(stderr.splitlines()),
            }
        )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", nargs="?", type=Path, help="a home with a warehouse (default: the demo, run now)")
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = options.home or demo_home(Path(tmp))
        rows = measure(home, options.repeat)
    print(f"\n{'command':<14} {'median s':>9} {'min s':>7} {'cpu s':>6} {'exit':>5} {'stderr lines':>13}")
    for r in rows:
        print(
            f"{r['command']:<14} {r['median_s']:>9.2f} {r['min_s']:>7.2f} {r['cpu_s']:>6.2f} {r['exit']:>5} "
            f"{r['stderr_lines']:>13}"
        )
    # doctor exits 1 when something needs a person; every other command 0
    answered = all(r["exit"] == 0 or (r["command"] == "doctor" and r["exit"] == 1) for r in rows)
    quiet = all(r["stderr_lines"] == 0 for r in rows)
    under = all(r["median_s"] < TARGET_SECONDS for r in rows)
    print(json.dumps({"commands": rows, "targets": {"answered": answered, "no_stderr": quiet, "under_2s": under}}))


if __name__ == "__main__":
    main()
