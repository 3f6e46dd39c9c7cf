"""National nightly benchmark: 31 provinces' forms and registries through one `fupin run`, then a no-op rerun.

The inbox: for every province, every current county in a fund form (long CSV, 5 fund columns ×
level) and a poverty-status form for each of 2015–2017, a trainings CSV and a projects workbook
over the three years, the province's share of the registries (`fupin.demo.registry.synthetic_inbox`),
and in Sichuan one village-level projects form. Both runs are `fupin run` subprocesses under
`/usr/bin/time -v` (peak RSS: the largest process of the run); the stages are timed from fupin's
progress lines (read as they are printed) and Prefect's task-run log lines.
Usage: python benchmarks/national.py [HOUSEHOLDS] [VILLAGE_ROWS] (defaults 5,000,000 and 130,000).
The last line is JSON. By default each run starts Prefect's ephemeral server (most of a no-op
rerun's time); with PREFECT_API_URL (and PREFECT_HOME, whose database the stages are read from)
set to a running `prefect server start`, the runs use it, as a scheduled nightly does. Without them
the temporary server keeps its database in a folder of the benchmarks' own (benchmarks.forms.env).
The no-op rerun is split by the clock of its printed lines: before the flow (imports, Prefect's
start), pull, the rest of the flow up to the report, and artifacts, printed summary and Prefect's stop.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.forms import FUPIN, env, project_rows, write_csv  # noqa: E402

YEARS = (2015, 2016, 2017)
FUNDS = (
    ("民政事业费", "中央"),
    ("民政事业费", "省级"),
    ("彩票公益金", "中央"),
    ("彩票公益金", "省级"),
    ("中央预算内投资", "中央"),
)
TARGETS = {"wall_s": 600, "peak_gib": 4, "noop_s": 15}


def _csv(path: Path, header: list[str], rows: list[list[object]], encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def write_province(folder: Path, province: str, seed: int) -> int:
    """One province's forms; the number of form rows written."""
    import numpy as np
    import xlsxwriter

    from fupin.core.reference import counties

    rng = np.random.default_rng(seed)
    places = sorted((c.county_code, c.county_name) for c in counties().values() if c.province_code == province)
    written = 0
    for year in YEARS:
        rows = [
            [year, code, name, fund, level, f"{rng.integers(100_000, 90_000_000) / 100:.2f}"]
            for code, name in places
            for fund, level in FUNDS
        ]
        _csv(
            folder / f"资金下达_{year}.csv",
            ["年度", "行政区划代码", "县市区", "资金类别", "资金级别", "金额（元）"],
            rows,
        )
        rural = rng.integers(50_000, 900_000, len(places))
        poor = (rural * rng.uniform(0.01, 0.12, len(places))).astype(int)
        lifted = (rural * rng.uniform(0.01, 0.2, len(places))).astype(int)
        status = [
            [year, code, name, int(r), int(lf), int(p), f"{p / r * 100:.2f}%"]
            for (code, name), r, p, lf in zip(places, rural, poor, lifted, strict=True)
        ]
        header = [
            "年份",
            "行政区划代码",
            "县市区",
            "农业户籍人口（人）",
            "已脱贫人口（人）",
            "未脱贫人口（人）",
            "贫困发生率",
        ]
        _csv(folder / f"贫困人口_{year}.csv", header, status)
        written += len(rows) + len(status)
    trainings = [
        [year, programme, name, int(rng.integers(1, 9)), int(t := rng.integers(30, 400)), int(t // 2), int(t // 3)]
        for year in YEARS
        for code, name in places
        for programme in ("养老护理员培训", "社会工作者培训")
    ]
    _csv(
        folder / "培训_2015-2017.csv",
        ["年度", "培训项目", "县（市、区）", "期数", "培训人数", "其中建档立卡贫困人员", "培训后就业人数"],
        trainings,
    )
    path = folder / "社会组织扶贫项目_2015-2017.xlsx"
    with xlsxwriter.Workbook(str(path), {"constant_memory": True}) as book:
        sheet = book.add_worksheet("项目")
        sheet.write_row(
            0, 0, ["年度", "社会组织名称", "项目名称", "行政区划代码", "县（市、区）", "落地资金（万元）", "受益人数"]
        )
        r = 0
        # a project's funds move from year to year by up to 30%, as real ones do: wider swings are the
        # plausibility gate's to hold (tests/flows/test_plausibility_gate.py), not the nightly's normal path
        base = rng.integers(10, 50_000, (len(places), 3)) / 10
        for year in YEARS:
            for p, (code, name) in enumerate(places):
                for k in range(3):
                    r += 1
                    amount = f"{base[p, k] * rng.uniform(0.7, 1.3):.1f}"
                    sheet.write_row(
                        r, 0, [year, f"基金会{k}", f"{name}项目{k}", code, name, amount, int(rng.integers(10, 900))]
                    )
    return written + len(trainings) + r


def write_inbox(inbox: Path, households: int, village_rows: int) -> dict[str, int]:
    """The national inbox; counts of what it holds."""
    from fupin.core.reference import PROVINCE_PINYIN
    from fupin.demo.registry import synthetic_inbox

    form_rows = sum(write_province(inbox / pinyin, code, int(code)) for code, pinyin in sorted(PROVINCE_PINYIN.items()))
    # village projects are small (up to 40万元): 130,000 of them raise Sichuan's project funds less than the
    # plausibility gate's max_rise, as a real village-level form would
    write_csv(
        inbox / PROVINCE_PINYIN["51"] / "驻村帮扶项目_村级_2016-2018.csv", project_rows(village_rows, "51", max_wan=40)
    )
    synthetic_inbox(inbox, households)
    files = sum(1 for p in inbox.rglob("*") if p.is_file())
    return {"provinces": len(PROVINCE_PINYIN), "files": files, "form_rows": form_rows + village_rows}


_PROGRESS = re.compile(r"^progress: (?P<province>\S+) (?P<stage>\S+) ?(?P<detail>.*)$")
_TASK_DONE = re.compile(
    r"^(?P<clock>\d\d:\d\d:\d\d\.\d+) \| \w+ +\| Task run '(?P<task>[a-z_]+)-\w+' - Finished in state"
)


def timed_run(inbox: Path, home: Path) -> dict:
    """`fupin run --verbose` (progress and Prefect's lines) under /usr/bin/time -v: wall, peak RSS, events, tasks."""
    events: list[tuple[float, str, str, str]] = []
    started = time.time()
    proc = subprocess.Popen(
        ["/usr/bin/time", "-v", FUPIN, "run", "--verbose", "--inbox", str(inbox), "--home", str(home)],
        cwd=ROOT,
        env={**env(), "PREFECT_LOGGING_LEVEL": "INFO"},  # the flow and task lines the stages are read from
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True)  # type: ignore[arg-type]
    reader.start()
    for line in proc.stdout:  # type: ignore[union-attr]
        match = _PROGRESS.match(line.rstrip("\n"))
        if match:
            events.append((time.time() - started, match["province"], match["stage"], match["detail"]))
    proc.wait()
    reader.join()
    wall = time.time() - started
    if proc.returncode not in (0, 3):
        raise SystemExit(f"fupin run failed ({proc.returncode}): {''.join(err)[-3000:]}")
    text = "".join(err)
    peak_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)[1])
    flow_run = re.search(r"Flow run '([\w-]+)' - Beginning flow run", text)[1]
    clock = re.search(r"^(\d\d:\d\d:\d\d\.\d+) \| \w+ +\| Flow run '[\w-]+' - Beginning", text, re.M)[1]
    day = datetime.fromtimestamp(started).date()
    flow_start = datetime.combine(day, datetime.strptime(clock, "%H:%M:%S.%f").time()).timestamp() - started
    report = re.search(r"^(\d\d:\d\d:\d\d\.\d+) \| \w+ +\| Task run 'publish_report-\w+' - Finished", text, re.M)
    report_done = None
    if report:
        report_done = datetime.combine(day, datetime.strptime(report[1], "%H:%M:%S.%f").time()).timestamp() - started
    return {
        "wall_s": wall,
        "peak_mib": peak_kib / 1024,
        "events": events,
        "flow_run": flow_run,
        "flow_start_s": flow_start,
        "report_done_s": report_done,
    }


