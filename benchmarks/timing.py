"""What the national and scale benchmarks share: a timed `fupin run`, its stages, a bare COPY, disk, warehouse equality.

Everything here reads fupin's public outputs only: the lines a run prints, Prefect's task runs, the files of the
home (raw archive, lake, warehouse) and the warehouse's tables, so the benchmarks keep working while fupin's
internals (pseudonym format, the registry's batches) change.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.forms import FUPIN, env  # noqa: E402

_PROGRESS = re.compile(r"^progress: (?P<province>\S+) (?P<stage>\S+) ?(?P<detail>.*)$")
_PEAK = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")


def _clock(day, text: str) -> float:
    return datetime.combine(day, datetime.strptime(text, "%H:%M:%S.%f").time()).timestamp()


def timed_run(inbox: Path, home: Path, *extra: str) -> dict:
    """`fupin run --verbose [extra…]` under /usr/bin/time -v: wall, peak RSS, progress events, flow run.

    The peak is GNU time's maximum resident set size: the largest single process of the run (the CLI or, with
    ``--dask local``, a worker), not their sum. Progress lines are read as they are printed, with their time.
    """
    events: list[tuple[float, str, str, str]] = []
    started = time.time()
    proc = subprocess.Popen(
        ["/usr/bin/time", "-v", FUPIN, "run", "--verbose", "--inbox", str(inbox), "--home", str(home), *extra],
        cwd=ROOT,
        env={**env(), "PREFECT_LOGGING_LEVEL": "INFO"},  # the flow and task lines the stages are read from
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True)  # type: ignore[arg-type]
    reader.start()
    out: list[str] = []
    for line in proc.stdout:  # type: ignore[union-attr]
        out.append(line)
        match = _PROGRESS.match(line.rstrip("\n"))
        if match:
            events.append((time.time() - started, match["province"], match["stage"], match["detail"]))
    proc.wait()
    reader.join()
    wall = time.time() - started
    text = "".join(err)
    if proc.returncode not in (0, 3):
        raise SystemExit(f"fupin run {' '.join(extra)} failed ({proc.returncode}): {text[-3000:]}")
    day = datetime.fromtimestamp(started).date()
    flow_run = re.search(r"Flow run '([\w-]+)' - Beginning flow run", text)
    clock = re.search(r"^(\d\d:\d\d:\d\d\.\d+) \| \w+ +\| Flow run '[\w-]+' - Beginning", text, re.M)
    report = re.search(r"^(\d\d:\d\d:\d\d\.\d+) \| \w+ +\| Task run 'publish_report-\w+' - Finished", text, re.M)
    return {
        "wall_s": wall,
        "peak_mib": int(_PEAK.search(text)[1]) / 1024,
        "events": events,
        "flow_run": flow_run[1] if flow_run else "",
        "flow_start_s": _clock(day, clock[1]) - started if clock else 0.0,
        "report_done_s": _clock(day, report[1]) - started if report else None,
        "stdout": "".join(out),
    }


# stage → the first word of its task runs' names ('parse 贵州省 file.csv', 'write 贵州省 …', 'load_warehouse-c91')
STAGE_TASKS = {"pull": "pull", "parse": "parse", "normalise": "normalise", "validate": "validate", "lake": "write"}


def task_runs(flow_run: str) -> dict[str, dict[str, float]]:
    """Per task (its name's first word): runs, summed seconds and the window from first start to last end.

    Read from the Prefect database of the benchmarks' PREFECT_HOME; Prefect's ephemeral server may drop a few
    task-run records when it stops (the counts show it), and with PREFECT_API_URL elsewhere there may be none.
    """
    database = Path(env().get("PREFECT_HOME", Path.home() / ".prefect")) / "prefect.db"
    if not flow_run or not database.exists():
        return {}
    with sqlite3.connect(database) as con:
        rows = con.execute(
            "select case when instr(t.name, ' ') > 0 then substr(t.name, 1, instr(t.name, ' ') - 1) "
            "else substr(t.name, 1, length(t.name) - 4) end, count(*), "
            "sum((julianday(t.end_time) - julianday(t.start_time)) * 86400), "
            "(julianday(max(t.end_time)) - julianday(min(t.start_time))) * 86400 "
            "from task_run t join flow_run f on f.id = t.flow_run_id "
            "where f.name = ? and t.end_time is not null group by 1",
            [flow_run],
        ).fetchall()
    return {name: {"runs": n, "work": work, "window": window} for name, n, work, window in rows}


def stages(run: dict) -> dict[str, dict[str, float]]:
    """Per stage: 'work' = task seconds summed (several run at once), 'window' = first start to last end.

    Load and marts are one task (load_warehouse); fupin's progress lines split it: core tables
    loaded, marts built, then data tests, the file swap and the receipts.
    """
    runs = task_runs(run["flow_run"])
    out = {}
    for stage, task in STAGE_TASKS.items():
        if task in runs:
            figures = runs[task]
            out[stage] = {k: round(figures[k], 2) for k in ("work", "window")} | {"runs": figures["runs"]}
    events = run["events"]
    lake_end = max((t for t, _, s, _ in events if s == "lake"), default=None)
    core = next((t for t, _, s, d in events if s == "load" and d == "core tables loaded"), None)
    marts = next((t for t, _, s, _ in events if s == "marts"), None)
    loaded = next((t for t, p, s, d in events if s == "load" and p == "all" and d != "core tables loaded"), None)
    # the last task runs' records are often lost when the ephemeral server stops: read from the lines
    if None not in (lake_end, core, marts, loaded):
        out["load: core tables"] = {"window": round(core - lake_end, 2)}
        out["marts"] = {"window": round(marts - core, 2)}
        out["data tests, swap, receipts"] = {"window": round(loaded - marts, 2)}
        if run["report_done_s"] is not None:
            out["report"] = {"window": round(run["report_done_s"] - loaded, 2)}
            out["summary, artifacts, Prefect stop"] = {"window": round(run["wall_s"] - run["report_done_s"], 2)}
    out["before the flow (imports, Prefect start)"] = {"window": round(run["flow_start_s"], 2)}
    return out


def registry_part(run: dict, file_name: str) -> dict[str, float] | None:
    """The registry's own seconds in a run holding one registry, from the clock of the progress lines.

    'pull': from the flow's start to the end of the pull (the file hashed and archived); 'lake': from there to the
    registry's lake line (read, checked, pseudonymised, written); 'load': from there to "core tables loaded" (its
    households copied into the warehouse); 'registry' = lake and load. None when the run printed no such lines (a
    Dask run: its workers have no listener).
    """
    events = run["events"]
    pulled = max((t for t, _, s, _ in events if s == "pull"), default=None)
    lake = next((t for t, _, s, d in events if s == "lake" and d == file_name), None)
    core = next((t for t, _, s, d in events if s == "load" and d == "core tables loaded"), None)
    if None in (pulled, lake, core):
        return None
    return {
        "pull_s": round(pulled - run["flow_start_s"], 2),
        "lake_s": round(lake - pulled, 2),
        "load_s": round(core - lake, 2),
        "registry_s": round(core - pulled, 2),
    }


def noop_stages(run: dict) -> dict[str, float]:
    """Where a rerun with nothing new spends its time, from the clock of the lines it printed."""
    pulls = [t for t, _, stage, _ in run["events"] if stage == "pull"]
    out = {"before the flow (imports, Prefect start)": run["flow_start_s"]}
    if pulls:
        out["pull: list, stat, hash what changed"] = max(pulls) - run["flow_start_s"]
        if run["report_done_s"] is not None:
            out["ledger, receipts, summary, report"] = run["report_done_s"] - max(pulls)
            out["artifacts, printed summary, Prefect stop"] = run["wall_s"] - run["report_done_s"]
    return {k: round(v, 2) for k, v in out.items()}


BARE_COPY = """
import duckdb, sys, time
started = time.perf_counter()
duckdb.sql(f"copy (select * from read_csv('{sys.argv[1]}', all_varchar = true)) to '{sys.argv[2]}' (format parquet)")
print(f"WORK {time.perf_counter() - started:.3f}", file=sys.stderr)
"""


def bare_copy(csv_path: Path, parquet: Path) -> dict[str, float]:
    """DuckDB's bare COPY of the CSV to Parquet in a process of its own under /usr/bin/time -v: wall, work, peak."""
    started = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-v", sys.executable, "-c", BARE_COPY, str(csv_path), str(parquet)],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(f"bare COPY failed: {proc.stderr[-2000:]}")
    work = float(re.search(r"^WORK (\S+)", proc.stderr, re.M)[1])
    out = {
        "wall_s": round(wall, 2),
        "work_s": round(work, 2),
        "peak_mib": round(int(_PEAK.search(proc.stderr)[1]) / 1024),
        "parquet_bytes": parquet.stat().st_size,
    }
    parquet.unlink()
    return out


