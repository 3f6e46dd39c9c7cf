"""Plain functions and constants the tests share (fixtures live in tests/conftest.py).

A test module imports from here, never from another test module (tests/unit/test_tests_layout.py holds to
that). A helper moves here when a second test module needs it.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

import duckdb
import httpx

from fupin.core.config import Paths
from fupin.demo import write_demo
from fupin.flows.nightly import nightly
from fupin.tasks.lake import write_lake
from fupin.tasks.process import normalise_submission, parse_submission, validate_submission
from fupin.tasks.records import Outcome, Received
from fupin.tasks.staging import read_arrow

# ---------------------------------------------------------------- places

ROOT = Path(__file__).resolve().parents[1]  # the repository
FIXTURES = Path(__file__).parent / "fixtures"

# ---------------------------------------------------------------- the warehouse and its indicators


def open_warehouse(home: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to ``home``'s warehouse that finds the households' files (README, Warehouse).

    ``SET`` after connecting rather than ``config=`` at connect: DuckDB refuses a second connection to one
    file with another configuration in the same process, and the code under test opens it plainly.
    """
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    con.execute("set file_search_path = ?", [str(home)])
    return con


def indicator_rows(con) -> dict[str, object]:
    """Every published figure: indicator × scope × period → value."""
    rows = con.execute("select indicator || '|' || scope_code || '|' || period, value from marts.indicators").fetchall()
    return dict(rows)


def indicator(con, name: str, scope: str, period: str) -> float:
    """One value of marts.indicators; fails the test if it is not there."""
    row = con.execute(
        "select value from marts.indicators where indicator = ? and scope_code = ? and period = ?",
        [name, scope, period],
    ).fetchone()
    assert row is not None, f"no indicator {name} for {scope} {period}"
    return float(row[0])  # DECIMAL(38, 6) in the warehouse; the tests compare with pytest.approx


# ---------------------------------------------------------------- nightly runs


def run_beside_the_demo(home: Path, province: str, files: dict[str, Path]) -> dict:
    """The demo inbox written under ``home``, ``files`` (path in the inbox folder → file) copied into ``province``'s
    inbox folder beside it, and the nightly flow run once; its summary."""
    write_demo(home / "inbox")
    folder = home / "inbox" / province
    for rel, path in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, folder / rel)
    return nightly(inbox=str(home / "inbox"), home=str(home))