STAGE_TASKS = {
    "pull": "pull_source",
    "parse": "parse_submission",
    "normalise": "normalise_submission",
    "validate": "validate_submission",
    "lake": "write_lake",
}


def task_runs(flow_run: str) -> dict[str, dict[str, float]]:
    """Per task: runs, summed seconds and the window from first start to last end, from Prefect's database.

    Prefect's ephemeral server may drop a few task-run records when it stops; the counts show it.
    """
    database = Path(env().get("PREFECT_HOME", Path.home() / ".prefect")) / "prefect.db"
    with sqlite3.connect(database) as con:
        rows = con.execute(
            "select substr(t.name, 1, length(t.name) - 4), count(*), "
            "sum((julianday(t.end_time) - julianday(t.start_time)) * 86400), "
            "(julianday(max(t.end_time)) - julianday(min(t.start_time))) * 86400 "
            "from task_run t join flow_run f on f.id = t.flow_run_id "
            "where f.name = ? and t.end_time is not null group by 1",
            [flow_run],
        ).fetchall()
    return {name: {"runs": n, "work": work, "window": window} for name, n, work, window in rows}


def stages(run: dict) -> dict[str, dict[str, float]]:
    """Per stage: 'work' = task seconds summed (4 run at once), 'window' = first start to last end.

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


def main() -> None:
    """Generate the inbox, run it twice, print the figures and a JSON line."""
    households = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000_000
    village_rows = int(sys.argv[2]) if len(sys.argv) > 2 else 130_000
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        inbox, home = Path(tmp) / "inbox", Path(tmp) / "home"
        began = time.perf_counter()
        held = write_inbox(inbox, households, village_rows)
        generated = time.perf_counter() - began
        print(f"inbox: {held} ({generated:.0f} s to generate)", flush=True)
        first = timed_run(inbox, home)
        noop = timed_run(inbox, home)
        ledger = subprocess.run(
            [
                FUPIN,
                "query",
                "--home",
                str(home),
                "--json",
                "select status, count(*) n, sum(rows_loaded) loaded, sum(rows_rejected) rejected "
                "from meta.submissions group by status order by status",
            ],
            cwd=ROOT,
            env=env(),
            capture_output=True,
            text=True,
        ).stdout.strip()
    parts = stages(first)
    print(f"\nnational nightly: {households:,} households, {held['form_rows']:,} form rows, {held['files']} files")
    print(f"{'stage':<42} {'window s':>9} {'work s':>8} {'tasks':>6}")
    for name, figures in parts.items():
        work = f"{figures['work']:>8.2f}" if "work" in figures else " " * 8
        print(f"{name:<42} {figures['window']:>9.2f} {work} {figures.get('runs', ''):>6}")
    print(f"{'first run, wall':<42} {first['wall_s']:>9.2f}   peak RSS {first['peak_mib']:.0f} MiB")
    print(f"{'no-op rerun, wall':<42} {noop['wall_s']:>9.2f}   peak RSS {noop['peak_mib']:.0f} MiB")
    for name, seconds in noop_stages(noop).items():
        print(f"{'  ' + name:<42} {seconds:>9.2f}")
    print(f"load average: {load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    print(f"ledger: {ledger}")
    targets = {
        "wall_under_10_min": first["wall_s"] < TARGETS["wall_s"],
        "peak_under_4_GiB": first["peak_mib"] < TARGETS["peak_gib"] * 1024,
        "noop_under_15_s": noop["wall_s"] < TARGETS["noop_s"],
    }
    result = {
        "households": households,
        "inbox": held,
        "wall_s": round(first["wall_s"], 2),
        "peak_mib": round(first["peak_mib"]),
        "noop_s": round(noop["wall_s"], 2),
        "noop_before_flow_s": round(noop["flow_start_s"], 2),
        "noop_stages": noop_stages(noop),
        "load": [round(load_start, 1), round(os.getloadavg()[0], 1)],
        "stages": parts,
        "targets": targets,
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