def tree_bytes(folder: Path, pattern: str = "*") -> int:
    """Bytes of the files under ``folder`` matching ``pattern`` (0 when it does not exist)."""
    return sum(p.stat().st_size for p in folder.rglob(pattern) if p.is_file()) if folder.exists() else 0


def disk(home: Path, inbox: Path) -> dict[str, float]:
    """The home's bytes on disk against the inbox's CSV bytes: raw archive, lake (all, registries), warehouse.

    Registries are the inbox's 建档立卡 CSVs and the lake's household_registry folder (the lake's layout by
    dataset, `lake/<dataset>/province=…/year=…/<submission>.parquet`, is documented in the README).
    """
    csv = tree_bytes(inbox, "*.csv")
    registry_csv = tree_bytes(inbox, "建档立卡*.csv")
    out = {
        "inbox_bytes": tree_bytes(inbox),
        "inbox_csv_bytes": csv,
        "registry_csv_bytes": registry_csv,
        "raw_bytes": tree_bytes(home / "raw"),
        "lake_bytes": tree_bytes(home / "lake"),
        "lake_registry_bytes": tree_bytes(home / "lake" / "household_registry"),
        "warehouse_bytes": (home / "warehouse.duckdb").stat().st_size if (home / "warehouse.duckdb").exists() else 0,
    }
    # the raw archive per byte received (every file, forms and workbooks too), the registries' lake per CSV byte
    out["raw_per_inbox_byte"] = round(out["raw_bytes"] / out["inbox_bytes"], 3) if out["inbox_bytes"] else None
    out["lake_registry_per_csv_byte"] = round(out["lake_registry_bytes"] / registry_csv, 3) if registry_csv else None
    return out


