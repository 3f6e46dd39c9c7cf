"""Scale benchmark: one province's registry in ONE CSV at several sizes, `fupin run` against DuckDB's bare COPY.

For each size (default 2,000,000, 10,000,000 and 30,000,000 households; SCALE_SIZES or the arguments), in
a folder of its own that is deleted before the next size (30M rows are ~2.8 GB of CSV):
- the registry is written by a child process (`fupin.demo.registry.synthetic_registry`, in batches);
- a real `fupin run` on an inbox holding only it, in a fresh home, under `/usr/bin/time -v` (the key from
  FUPIN_PII_KEY, a fixed benchmark one by default): wall seconds, peak RSS of its largest process, and the
  registry's own part from the clock of its progress lines (lake: read, check, pseudonymise, write; load: its
  households into the warehouse);
- DuckDB's bare `COPY (select * from read_csv(…, all_varchar = true)) TO … (FORMAT parquet)` of the same file
  in a process of its own, also under `/usr/bin/time -v`;
- the home's bytes: raw archive and the registry's lake files per CSV byte, the warehouse.
Then the memory checks: the second size's peak within 1.3× the first's (10M against 2M by default) and every
peak within 1 GiB, and each whole run within 2× its COPY. Usage: python benchmarks/scale.py [N …]. The last
line is JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.timing import bare_copy, disk, registry_part, timed_run  # noqa: E402

PROVINCE = ("52", "guizhou")  # the province with the most registered poor
SIZES = (2_000_000, 10_000_000, 30_000_000)
PEAK_GROWTH = 1.3  # the second size's peak at most this times the first's
PEAK_MIB = 1024
RUN_PER_COPY = 2.0

GENERATE = """
import sys
from pathlib import Path
from fupin.demo.registry import synthetic_registry
synthetic_registry(Path(sys.argv[1]), int(sys.argv[2]), province_code=sys.argv[3], chunk=100_000)
"""


def one_size(households: int, folder: Path) -> dict[str, object]:
    """Write the registry, run fupin on it, COPY it; the figures of this size."""
    code, pinyin = PROVINCE
    name = f"建档立卡贫困户2017_{households}.csv"
    inbox, home = folder / "inbox", folder / "home"
    csv_path = inbox / pinyin / name
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", GENERATE, str(csv_path), str(households), code], cwd=ROOT, check=True)
    generated = time.perf_counter() - began
    csv_bytes = csv_path.stat().st_size
    print(f"{households:,} households: {csv_bytes / 2**20:,.0f} MiB of CSV in {generated:.0f} s", flush=True)
    run = timed_run(inbox, home)
    part = registry_part(run, name) or {}
    space = disk(home, inbox)
    copy = bare_copy(csv_path, folder / "copy.parquet")
    loaded = next((line.strip() for line in run["stdout"].splitlines() if name in line and "[" in line), "")
    return {
        "households": households,
        "csv_mib": round(csv_bytes / 2**20, 1),
        "generate_s": round(generated, 1),
        "run_s": round(run["wall_s"], 2),
        "run_peak_mib": round(run["peak_mib"]),
        "start_s": round(run["flow_start_s"], 2),  # imports and Prefect's temporary server, before the flow
        **part,
        # marts, data tests, receipts, report, and Prefect's stop after the last task run is recorded
        "finish_s": round(run["wall_s"] - run["flow_start_s"] - part["pull_s"] - part["registry_s"], 2)
        if part
        else None,
        "copy_s": copy["wall_s"],
        "copy_work_s": copy["work_s"],
        "copy_peak_mib": copy["peak_mib"],
        "copy_parquet_per_csv_byte": round(copy["parquet_bytes"] / csv_bytes, 3),
        "run_per_copy": round(run["wall_s"] / copy["wall_s"], 2),
        "registry_per_copy": round(part["registry_s"] / copy["work_s"], 2) if part else None,
        "lake_per_csv_byte": space["lake_registry_per_csv_byte"],
        "raw_per_csv_byte": round(space["raw_bytes"] / csv_bytes, 3),
        "warehouse_mib": round(space["warehouse_bytes"] / 2**20, 1),
        "ledger": loaded[:160],
    }


def main() -> None:
    """Each size in turn, its files deleted before the next; a table, the checks and a JSON line."""
    given = sys.argv[1:] or os.environ.get("SCALE_SIZES", "").split()
    sizes = [int(n) for n in given] or list(SIZES)
    load_start = os.getloadavg()[0]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for households in sizes:
            folder = Path(tmp) / str(households)
            try:
                results.append(one_size(households, folder))
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    print(
        f"\n{'rows':>11} {'CSV MiB':>8} {'run s':>7} {'peak MiB':>9} {'start s':>8} {'pull s':>7} {'lake s':>7}"
        f" {'load s':>7} {'finish s':>9} {'COPY s':>7}"
        f" {'COPY MiB':>9} {'run/COPY':>9} {'reg/COPY':>9} {'lake/CSV':>9} {'raw/CSV':>8} {'wh MiB':>7}"
    )
    nan = float("nan")
    for r in results:
        print(
            f"{r['households']:>11,} {r['csv_mib']:>8,.0f} {r['run_s']:>7.1f} {r['run_peak_mib']:>9,}"
            f" {r['start_s']:>8.1f} {r.get('pull_s', nan):>7.1f} {r.get('lake_s', nan):>7.1f}"
            f" {r.get('load_s', nan):>7.1f} {r['finish_s'] or nan:>9.1f} {r['copy_s']:>7.1f}"
            f" {r['copy_peak_mib']:>9,} {r['run_per_copy']:>8.2f}× {(r['registry_per_copy'] or 0):>8.2f}×"
            f" {r['lake_per_csv_byte']:>9.3f} {r['raw_per_csv_byte']:>8.3f} {r['warehouse_mib']:>7,.0f}"
        )
    print(
        "run/COPY: whole `fupin run` process against the whole COPY process; reg/COPY: the registry's part of the"
        " run (pull done → core tables loaded) against the COPY's own work; start: imports and Prefect's temporary"
        " server; pull: hashing and archiving the file; finish: marts, data tests, receipts, report, Prefect's stop"
    )
    checks: dict[str, bool] = {}
    if len(results) >= 2:
        first, second = results[0], results[1]
        key = f"peak_at_{second['households']:,}_within_{PEAK_GROWTH}x_peak_at_{first['households']:,}"
        checks[key.replace(",", "_")] = second["run_peak_mib"] <= PEAK_GROWTH * first["run_peak_mib"]
    checks["peak_within_1_GiB"] = all(r["run_peak_mib"] <= PEAK_MIB for r in results)
    checks[f"run_within_{RUN_PER_COPY:g}x_copy"] = all(r["run_per_copy"] <= RUN_PER_COPY for r in results)
    for name, ok in checks.items():
        print(f"{name}: {ok}")
    print(f"load average: {load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    out = {"sizes": results, "checks": checks, "load": [round(load_start, 1), round(os.getloadavg()[0], 1)]}
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
