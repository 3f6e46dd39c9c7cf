"""Forms benchmark: a N-row CSV and a N-row XLSX through `fupin run`, against pandas read + to_parquet.

Each file is a social-organisation projects form over real county codes of one province, written
the way clerks write them (万元 amounts with thousands separators, a few names without their 县).
fupin's cost of a file is `fupin run` on an inbox holding only that file minus `fupin run` on an
empty inbox (Prefect's start and the warehouse's build are paid by both), each a subprocess with a
fresh home. The bare path is `pandas.read_csv` / `pandas.read_excel(engine="calamine")` +
`to_parquet` of the same file, timed as a whole process (imports included) and as its work alone.
Usage: python benchmarks/forms.py [N] [REPEAT] (default 100,000 rows, 2 rounds). The last line is JSON.
On a shared machine one run can be slowed by whatever else runs: each case runs REPEAT times, the
rounds interleaved (empty, CSV, XLSX, pandas …), and the quickest of each counts. Prefect's start
alone varies by seconds from run to run, so the flow's own time (its first log line to its last) is
given too, with and without the file: the part of the run the file changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FUPIN = str(Path(sys.executable).with_name("fupin"))
PROVINCE = "51"  # Sichuan: the most counties, so the county lookup sees many distinct values
HEADER = [
    "年度",
    "社会组织名称",
    "组织类别",
    "项目名称",
    "县（市、区）",
    "行政区划代码",
    "落地资金（万元）",
    "受益人数",
]

BARE = """
import sys, time
import pandas as pd
started = time.perf_counter()
if sys.argv[1].endswith(".xlsx"):
    df = pd.read_excel(sys.argv[1], engine="calamine", dtype=str)
else:
    df = pd.read_csv(sys.argv[1], dtype=str)
df.to_parquet(sys.argv[2])
print(f"WORK {time.perf_counter() - started:.3f}", file=sys.stderr)
"""


STEPS = """
import sys, time
from pathlib import Path
import pandas  # loaded by every `fupin run`, the empty one too: Arrow loads it on its first array of Python values
from fupin.core.config import Paths
from fupin.tasks.lake import write_lake
from fupin.tasks.process import normalise_submission, parse_submission, validate_submission
from fupin.tasks.records import Received
path, home = Path(sys.argv[1]), Path(sys.argv[2])
paths = Paths.from_home(home)
received = Received("bench", "%s", str(path.parent), path.name, path.name, "-", path.stat().st_size, str(path), "")
started = time.perf_counter()
staged = parse_submission.fn(received, paths)
print(f"STEP parse {time.perf_counter() - started:.3f}", file=sys.stderr)
for step in (normalise_submission, validate_submission, write_lake):
    begun = time.perf_counter()
    staged = step.fn(staged, paths)
    print(f"STEP {step.name.replace('write_', '').split('_')[0]} {time.perf_counter() - begun:.3f}", file=sys.stderr)
print(f"WORK {time.perf_counter() - started:.3f}", file=sys.stderr)
"""


def project_rows(n: int, province: str = PROVINCE, seed: int = 17, max_wan: int = 500_000) -> list[list[object]]:
    """``n`` rows of a projects form over the province's current counties (key unique per row), each project's
    funds up to ``max_wan`` 万元."""
    import numpy as np

    from fupin.core.reference import counties

    rng = np.random.default_rng(seed)
    places = sorted((c.county_code, c.county_name) for c in counties().values() if c.province_code == province)
    orgs = [f"中华慈善{i}基金会" if i % 3 else f"中国扶贫{i}促进会" for i in range(2000)]
    picks = rng.integers(0, len(places), n)
    amounts = rng.integers(1, max_wan * 10, n) / 10  # 万元, one decimal
    out = []
    for i in range(n):
        code, name = places[picks[i]]
        amount = f"{amounts[i]:,.1f}" if i % 7 == 0 else f"{amounts[i]:.1f}"
        shown = name.removesuffix("县") if i % 11 == 0 and len(name) > 2 else name
        out.append(
            [
                2016 + i % 3,
                orgs[i % len(orgs)],
                "全国性" if i % 2 else "省级",
                f"项目{i:06d}",
                shown,
                code,
                amount,
                int(amounts[i]) % 900 + 1,
            ]
        )
    return out


def write_csv(path: Path, rows: list[list[object]]) -> Path:
    """The rows as a UTF-8 CSV with the form's header."""
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    """The rows as one sheet of a workbook: codes and amounts as text, counts and years as numbers."""
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    with xlsxwriter.Workbook(str(path), {"constant_memory": True}) as book:
        sheet = book.add_worksheet("项目")
        sheet.write_row(0, 0, HEADER)
        for i, row in enumerate(rows, start=1):
            sheet.write_row(i, 0, row)
    return path


