"""Safe nightly runs: idempotent, revision-aware, crash-safe, readers first, one at a time, failing sources.

Everything here is real: second processes, SIGKILL, a read-only DuckDB connection held open by
another process, HTTP servers on 127.0.0.1.
"""

from __future__ import annotations

import csv
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from fupin.core.locking import run_lock
from fupin.demo import write_demo
from fupin.flows.nightly import nightly, run_nightly
from tests.helpers import FUPIN, api_env, copy_inbox, home_with_one_form, indicator, open_warehouse

HUNAN_FUNDS = "湖南省罗霄山片区民政资金2015-2017.csv"


@pytest.fixture(scope="module")
def demo_inbox(tmp_path_factory) -> Path:
    inbox = tmp_path_factory.mktemp("inbox")
    write_demo(inbox)
    return inbox


def _timeless(con, name: str) -> str:
    """The relation's columns but its moments (marts.submission_status: when a period last loaded, a run's time)."""
    schema, table = name.split(".")
    columns = con.execute(
        "select column_name from duckdb_columns() where schema_name = ? and table_name = ? "
        "and data_type not in ('TIMESTAMP WITH TIME ZONE', 'TIMESTAMP') order by column_index",
        [schema, table],
    ).fetchall()
    return ", ".join(f'"{c}"' for (c,) in columns)


def _contents(home: Path) -> dict[str, list]:
    """What an analyst sees: marts, current facts and the ledger, without run-specific times and paths."""
    con = open_warehouse(home)
    try:
        names = [
            f"{s}.{t}"
            for s, t in con.execute(
                # marts.indicator_changes is a log of runs, like meta.runs: a crashed run's history differs
                "select schema_name, table_name from duckdb_tables() where schema_name = 'marts' "
                "and table_name <> 'indicator_changes' "
                "union all select schema_name, view_name from duckdb_views() where schema_name = 'core' "
                "and view_name like 'fct_%' and not suffix(view_name, '_history') order by 1, 2"
            ).fetchall()
        ]
        out = {
            name: sorted(map(repr, con.execute(f"select {_timeless(con, name)} from {name}").fetchall()))
            for name in names
        }
        out["meta.submissions"] = sorted(
            con.execute(
                "select submission_id, dataset, file_name, status, rows_total, rows_loaded, rows_rejected "
                "from meta.submissions"
            ).fetchall()
        )
        return out
    finally:
        con.close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


# ---------------------------------------------------------------- idempotence and duplicates


@pytest.mark.usefixtures("prefect_harness")
def test_same_content_under_another_name_is_a_duplicate_counted_once(tmp_path, demo_inbox):
    original = demo_inbox / "jiangxi" / "2016年罗霄山片区养老护理员培训.csv"
    inbox, home = home_with_one_form(tmp_path, demo_inbox, original.name)
    # the same bytes again, under another name and in another folder of the source
    shutil.copy(original, inbox / "jiangxi" / "培训（重报）.csv")
    (inbox / "jiangxi" / "resent").mkdir()
    shutil.copy(original, inbox / "jiangxi" / "resent" / original.name)
    summary = nightly(inbox=str(inbox), home=str(home))
    assert summary["by_status"] == {"duplicate": 2}
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    statuses = sorted(con.execute("select status from meta.submissions").fetchall())
    trainees = con.execute("select sum(trainees) from core.fct_training").fetchone()[0]
    con.close()
    assert statuses == [("duplicate",), ("duplicate",), ("loaded",)]
    assert trainees == sum(int(r["培训人数"]) for r in csv.DictReader(original.open(encoding="utf-8")))
    # and a third run registers nothing more
    assert nightly(inbox=str(inbox), home=str(home))["received"] == 0


# ---------------------------------------------------------------- revisions and as-of


