"""Registry ingest benchmark: N generated households, three ways, each in its own process.

(a) DuckDB's bare COPY (select * from read_csv(…)) TO … (FORMAT parquet)
(b) a naive pandas path: read_csv, validate row by row, to_parquet
(c) fupin's ingest: parse → validate → pseudonymise → Parquet → load (the nightly flow's own lake
    and load steps, without Prefect around them: the warehouse lists the file, core.fct_household reads it)
plus the poor-population-by-county query over core.fct_household.

Each path's "work" is timed inside its process from its first step to its last, after its
imports (the ratios compare those); the whole process, interpreter start and imports (Prefect's
~0.7 s for (c)) included, is shown beside it.
It also gives the warehouse's size, the registry's size in the lake and how long the copy takes that every later
run with something new makes of the warehouse (it is built in a copy and swapped in).
Usage: python benchmarks/registry.py [N] (default 10,000,000); REGISTRY_NAIVE=0 leaves out (b).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

GENERATE = """
import sys
from pathlib import Path
from fupin.demo.registry import synthetic_registry
synthetic_registry(Path(sys.argv[1]), int(sys.argv[2]), province_code="36")
"""

BARE = """
import duckdb, sys, time
started = time.perf_counter()
duckdb.sql(f"copy (select * from read_csv('{sys.argv[1]}', all_varchar = true)) to '{sys.argv[2]}' (format parquet)")
print(f"WORK {time.perf_counter() - started:.3f}", file=sys.stderr)
"""

NAIVE = """
import hashlib, hmac, sys, time
import pandas as pd
from stdnum.cn import ric
started = time.perf_counter()
df = pd.read_csv(sys.argv[1], dtype=str)
ok, keys = [], []
for number, members in zip(df["户主身份证号码"], df["家庭人口数"]):
    good = ric.is_valid(number) and 1 <= int(members) <= 20
    ok.append(good)
    keys.append(hmac.new(b"bench-key-0123456789", number.encode(), "sha256").hexdigest() if good else None)
df["household_key"] = keys
df[ok].drop(columns=["户主姓名", "户主身份证号码"]).to_parquet(sys.argv[2])
print(f"WORK {time.perf_counter() - started:.3f}", file=sys.stderr)
"""

FUPIN = """
import os, sys, time
from pathlib import Path
os.environ["FUPIN_PII_KEY"] = "bench-key-0123456789"
from fupin.core.config import Paths
from fupin.tasks.registry import registry_outcome
from fupin.tasks.load import load_warehouse
from fupin.tasks.records import Outcome
paths = Paths.from_home(sys.argv[2])
sid, name = "36-bench-2017", "registry2017.csv"
rec = {"file_name": name, "raw_path": sys.argv[1], "province_code": "36", "submission_id": sid}
outcome = Outcome(sid, "36", name, "-", "2026-11-29T02:00:00+08:00", raw_path=sys.argv[1])
started = time.perf_counter()
outcome = registry_outcome(outcome, rec, paths, paths.staging / sid)  # parse, check, pseudonymise, lake
lake = time.perf_counter()
load_warehouse.fn([str(outcome.save(paths.staging / sid / "outcome.json"))], paths)  # the nightly load step
print(f"WORK {time.perf_counter() - started:.3f}", file=sys.stderr)
print(f"PHASES lake {lake - started:.2f} load {time.perf_counter() - lake:.2f} "
      f"rows {outcome.rows_loaded} rejected {outcome.rows_rejected}", file=sys.stderr)