def env() -> dict[str, str]:
    """The environment of every fupin process: no telemetry, a fixed key, forms of any size."""
    out = dict(os.environ)
    out.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    out.setdefault("FUPIN_PII_KEY", "bench-key-not-a-secret-0123456789")
    out.setdefault("FUPIN_LIMIT_ROWS_PER_SHEET", "10000000")
    out.setdefault("FUPIN_LIMIT_FORM_BYTES", str(2**30))
    out.setdefault("FUPIN_LIMIT_XLSX_EXPANDED_BYTES", str(2**31))
    if "PREFECT_HOME" not in out and "PREFECT_API_URL" not in out:
        # Prefect's temporary server on a database of this checkout's benchmarks: ~/.prefect, or one database
        # for every checkout, is shared with other runs (tests, other checkouts' benchmarks) whose writes lock
        # SQLite and slow every start and stop by seconds
        checkout = hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]
        out["PREFECT_HOME"] = str(Path(tempfile.gettempdir()) / f"fupin-bench-prefect-{checkout}")
    return out


_FLOW_LINE = re.compile(
    r"^(\d\d):(\d\d):(\d\d\.\d+) \| \w+ +\| Flow run '[\w-]+' - (Beginning flow run|Finished in)", re.M
)


def fupin_run(inbox: Path, home: Path) -> tuple[float, str, float]:
    """Wall seconds of `fupin run` as a subprocess, its output (exit 0 or 3 is a finished run), and the seconds of
    its flow alone (from Prefect's 'Beginning flow run' to its 'Finished in state' line: without Prefect's start,
    which varies by seconds from one run to the next on a shared machine)."""
    started = time.perf_counter()
    proc = subprocess.run(
        [FUPIN, "run", "--verbose", "--inbox", str(inbox), "--home", str(home)],
        cwd=ROOT,
        env={**env(), "PREFECT_LOGGING_LEVEL": "INFO"},
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 3):
        raise SystemExit(f"fupin run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    clock = [int(h) * 3600 + int(m) * 60 + float(s) for h, m, s, _ in _FLOW_LINE.findall(proc.stderr)]
    flow = (clock[-1] - clock[0]) % 86400 if len(clock) >= 2 else float("nan")
    return seconds, proc.stdout, flow


def bare(path: Path, out: Path) -> tuple[float, float]:
    """(whole process, work) seconds of pandas read + to_parquet of ``path``."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", BARE, str(path), str(out)], capture_output=True, text=True, check=True)
    whole = time.perf_counter() - started
    work = float(next(line.split()[1] for line in proc.stderr.splitlines() if line.startswith("WORK ")))
    return whole, work


def steps(path: Path, home: Path) -> tuple[float, dict[str, float]]:
    """Seconds of fupin's own steps on the file, parse to lake, in one process without Prefect's server; and of each.

    The process is fresh, as `fupin run`'s is: what a step builds once (the county aliases, the contracts) is in it.
    """
    proc = subprocess.run(
        [sys.executable, "-c", STEPS % PROVINCE, str(path), str(home)],
        cwd=ROOT,
        env=env(),
        capture_output=True,
        text=True,
    )
    if proc.returncode:
        raise SystemExit(f"steps failed: {proc.stderr[-2000:]}")
    lines = [line.split() for line in proc.stderr.splitlines()]
    each = {line[1]: float(line[2]) for line in lines if line[:1] == ["STEP"]}
    return float(next(line[1] for line in lines if line[:1] == ["WORK"])), each


def main() -> None:
    """Generate both files, time each path, print a table and a JSON line."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    repeat = max(1, int(sys.argv[2]) if len(sys.argv) > 2 else 2)
    load_start = os.getloadavg()[0]
    sys.path.insert(0, str(ROOT))
    from fupin.core.reference import PROVINCE_PINYIN

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        rows = project_rows(n)
        folder = PROVINCE_PINYIN[PROVINCE]
        files = {
            "csv": write_csv(tmp_path / "csv" / folder / "社会组织扶贫项目_全国.csv", rows),
            "xlsx": write_xlsx(tmp_path / "xlsx" / folder / "社会组织扶贫项目_全国.xlsx", rows),
        }
        (tmp_path / "empty" / folder).mkdir(parents=True)
        # the first makes Prefect's database if there is none; the quickest empty run is the fixed cost
        empty, _, empty_flow = fupin_run(tmp_path / "empty", tmp_path / "warmup")
        timings: dict[str, dict[str, list[float]]] = {kind: {} for kind in files}
        each_step: dict[str, dict[str, float]] = {}
        outputs = {}
        for round_ in range(repeat):
            seconds, _, flow = fupin_run(tmp_path / "empty", tmp_path / f"home-empty-{round_}")
            empty, empty_flow = min(empty, seconds), min(empty_flow, flow)
            for kind, path in files.items():
                full, outputs[kind], flow = fupin_run(path.parents[1], tmp_path / f"home-{kind}-{round_}")
                whole, work = bare(path, tmp_path / f"{kind}.parquet")
                own, each = steps(path, tmp_path / f"steps-{kind}-{round_}")
                if own <= min(timings[kind].get("own", [own])):  # the steps of the quickest round
                    each_step[kind] = each
                figures = (("full", full), ("flow", flow), ("whole", whole), ("work", work), ("own", own))
                for name, seconds in figures:
                    timings[kind].setdefault(name, []).append(seconds)
        for kind, path in files.items():
            full, flow, whole, work, own = (
                min(timings[kind][name]) for name in ("full", "flow", "whole", "work", "own")
            )
            out = outputs[kind]
            loaded = next((line for line in out.splitlines() if "rows" in line and "loaded" in line), "")
            results[kind] = {
                "rows": n,
                "mib": round(path.stat().st_size / 2**20, 1),
                "fupin_run_s": round(full, 2),
                "fupin_s": round(full - empty, 2),
                "pandas_process_s": round(whole, 2),
                "pandas_work_s": round(work, 2),
                "ratio_to_process": round((full - empty) / whole, 2),
                "ratio_to_work": round((full - empty) / work, 2),
                "fupin_flow_s": round(flow - empty_flow, 2),
                "flow_ratio_to_process": round((flow - empty_flow) / whole, 2),
                "fupin_steps_s": round(own, 2),
                "steps_ratio_to_work": round(own / work, 2),
                "steps_s": {name: round(seconds, 2) for name, seconds in each_step[kind].items()},
                "ledger": loaded.strip()[:100],
                "rounds": repeat,
            }
    print(f"\nempty-inbox `fupin run`: {empty:.2f} s (fupin s = `fupin run` with the file minus that)")
    print(f"each figure: the quickest of {repeat} rounds; load average {load_start:.1f} → {os.getloadavg()[0]:.1f}")
    print(f"{'file':<6} {'MiB':>5} {'fupin s':>8} {'pandas s (process / work)':>26} {'ratio':>14}")
    for kind, r in results.items():
        print(
            f"{kind:<6} {r['mib']:>5} {r['fupin_s']:>8.2f} {r['pandas_process_s']:>13.2f} / {r['pandas_work_s']:<10.2f}"
            f" {r['ratio_to_process']:>5.2f}× / {r['ratio_to_work']:.2f}×"
        )
    for kind, r in results.items():
        print(
            f"{kind}: in the flow alone (Prefect's start and stop left out; empty flow {empty_flow:.2f} s)"
            f" {r['fupin_flow_s']:.2f} s, {r['flow_ratio_to_process']:.2f}× pandas' process"
        )
    for kind, r in results.items():
        print(
            f"{kind}: fupin's steps alone (parse → lake, no Prefect server) {r['fupin_steps_s']:.2f} s,"
            f" {r['steps_ratio_to_work']:.2f}× pandas' work ("
            + ", ".join(f"{name} {seconds:.2f}" for name, seconds in r["steps_s"].items())
            + ")"
        )
    targets = {f"{k}_within_3x": r["ratio_to_process"] <= 3 for k, r in results.items()}
    summary = {"empty_run_s": round(empty, 2), "empty_flow_s": round(empty_flow, 2), "forms": results}
    print(json.dumps({**summary, "targets": targets}, ensure_ascii=False))


if __name__ == "__main__":
    main()
