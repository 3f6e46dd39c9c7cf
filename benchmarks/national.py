"""National nightly benchmark: 31 provinces' forms and registries through one `fupin run`, a no-op rerun, a Dask run.

The inbox: for every province, every current county in a fund form (long CSV, 5 fund columns ×
level) and a poverty-status form for each of 2015–2017, a trainings CSV and a projects workbook
over the three years, the province's registry in ONE CSV sized by its real share of the registered
poor (`POOR_2014` below; `fupin.demo.registry.synthetic_registry`) with a 2017 grant list paying one
household in GRANT_EVERY (50) by its head's ID number, and in Sichuan one village-level
projects form. The inbox is written by one process per province (BENCH_JOBS at once, default 2),
or reused from the folder BENCH_INBOX when it holds one of the same size (written there otherwise).
Both runs are `fupin run` subprocesses under `/usr/bin/time -v` (peak RSS: the largest process of
the run); the stages are timed from fupin's progress lines (read as they are printed) and
Prefect's task-run log lines. Then, unless BENCH_DASK=0, the same inbox in a fresh home with
`fupin run --dask local` (prefect-dask, a LocalCluster of processes), and the two warehouses'
tables compared (every table and view of core and marts, timestamps and run ids left out).
Usage: python benchmarks/national.py [HOUSEHOLDS] [VILLAGE_ROWS] (defaults 29,000,000 and 130,000).
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
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.forms import FUPIN, env, project_rows, write_csv  # noqa: E402
from benchmarks.timing import compare_warehouses, disk, noop_stages, stages, timed_run  # noqa: E402

# Rural poor population at the end of 2014 by province, 万人, under the national line (2,300 yuan a year at 2010
# prices): National Bureau of Statistics (国家统计局住户调查办公室), 《中国农村贫困监测报告2015》, 2015 — the survey
# estimate the 2014 建档立卡 registration (about 2,948万户 / 8,962万人 nationally) was sized against. Only
# persons are published by province, so the benchmark uses these as SHARES, scaled to the households asked for
# (about 29 million). The figures were taken down from the report's provincial table from memory of it, not
# from a copy checked here: they sum to 7,125万 against the published national 7,017万, and the eight
# minority provinces (15, 45, 52, 53, 54, 63, 64, 65) to 2,221万 against the 2,205万 that NBS and the State
# Ethnic Affairs Commission published for them (2015-04-15); good enough for shares, not for citation.
# Beijing, Tianjin, Shanghai and Zhejiang (11, 12, 31, 33) had no poor under the national line in the report
# (their own, higher lines): they send forms but NO registry here.
# fmt: off
POOR_2014 = {
    "13": 320, "14": 269, "15": 114, "21": 126, "22": 81, "23": 161, "32": 95, "34": 309, "35": 45,
    "36": 276, "37": 242, "41": 565, "42": 323, "43": 532, "44": 115, "45": 540, "46": 50, "50": 119,
    "51": 509, "52": 623, "53": 574, "54": 61, "61": 350, "62": 417, "63": 52, "64": 45, "65": 212,
}
# fmt: on
NO_REGISTRY = ("11", "12", "31", "33")


def province_households(total: int) -> dict[str, int]:
    """``total`` households split over the provinces by their share of ``POOR_2014`` (largest remainders: the
    counts add up to ``total`` exactly); provinces in ``NO_REGISTRY`` get none."""
    whole = sum(POOR_2014.values())
    exact = {code: total * poor / whole for code, poor in POOR_2014.items()}
    counts = {code: int(share) for code, share in exact.items()}
    for code in sorted(exact, key=lambda c: exact[c] - counts[c], reverse=True)[: total - sum(counts.values())]:
        counts[code] += 1
    return counts


YEARS = (2015, 2016, 2017)
FUNDS = (
    ("民政事业费", "中央"),
    ("民政事业费", "省级"),
    ("彩票公益金", "中央"),
    ("彩票公益金", "省级"),
    ("中央预算内投资", "中央"),
)
TARGETS = {"wall_s": 600, "peak_gib": 1.5, "noop_s": 15}


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


# rows per batch of the generator: ~300 MiB per generating process (1,000,000 would be ~900 MiB)
GENERATE_CHUNK = 100_000


def write_province_inbox(inbox: Path, code: str, households: int) -> tuple[str, int, float]:
    """One province's folder: its forms and, if ``households``, its registry in one CSV; (code, form rows, s)."""
    from fupin.core.reference import PROVINCE_PINYIN
    from fupin.demo.registry import synthetic_registry

    began = time.perf_counter()
    folder = inbox / PROVINCE_PINYIN[code]
    rows = write_province(folder, code, int(code))
    if households:
        target = folder / f"建档立卡贫困户2017_{households}.csv"
        synthetic_registry(target, households, seed=int(code), chunk=GENERATE_CHUNK, province_code=code)
        rows += write_grant_list(target, folder / "2017年“十百千”帮扶行动资金发放花名册.csv")
    return code, rows, time.perf_counter() - began