"""

# what the household table costs every later night: the warehouse's size, and the copy a run with anything new
# makes of it (tasks/load: built in a copy, swapped in)
SIZE = """
import os, shutil, sys, time
from pathlib import Path
warehouse = Path(sys.argv[1])
lake = sum(f.stat().st_size for f in (warehouse.parent / "lake").rglob("*.parquet"))
started = time.perf_counter()
shutil.copyfile(warehouse, str(warehouse) + ".copy")
copy = time.perf_counter() - started
os.unlink(str(warehouse) + ".copy")
print(f"SIZE warehouse {warehouse.stat().st_size} lake {lake} copy {copy:.3f}", file=sys.stderr)
"""

QUERY = """
import sys, time, duckdb
# a plain client: the households are a table of the warehouse, no setting needed
con = duckdb.connect(sys.argv[1], read_only=True)
sql = "select county_code, sum(members) from core.fct_household where status <> '已脱贫' group by 1"
started = time.perf_counter()
con.execute(sql).fetchall()  # the session's first query: it also reads the Parquet footers
print(f"QUERY {time.perf_counter() - started:.3f}", file=sys.stderr)
"""

# peak memory is the child's own high-water mark (VmHWM): ru_maxrss survives exec on Linux and would
# carry the parent's size into every child
MEASURE = (
    "import sys; sys.argv = sys.argv[1:]; exec(sys.argv[0]); "
    "print('PEAK', next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')), "
    "file=sys.stderr)"
)


def run(code: str, *args: str) -> tuple[float, float, float, str]:
    """Work seconds (as the child timed them), whole-process seconds, peak RSS in MiB, stderr of one child."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", MEASURE, code, *args], capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    peak = next(int(line.split()[1]) for line in proc.stderr.splitlines() if line.startswith("PEAK")) / 1024
    work = next((float(line.split()[1]) for line in proc.stderr.splitlines() if line.startswith("WORK")), wall)
    return work, wall, peak, proc.stderr


def main() -> None:
    """Generate, run each way, print the table with ratios and targets."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        csv_path = tmp / "registry.csv"
        run(GENERATE, str(csv_path), str(n))  # one province's registry, written by a child: this process stays small
        size = csv_path.stat().st_size / 2**20
        results = {
            "a": run(BARE, str(csv_path), str(tmp / "a.parquet")),
            "c": run(FUPIN, str(csv_path), str(tmp / "c")),
        }
        if os.environ.get("REGISTRY_NAIVE", "1") != "0":  # REGISTRY_NAIVE=0 leaves out (b), minutes at 10M
            results["b"] = run(NAIVE, str(csv_path), str(tmp / "b.parquet"))
        query = run(QUERY, str(tmp / "c" / "warehouse.duckdb"))[3]
        sizes = next(x for x in run(SIZE, str(tmp / "c" / "warehouse.duckdb"))[3].splitlines() if x.startswith("SIZE"))
        sizes = sizes.split()
        query_wall = float(next(line.split()[1] for line in query.splitlines() if line.startswith("QUERY")))
    a = results["a"][0]
    names = {
        "a": "(a) DuckDB bare COPY to Parquet",
        "b": "(b) naive pandas, row-by-row checks",
        "c": "(c) fupin registry ingest + load",
    }
    print(f"\nregistry of {n:,} households, {size:,.0f} MiB CSV")
    print(f"{'path':<40} {'work s':>8} {'× (a)':>7} {'process s':>10} {'peak MiB':>9}")
    for key, (work, wall, peak, _) in sorted(results.items()):
        print(f"{names[key]:<40} {work:>8.2f} {work / a:>7.2f} {wall:>10.2f} {peak:>9.0f}")
    c_work, c_peak = results["c"][0], results["c"][2]
    phases = next(line for line in results["c"][3].splitlines() if line.startswith("PHASES")).split()
    print(f"(c) in detail: lake step {phases[2]} s, load step {phases[4]} s")
    print(f"(c) loaded {int(phases[6]):,} households, rejected {int(phases[8]):,} rows")
    print(
        f"warehouse.duckdb {int(sizes[2]) / 2**20:,.0f} MiB, registry in the lake {int(sizes[4]) / 2**20:,.0f} MiB; "
        f"the copy a later run makes of the warehouse: {float(sizes[6]):.2f} s"
    )
    if "b" in results:
        print(f"(b) / (c) speed-up: {results['b'][0] / c_work:.1f}×")
    print(f"poor population by county over core.fct_household: {query_wall:.3f} s")
    print(
        json.dumps(
            {
                "targets": {
                    "c_within_1_5x_of_a": c_work <= 1.5 * a,
                    "c_under_1GiB": c_peak < 1024,
                    "c_5x_faster_than_b": results["b"][0] >= 5 * c_work if "b" in results else None,
                    "query_under_0_5s": query_wall < 0.5,
                }
            }
        )
    )


if __name__ == "__main__":
    main()