def copy_inbox(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def home_with_one_form(
    tmp_path: Path, demo_inbox: Path, name: str = "2015年罗霄山片区县民政资金下达情况表.xlsx"
) -> tuple[Path, Path]:
    """(inbox, home) after a run that loaded one of Jiangxi's demo files only (the 2015 fund form unless named)."""
    inbox = tmp_path / "inbox"
    (inbox / "jiangxi").mkdir(parents=True)
    shutil.copy(demo_inbox / "jiangxi" / name, inbox / "jiangxi" / name)
    home = tmp_path / "home"
    nightly(inbox=str(inbox), home=str(home))
    return inbox, home


# ---------------------------------------------------------------- Hunan's fund form, corrected and resent

FUND_HEADER = ["年度", "行政区划代码", "县市区", "资金类别", "资金级别", "金额（元）"]
CHALING_CIVIL = ("430224", 2017, "civil_affairs", "central")


def send_fund_form(home: Path, name: str, rows: list[list], header: list[str] = FUND_HEADER, **parameters) -> dict:
    """Hunan sends one GBK CSV fund form (a new inbox holding only that file); the nightly flow runs."""
    folder = home / f"inbox-{hashlib.sha1(name.encode()).hexdigest()[:8]}" / "hunan"
    folder.mkdir(parents=True)
    with open(folder / name, "w", encoding="gbk", newline="") as fh:
        csv.writer(fh).writerows([header, *rows])
    return nightly(inbox=str(folder.parent), home=str(home), **parameters)


def send_fund_forms(home: Path, forms: dict[tuple[str, str], list[list]], header: list[str] = FUND_HEADER) -> dict:
    """Several provinces send GBK CSV fund forms on one night: (province folder, file name) → rows, all in one new
    inbox; the nightly flow runs once."""
    inbox = home / f"inbox-{hashlib.sha1(repr(sorted(forms)).encode()).hexdigest()[:8]}"
    for (province, name), rows in forms.items():
        (inbox / province).mkdir(parents=True, exist_ok=True)
        with open(inbox / province / name, "w", encoding="gbk", newline="") as fh:
            csv.writer(fh).writerows([header, *rows])
    return nightly(inbox=str(inbox), home=str(home))


def fund_facts(home: Path) -> dict[tuple, Decimal]:
    """Current fund facts: (county, year, fund type, level) → yuan."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return {
            tuple(r[:4]): r[4]
            for r in con.execute(
                "select county_code, year, fund_type, fund_level, amount_yuan from core.fct_fund_allocation"
            ).fetchall()
        }


def ledger_row(home: Path, file_name: str) -> tuple:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(
            "select submission_id, status, kind, message from meta.submissions where file_name = ?", [file_name]
        ).fetchone()


def home_indicator(home: Path, name: str = "civil_affairs_funds", scope: str = "luoxiao", period: str = "2017"):
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return indicator(con, name, scope, period)


# ---------------------------------------------------------------- one form through the submission's tasks


def process(path: Path, home: Path, province: str = "36") -> tuple[Outcome, dict[str, list[dict]]]:
    """Run one file through the submission's tasks; its outcome and the good canonical rows by dataset."""
    paths = Paths.from_home(home)
    received = Received(
        submission_id="sub-1",
        province_code=province,
        source_url=str(path.parent),
        source_path=path.name,
        file_name=path.name,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        size=path.stat().st_size,
        raw_path=str(path),
        received_at="2024-01-01T00:00:00+00:00",
    )
    parsed = parse_submission.fn(received, paths)
    validated = validate_submission.fn(normalise_submission.fn(parsed, paths), paths)
    staged = json.loads(Path(validated).read_text(encoding="utf-8"))["datasets"]
    datasets = {dataset: read_arrow(path).to_pylist() for dataset, path in staged.items()}
    outcome = Outcome.load(write_lake.fn(validated, paths))
    return outcome, datasets


def rows_of(datasets: dict, dataset: str, *keys: str) -> list[tuple]:
    return [tuple(r[k] for k in keys) for r in datasets[dataset]]


# ---------------------------------------------------------------- a second process: the CLI, Chromium

FUPIN = [sys.executable, "-m", "fupin.cli"]


def api_env(**extra: str) -> dict[str, str]:
    """Environment for a second process: the session's Prefect server, no telemetry."""
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ, PREFECT_API_URL=PREFECT_API_URL.value(), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    env.update(extra)
    return env


CHROMIUM = Path("/usr/bin/chromium")
# as root in a container: no sandbox; nothing that calls home
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


# ---------------------------------------------------------------- a Prefect server and worker of a test's own

PREFECT = str(Path(sys.executable).parent / "prefect")
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(tmp: Path, api_url: str) -> dict[str, str]:
    """A clean Prefect environment: nothing inherited from the harness or the developer's profile."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(tmp / "prefect"),
        PREFECT_API_URL=api_url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_WORKER_QUERY_SECONDS="1",
        FUPIN_PROJECT_DIR=str(ROOT),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM the process group, SIGKILL it if it lingers."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def prefect_cli(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """``prefect ARGS`` from the project folder; its stdout, or the test fails with its output."""
    done = subprocess.run(
        [PREFECT, "--no-prompt", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"prefect {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def wait_healthy(api: str, server: subprocess.Popen, log: Path, timeout: float = 120) -> float:
    """Wait until the server at ``api`` answers its health check; the seconds it took (fails if it exits)."""
    started = time.monotonic()
    while True:
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        assert server.poll() is None, f"server exited:\n{log.read_text()[-3000:]}"
        assert time.monotonic() - started < timeout, f"server not healthy after {timeout} s:\n{log.read_text()[-3000:]}"
        time.sleep(0.5)


def wait_flow_run(api: str, flow_run_id: str, log: Path, timeout: float = 240) -> dict:
    """The flow run once it is in a terminal state (fails after ``timeout`` s, with the tail of ``log``)."""
    deadline = time.monotonic() + timeout
    while True:
        run = httpx.get(f"{api}/flow_runs/{flow_run_id}", timeout=5).json()
        state = run["state"]["type"] if run.get("state") else None
        if state in TERMINAL:
            return run
        assert time.monotonic() < deadline, f"flow run still {state} after {timeout} s:\n{log.read_text()[-3000:]}"
        time.sleep(1)


# ---------------------------------------------------------------- ID numbers and the PII scan

# an 18-character resident ID number not inside a longer hex or digit run (hashes are hex)
ID_SHAPE = r"(?<![0-9a-fA-F])\d{6}(19|20)\d\d(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\d{3}[\dX](?![0-9a-fA-F])"
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
REGISTRY_HEADER = "户编号,户主姓名,户主身份证号码,县（市、区）,乡镇,行政村,家庭人口数,脱贫状态,识别年度,脱贫年度"


def valid_id(body17: str) -> str:
    """An ID number with its check character (GB 11643: weights 2^(17-i) mod 11, the check from the sum mod 11)."""
    return body17 + "10X98765432"[sum(int(d) * w for d, w in zip(body17, ID_WEIGHTS, strict=True)) % 11]


def unescaped(text: str) -> str:
    """JSON's \\uXXXX escapes read back, however often escaped (Prefect stores a table artifact as JSON in JSON)."""
    return re.sub(r"\\+u([0-9a-fA-F]{4})", lambda m: chr(int(m[1], 16)), text)


def home_texts(home: Path) -> dict[str, str]:
    """Every output of the run under ``home`` but the raw archive, as text."""
    from python_calamine import CalamineWorkbook

    texts = {}
    with open_warehouse(home) as con:
        for schema, table in con.execute(
            "select schema_name, table_name from duckdb_tables() union all "
            "select schema_name, view_name from duckdb_views() where not internal"
        ).fetchall():
            texts[f"{schema}.{table}"] = repr(con.execute(f'select * from {schema}."{table}"').fetchall())
    for f in home.rglob("*"):
        if not f.is_file() or f.is_relative_to(home / "raw") or f.suffix in (".duckdb", ".lock"):
            continue
        if f.suffix == ".parquet":  # its values, not its compressed bytes
            texts[str(f)] = repr(duckdb.sql(f"select * from read_parquet('{f}')").fetchall())
        elif f.suffix == ".xlsx":
            book = CalamineWorkbook.from_path(str(f))
            texts[str(f)] = repr([book.get_sheet_by_name(n).to_python() for n in book.sheet_names])
        else:
            text = f.read_bytes().decode("utf-8", "replace")
            # the report inlines ECharts, whose minified numbers can look like an ID: its data is elsewhere
            texts[str(f)] = re.sub(r"<script[^>]*>.*?</script>", "", text, flags=re.DOTALL)
    return texts


def prefect_database_texts(flow_run_id: str | None = None, wait_seconds: float = 30.0) -> dict[str, str]:
    """Every table of the harness's Prefect database as text, once its logs and events have arrived.

    The harness keeps its database in a temporary SQLite file (PREFECT_API_DATABASE_CONNECTION_URL).
    Logs and events are sent in batches: they are flushed here, and with ``flow_run_id`` the events
    table is waited on until an event of that flow run is in it.
    """
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogHandler
    from prefect.settings import get_current_settings

    APILogHandler().flush()
    EventsWorker.drain_all(timeout=30)
    url = get_current_settings().server.database.connection_url
    url = url.get_secret_value() if hasattr(url, "get_secret_value") else str(url)
    assert url.startswith("sqlite"), f"the harness's database is SQLite: {url}"
    path = url.split(":///", 1)[1]
    deadline = time.monotonic() + wait_seconds
    while True:
        with sqlite3.connect(path, timeout=30) as db:
            tables = [t for (t,) in db.execute("select name from sqlite_master where type = 'table'")]
            texts = {  # cell by cell: repr() would double the backslashes of JSON's escapes
                f"prefect.{t}": "\n".join(
                    c.decode("utf-8", "replace") if isinstance(c, bytes) else str(c)
                    for row in db.execute(f'select * from "{t}"')
                    for c in row
                )
                for t in tables
            }
            events = (
                db.execute(
                    "select count(*) from events where resource_id = ?", [f"prefect.flow-run.{flow_run_id}"]
                ).fetchone()[0]
                if flow_run_id and "events" in tables
                else 1
            )
        if events or time.monotonic() > deadline:
            return texts
        time.sleep(1)


def rfc_pseudonym(key: bytes, id_number: str) -> uuid.UUID:
    """A household's key built here from RFC 2104 and RFC 9562 alone: the first 16 bytes of HMAC-SHA256 with the
    version 8 and variant bits set (the code's own construction is fupin/core/pseudonym.py)."""
    digest = bytearray(hmac.new(key, id_number.encode(), "sha256").digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x80
    digest[8] = (digest[8] & 0x3F) | 0x80
    made = uuid.UUID(bytes=bytes(digest))
    assert made.version == 8 and made.variant == uuid.RFC_4122
    return made


def legacy_pseudonym(key: bytes, id_number: str) -> str:
    """A household's key as fupin wrote it before UUIDs: the whole HMAC-SHA256 as 64 lowercase hex characters."""
    return hmac.new(key, id_number.encode(), "sha256").hexdigest()


def legacy_layout(schema):
    """A lake file's schema as fupin wrote it before UUIDs: household_key as text (64 hex characters)."""
    import pyarrow as pa  # lazy: only the tests that build an old lake need it

    return schema.set(schema.get_field_index("household_key"), pa.field("household_key", pa.string()))