# columns that legitimately differ between two runs of the same inbox: when a row was received, valid or changed
# (every TIMESTAMP column) and the run that wrote it
VOLATILE_TYPES = ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S")
VOLATILE_NAMES = frozenset({"run_id"})
SCHEMAS = ("core", "marts")


def compare_warehouses(a: Path, b: Path, schemas: Sequence[str] = SCHEMAS) -> dict[str, object]:
    """Every table and view of ``schemas`` in two warehouses, compared as multisets of rows without the volatile
    columns: per relation, its row count and the sum of its rows' hashes (order-free, streaming; a differing row
    changes the sum), then, for a relation that differs, the rows of each that the other lacks (EXCEPT ALL).

    Returns {"equal": [names], "different": {name: why}}; both files are opened read-only.
    """
    import duckdb

    con = duckdb.connect()
    con.execute(f"attach '{a}' as a (read_only)")
    con.execute(f"attach '{b}' as b (read_only)")
    listed = (
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_catalog = ? and table_schema in ({})"
    )
    marks = ", ".join("?" for _ in schemas)
    names_a = {r[0] for r in con.execute(listed.format(marks), ["a", *schemas]).fetchall()}
    names_b = {r[0] for r in con.execute(listed.format(marks), ["b", *schemas]).fetchall()}
    different: dict[str, str] = {name: "only in the first" for name in names_a - names_b}
    different |= {name: "only in the second" for name in names_b - names_a}
    equal = []
    for name in sorted(names_a & names_b):
        schema, table = name.split(".")
        columns = {}
        for catalog in ("a", "b"):
            columns[catalog] = [
                (c, t)
                for c, t in con.execute(
                    "select column_name, data_type from information_schema.columns "
                    "where table_catalog = ? and table_schema = ? and table_name = ? order by ordinal_position",
                    [catalog, schema, table],
                ).fetchall()
                if t not in VOLATILE_TYPES and c not in VOLATILE_NAMES
            ]
        if columns["a"] != columns["b"]:
            different[name] = f"columns differ: {columns['a']} / {columns['b']}"
            continue
        cols = ", ".join(f'"{c}"' for c, _ in columns["a"])
        figures = {
            catalog: con.execute(
                f'select count(*), coalesce(sum(hash({cols})::hugeint), 0) from {catalog}."{schema}"."{table}"'
            ).fetchone()
            for catalog in ("a", "b")
        }
        if figures["a"] == figures["b"]:
            equal.append(name)
            continue
        rows = []
        for left, right in (("a", "b"), ("b", "a")):
            rows.append(
                con.execute(
                    f'select count(*) from (select {cols} from {left}."{schema}"."{table}" '
                    f'except all select {cols} from {right}."{schema}"."{table}")'
                ).fetchone()[0]
            )
        different[name] = (
            f"rows {figures['a'][0]} / {figures['b'][0]}; {rows[0]} only in the first, {rows[1]} only in the second"
        )
    con.close()
    return {"equal": equal, "different": different}