# one household in GRANT_EVERY of each registry is paid direct aid (“十百千”) in 2017: a national grant list of
# ~580,000 rows at 29M households, named by the heads' ID numbers, so that the grants join the registry by
# pseudonym and explain's lineage holds a row per grant
GRANT_EVERY = 50
GRANT_HEADER = [
    "年度",
    "帮扶项目",
    "县（市、区）",
    "乡镇",
    "行政村",
    "户编号",
    "户主姓名",
    "户主身份证号码",
    "补助金额（元）",
    "资金来源",
]


def write_grant_list(registry: Path, target: Path) -> int:
    """A grant list paying every GRANT_EVERY-th household of ``registry`` with a valid ID number; its rows."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from fupin.tasks.identity.numbers import check_ids, normalise_ids

    columns = ["户编号", "户主姓名", "户主身份证号码", "县（市、区）", "乡镇", "行政村"]
    reader = pacsv.open_csv(
        registry,
        convert_options=pacsv.ConvertOptions(include_columns=columns, column_types=dict.fromkeys(columns, pa.string())),
    )
    written, seen = 0, 0
    with target.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(GRANT_HEADER)
        for batch in reader:
            pick = np.arange((-seen) % GRANT_EVERY, batch.num_rows, GRANT_EVERY)
            seen += batch.num_rows
            chosen = batch.take(pa.array(pick))
            ids = normalise_ids(chosen.column("户主身份证号码"))
            valid = check_ids(ids, np.full(len(ids), 2017)) == 0
            chosen = chosen.filter(pa.array(valid))
            for i, row in enumerate(zip(*(chosen.column(c).to_pylist() for c in columns), strict=True)):
                household, name, number, county, township, village = row
                amount = 1000 + 500 * ((written + i) % 5)
                out.writerow(
                    [
                        2017,
                        "“十百千”帮扶行动",
                        county,
                        township,
                        village,
                        household,
                        name,
                        number,
                        amount,
                        "干部职工捐款",
                    ]
                )
            written += chosen.num_rows
    return written


def grant_figures(warehouse: Path) -> dict[str, int]:
    """The grants loaded, those not found in the registry, and what explain's lineage holds for them."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        one = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
        lineage_blocks = one("select count(distinct block_id) from pragma_storage_info('marts.indicator_lineage')")
        return {
            "grants": one("select count(*) from core.fct_household_grant"),
            "unmatched": one("select count(*) from marts.household_grant_unmatched"),
            "lineage_rows": one("select count(*) from marts.indicator_lineage"),
            "lineage_grant_rows": one("select count(*) from marts.indicator_lineage where dataset = 'household_grant'"),
            "lineage_bytes": lineage_blocks * one("select block_size from pragma_database_size()"),
        }