def _revise_hunan_funds(src: Path, dst: Path, years: set[str], factor: float) -> float:
    """Write Hunan's fund CSV again, for ``years`` only, with every amount × factor; returns new civil total."""
    with open(src, encoding="gbk", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["年度"] in years]
    civil = 0.0
    with open(dst, "w", encoding="gbk", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        for r in rows:
            amount = round(float(r["金额（元）"].replace(",", "")) * factor, 2)
            r["金额（元）"] = f"{amount:.2f}"
            civil += amount if r["资金类别"] == "民政事业费" else 0
            writer.writerow(r)
    return civil


@pytest.mark.usefixtures("prefect_harness")
def test_revision_of_one_year_replaces_that_year_only_and_as_of_shows_the_past(tmp_path, demo_inbox):
    from fupin.warehouse.asof import connect_as_of

    inbox = copy_inbox(demo_inbox, tmp_path / "inbox")
    home = tmp_path / "home"
    nightly(inbox=str(inbox), home=str(home))
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    before = {y: indicator(con, "civil_affairs_funds", "luoxiao:43", y) for y in ("2015", "2016", "2017")}
    con.close()
    between = datetime.now(UTC)
    time.sleep(0.05)

    new_2017 = _revise_hunan_funds(
        inbox / "hunan" / HUNAN_FUNDS, inbox / "hunan" / "民政资金2017年更正.csv", {"2017"}, 1.1
    )
    summary = nightly(inbox=str(inbox), home=str(home))
    assert summary["by_status"] == {"loaded": 1}

    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    after = {y: indicator(con, "civil_affairs_funds", "luoxiao:43", y) for y in ("2015", "2016", "2017")}
    old_status = con.execute("select status from meta.submissions where file_name = ?", [HUNAN_FUNDS]).fetchone()[0]
    history = con.execute(
        "select count(*) from core.fct_fund_allocation_history where province_code = '43' and year = 2017 "
        "and valid_to is not null"
    ).fetchone()[0]
    con.close()
    assert after["2015"] == before["2015"] and after["2016"] == before["2016"]
    assert after["2017"] == pytest.approx(new_2017, abs=0.01)
    assert after["2017"] == pytest.approx(before["2017"] * 1.1, rel=1e-6)
    assert old_status == "loaded"  # still the source of 2015 and 2016
    assert history > 0  # the replaced 2017 rows are kept as history

    with connect_as_of(home / "warehouse.duckdb", between) as past:
        assert indicator(past, "civil_affairs_funds", "luoxiao:43", "2017") == pytest.approx(before["2017"], abs=0.01)

    # a revision covering all three years supersedes the original submission entirely
    _revise_hunan_funds(
        inbox / "hunan" / HUNAN_FUNDS, inbox / "hunan" / "民政资金全部更正.csv", {"2015", "2016", "2017"}, 1.0
    )
    nightly(inbox=str(inbox), home=str(home))
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    statuses = dict(con.execute("select file_name, status from meta.submissions where province_code = '43'").fetchall())
    restored = indicator(con, "civil_affairs_funds", "luoxiao:43", "2017")
    con.close()
    assert statuses[HUNAN_FUNDS] == "superseded"
    assert statuses["民政资金2017年更正.csv"] == "superseded"
    assert restored == pytest.approx(before["2017"], abs=0.01)


def test_indicators_as_of_on_the_command_line(demo_run):
    env = api_env()
    past = subprocess.run(
        [*FUPIN, "indicators", "--json", "--as-of", "2018-10-30", "--home", str(demo_run["home"])],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert json.loads(past.stdout) == []  # nothing had been received by then
    now = subprocess.run(
        [*FUPIN, "indicators", "--json", "--as-of", "2099-01-01", "--home", str(demo_run["home"])],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    rows = {(r["indicator"], r["scope_code"], r["period"]): r["value"] for r in json.loads(now.stdout)}
    assert rows[("civil_affairs_funds", "luoxiao", "2015-2017")] == pytest.approx(84e8, rel=0.01)


# ---------------------------------------------------------------- crash safety


@pytest.fixture(scope="module")
def clean_contents(prefect_harness, tmp_path_factory, demo_inbox) -> dict:
    home = tmp_path_factory.mktemp("clean")
    nightly(inbox=str(demo_inbox), home=str(home))
    return _contents(home)


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["pull", "lake", "load", "marts"])
def test_sigkill_at_any_stage_leaves_the_warehouse_as_it_was(tmp_path, demo_inbox, clean_contents, stage):
    inbox, home = home_with_one_form(tmp_path, demo_inbox)
    before_file = _digest(home / "warehouse.duckdb")
    before = _contents(home)

    shutil.rmtree(inbox)
    copy_inbox(demo_inbox, inbox)
    killed = subprocess.run(
        [*FUPIN, "run", "--inbox", str(inbox), "--home", str(home)],
        env=api_env(FUPIN_KILL_AT=stage),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert _digest(home / "warehouse.duckdb") == before_file
    assert _contents(home) == before
    assert not list((home / "lake").rglob("*.tmp")) or stage == "lake"  # a torn file is never named *.parquet
    for parquet in (home / "lake").rglob("*.parquet"):
        assert duckdb.sql(f"select count(*) from read_parquet('{parquet}')").fetchall()[0][0] > 0  # whole files only

    rerun = subprocess.run(
        [*FUPIN, "run", "--inbox", str(inbox), "--home", str(home)],
        env=api_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert _contents(home) == clean_contents


# ---------------------------------------------------------------- readers first, one run at a time

READER = """
import duckdb, sys, json
con = duckdb.connect(sys.argv[1], read_only=True)
print("ready", flush=True)
for line in sys.stdin:
    if line.strip() == "reconnect":
        con.close(); con = duckdb.connect(sys.argv[1], read_only=True); print("ok", flush=True); continue
    print(json.dumps(con.execute(line).fetchall(), default=str), flush=True)
"""


@pytest.mark.usefixtures("prefect_harness")
def test_an_open_read_only_session_neither_blocks_the_run_nor_sees_half_of_it(tmp_path, demo_inbox):
    inbox, home = home_with_one_form(tmp_path, demo_inbox)
    count = "select count(*) from meta.submissions\n"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(home / "warehouse.duckdb")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "ready"
        reader.stdin.write(count)
        reader.stdin.flush()
        assert json.loads(reader.stdout.readline()) == [[1]]

        shutil.rmtree(inbox)
        copy_inbox(demo_inbox, inbox)
        summary = nightly(inbox=str(inbox), home=str(home), lock_wait_seconds=5)
        assert summary["received"] == 14 and summary["exit_code"] == 0

        reader.stdin.write(count)  # the open session still sees the warehouse as it was
        reader.stdin.flush()
        assert json.loads(reader.stdout.readline()) == [[1]]
        reader.stdin.write("reconnect\n")  # reconnecting gets the newest data
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "ok"
        reader.stdin.write(count)
        reader.stdin.flush()
        assert json.loads(reader.stdout.readline()) == [[15]]
    finally:
        reader.kill()
        reader.wait()


@pytest.mark.usefixtures("prefect_harness")
def test_a_second_run_waits_then_exits_with_a_clear_message(tmp_path, demo_inbox):
    home = tmp_path / "home"
    with run_lock(home / ".run.lock"):
        started = time.monotonic()
        second = subprocess.run(
            [*FUPIN, "run", "--inbox", str(demo_inbox), "--home", str(home), "--wait", "2"],
            env=api_env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        waited = time.monotonic() - started
    assert second.returncode == 1
    assert "another fupin run" in second.stderr and f"pid {os.getpid()}" in second.stderr
    assert "Traceback" not in second.stderr
    assert waited >= 2
    assert not (home / "warehouse.duckdb").exists()


# ---------------------------------------------------------------- sources that fail


class _Flaky(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; the first ``failures`` requests get 503, or every request sleeps ``delay``."""

    failures = 0
    delay = 0.0
    requests = 0

    def do_GET(self):  # noqa: N802 - http.server's naming
        type(self).requests += 1
        if self.delay:
            time.sleep(self.delay)
        if type(self).failures > 0:
            type(self).failures -= 1
            self.send_error(503, "Service Unavailable")
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture()
def http_source(demo_inbox):
    """A real HTTP server on 127.0.0.1 serving the demo inbox, with controllable failures."""
    handler = type("Handler", (_Flaky,), {"failures": 0, "delay": 0.0, "requests": 0})

    def factory(*args, **kwargs):
        return handler(*args, directory=str(demo_inbox), **kwargs)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), factory)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _sources(tmp_path: Path, demo_inbox: Path, hunan_url: str) -> str:
    path = tmp_path / "sources.yaml"
    path.write_text(
        f'sources:\n  - province: "36"\n    url: {demo_inbox / "jiangxi"}\n  - province: hunan\n    url: {hunan_url}\n',
        encoding="utf-8",
    )
    return str(path)


@pytest.mark.usefixtures("prefect_harness")
def test_http_source_answering_503_is_retried_and_loads(tmp_path, demo_inbox, http_source):
    handler, base = http_source
    handler.failures = 2
    summary = nightly(
        sources_file=_sources(tmp_path, demo_inbox, f"{base}/hunan/"),
        home=str(tmp_path / "home"),
        pull_retries=3,
        pull_retry_backoff_seconds=0.1,
    )
    assert summary["failed_provinces"] == {}
    assert summary["by_status"] == {"loaded": 13}  # Jiangxi's and Hunan's files (the sources list no Ministry)
    assert handler.requests > 2


@pytest.mark.usefixtures("prefect_harness")
def test_http_source_that_stays_down_fails_its_province_only(tmp_path, demo_inbox, http_source):
    handler, base = http_source
    handler.failures = 10_000
    summary = run_nightly(
        sources_file=_sources(tmp_path, demo_inbox, f"{base}/hunan/"),
        home=str(tmp_path / "home"),
        pull_retries=2,
        pull_retry_backoff_seconds=0.1,
    )
    assert list(summary["failed_provinces"]) == ["43"]
    assert "503" in summary["failed_provinces"]["43"]
    assert summary["by_status"] == {"loaded": 10}  # Jiangxi's ten files
    assert summary["exit_code"] == 1
    assert handler.requests == 3  # the first try and two retries


@pytest.mark.usefixtures("prefect_harness")
def test_http_source_that_times_out_fails_its_province_only(tmp_path, demo_inbox, http_source):
    handler, base = http_source
    handler.delay = 2.0
    summary = run_nightly(
        sources_file=_sources(tmp_path, demo_inbox, f"{base}/hunan/"),
        home=str(tmp_path / "home"),
        pull_retries=1,
        pull_retry_backoff_seconds=0.1,
        source_timeout_seconds=0.5,
    )
    assert list(summary["failed_provinces"]) == ["43"]
    assert "Timeout" in summary["failed_provinces"]["43"]
    assert summary["by_status"] == {"loaded": 10}


@pytest.mark.usefixtures("prefect_harness")
def test_a_read_write_session_held_open_elsewhere_does_not_fail_the_run(tmp_path, demo_inbox):
    inbox, home = home_with_one_form(tmp_path, demo_inbox)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); time.sleep(120)",
            str(home / "warehouse.duckdb"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        shutil.rmtree(inbox)
        copy_inbox(demo_inbox, inbox)
        summary = nightly(inbox=str(inbox), home=str(home))
        assert summary["received"] == 14 and summary["exit_code"] == 0
    finally:
        holder.kill()
        holder.wait()
    assert len(_contents(home)["meta.submissions"]) == 15