def write_inbox(inbox: Path, households: int, village_rows: int, jobs: int = 2) -> dict[str, object]:
    """The national inbox, one process per province (``jobs`` at once, the largest registries first); what it holds."""
    from fupin.core.reference import PROVINCE_PINYIN

    counts = province_households(households)
    order = sorted(PROVINCE_PINYIN, key=lambda code: -counts.get(code, 0))
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        done = list(pool.map(write_province_inbox, [inbox] * len(order), order, [counts.get(c, 0) for c in order]))
    # village projects are small (up to 40万元): 130,000 of them raise Sichuan's project funds less than the
    # plausibility gate's max_rise, as a real village-level form would
    write_csv(
        inbox / PROVINCE_PINYIN["51"] / "驻村帮扶项目_村级_2016-2018.csv", project_rows(village_rows, "51", max_wan=40)
    )
    files = sum(1 for p in inbox.rglob("*") if p.is_file())
    largest = max(counts, key=counts.get)
    return {
        "provinces": len(PROVINCE_PINYIN),
        "registries": sum(1 for n in counts.values() if n),
        "largest_registry": f"{largest}: {counts[largest]:,}",
        "files": files,
        "form_rows": sum(rows for _, rows, _ in done) + village_rows,
        "households": sum(counts.values()),
    }


def cached_inbox(households: int, village_rows: int, tmp: Path) -> tuple[Path, dict[str, object], float]:
    """The inbox: BENCH_INBOX's if it holds one of this size, else written (there, or in ``tmp``); seconds spent."""
    folder = Path(os.environ["BENCH_INBOX"]) if os.environ.get("BENCH_INBOX") else tmp
    inbox, label = folder / "inbox", folder / "inbox.json"
    wanted = {"households": households, "village_rows": village_rows, "shares": POOR_2014}
    if label.exists():
        known = json.loads(label.read_text())
        if known.get("wanted") == wanted and inbox.is_dir():
            return inbox, known["held"], 0.0
    shutil.rmtree(inbox, ignore_errors=True)
    label.unlink(missing_ok=True)
    began = time.perf_counter()
    held = write_inbox(inbox, households, village_rows, int(os.environ.get("BENCH_JOBS", "2")))
    seconds = time.perf_counter() - began
    label.write_text(json.dumps({"wanted": wanted, "held": held}, ensure_ascii=False))
    return inbox, held, seconds


def ledger_of(home: Path) -> str:
    """meta.submissions by status, as `fupin query --json` prints it."""
    return subprocess.run(
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


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def main() -> None:
    """Generate (or reuse) the inbox, run it, rerun it, run it on Dask, print the figures and a JSON line."""
    households = int(sys.argv[1]) if len(sys.argv) > 1 else 29_000_000
    village_rows = int(sys.argv[2]) if len(sys.argv) > 2 else 130_000
    with_dask = os.environ.get("BENCH_DASK", "1") not in ("0", "", "no", "false")
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        inbox, held, generated = cached_inbox(households, village_rows, Path(tmp))
        how = f"{generated:.0f} s to generate" if generated else f"reused from {inbox}"
        print(f"inbox: {held} ({how})", flush=True)
        home = Path(tmp) / "home"
        first = timed_run(inbox, home)
        space = disk(home, inbox)
        grants = grant_figures(home / "warehouse.duckdb")
        noop = timed_run(inbox, home)
        ledger = ledger_of(home)
        dask = compared = None
        if with_dask:
            dask_home = Path(tmp) / "home-dask"
            dask = timed_run(inbox, dask_home, "--dask", "local")
            dask_ledger = ledger_of(dask_home)
            began = time.perf_counter()
            compared = compare_warehouses(home / "warehouse.duckdb", dask_home / "warehouse.duckdb")
            compared["seconds"] = round(time.perf_counter() - began, 1)
            compared["ledger_equal"] = dask_ledger == ledger
    parts = stages(first)
    print(
        f"\nnational nightly: {held['households']:,} households in {held['registries']} registries "
        f"(largest {held['largest_registry']}), {held['form_rows']:,} form rows, {held['files']} files"
    )
    print(f"{'stage':<42} {'window s':>9} {'work s':>8} {'tasks':>6}")
    for name, figures in parts.items():
        work = f"{figures['work']:>8.2f}" if "work" in figures else " " * 8
        print(f"{name:<42} {figures['window']:>9.2f} {work} {figures.get('runs', ''):>6}")
    print(f"{'first run, wall':<42} {first['wall_s']:>9.2f}   peak RSS {first['peak_mib']:.0f} MiB")
    print(f"{'no-op rerun, wall':<42} {noop['wall_s']:>9.2f}   peak RSS {noop['peak_mib']:.0f} MiB")
    for name, seconds in noop_stages(noop).items():
        print(f"{'  ' + name:<42} {seconds:>9.2f}")
    print(
        f"disk: inbox {mib(space['inbox_bytes'])} (registry CSVs {mib(space['registry_csv_bytes'])}), "
        f"raw archive {mib(space['raw_bytes'])} ({space['raw_per_inbox_byte']} per byte received), "
        f"lake {mib(space['lake_bytes'])} (registries {mib(space['lake_registry_bytes'])}, "
        f"{space['lake_registry_per_csv_byte']} per registry CSV byte), warehouse {mib(space['warehouse_bytes'])}"
    )
    if dask is not None:
        print(f"{'Dask run (--dask local), wall':<42} {dask['wall_s']:>9.2f}   peak RSS {dask['peak_mib']:.0f} MiB")
        if compared["different"]:
            total = len(compared["different"]) + len(compared["equal"])
            print(f"tables DIFFER: {len(compared['different'])} of {total}")
            for name, why in sorted(compared["different"].items()):
                print(f"  {name}: {why}")
        else:
            print(
                f"tables equal: {len(compared['equal'])} tables (core and marts; timestamps and run ids left out;"
                f" compared in {compared['seconds']} s)"
            )
        print(f"ledgers equal: {compared['ledger_equal']}")
    print(
        f"grants: {grants['grants']:,} loaded, {grants['unmatched']:,} not found in the registry; lineage "
        f"{grants['lineage_rows']:,} rows ({grants['lineage_grant_rows']:,} for grants, "
        f"{mib(grants['lineage_bytes'])} in the warehouse)"
    )
    print(f"load average: {load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    print(f"ledger: {ledger}")
    targets = {
        "wall_under_10_min": first["wall_s"] < TARGETS["wall_s"],
        "peak_under_1.5_GiB": first["peak_mib"] < TARGETS["peak_gib"] * 1024,
        "noop_under_15_s": noop["wall_s"] < TARGETS["noop_s"],
    }
    if compared is not None:
        targets["dask_tables_equal"] = not compared["different"] and compared["ledger_equal"]
    result = {
        "households": held["households"],
        "inbox": held,
        "generate_s": round(generated, 1),
        "wall_s": round(first["wall_s"], 2),
        "peak_mib": round(first["peak_mib"]),
        "noop_s": round(noop["wall_s"], 2),
        "noop_peak_mib": round(noop["peak_mib"]),
        "noop_before_flow_s": round(noop["flow_start_s"], 2),
        "noop_stages": noop_stages(noop),
        "disk": space,
        "grants": grants,
        "load": [round(load_start, 1), round(os.getloadavg()[0], 1)],
        "stages": parts,
        "targets": targets,
    }
    if dask is not None:
        result["dask"] = {
            "wall_s": round(dask["wall_s"], 2),
            "peak_mib": round(dask["peak_mib"]),
            "tables_equal": len(compared["equal"]),
            "tables_different": compared["different"],
            "ledger_equal": compared["ledger_equal"],
        }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
