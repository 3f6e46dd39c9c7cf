"""Prefect's server on PostgreSQL, as the production setup runs it (README, Deploying; docs/postgres.md).

A real PostgreSQL cluster (initdb into a temporary folder, listening on 127.0.0.1 and a socket folder of its
own), a login role and a database for Prefect, ``prefect server start`` on it (its migrations run once, when
the module's server starts), ``make deploy``, a process worker, and the nightly and a backfill run as
deployments. Every process started here is stopped and the cluster's folder removed at the end.

PostgreSQL's programs refuse to run as root: as root they run as the ``postgres`` user (Debian's package
makes it) or else ``nobody``. Without initdb and pg_ctl (on PATH or under /usr/lib/postgresql/*/bin) the tests
skip, and fail when ``FUPIN_REQUIRE_POSTGRES=1`` (set by .ci/run, which installs Debian's ``postgresql``).
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

import fupin
from fupin.demo import write_demo
from tests.helpers import PREFECT, ROOT, free_port, prefect_cli, server_env, stop, wait_flow_run, wait_healthy

REQUIRE = "FUPIN_REQUIRE_POSTGRES"
ROLE = DATABASE = "prefect"
DEPLOYMENTS = {"nightly", "backfill", "rebuild-warehouse", "approve", "discard"}

pytestmark = [pytest.mark.server, pytest.mark.slow]


def postgres_bin() -> Path | None:
    """The folder of PostgreSQL's initdb and pg_ctl: from PATH, else the newest /usr/lib/postgresql/<ver>/bin."""
    found = [shutil.which("initdb"), shutil.which("pg_ctl")]
    if all(found):
        return Path(found[0]).resolve().parent  # /usr/local/bin/initdb may be a link into the version's folder
    versions = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").exists() and (p / "pg_ctl").exists()),
        key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.name)],
    )
    return versions[-1] if versions else None


def unprivileged() -> tuple[list[str], int, int]:
    """How to run PostgreSQL's programs here: the command prefix, and the uid and gid that own its files."""
    if os.geteuid() != 0:
        return [], os.geteuid(), os.getegid()
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        user = pwd.getpwnam("nobody")
    return ["runuser", "-u", user.pw_name, "--"], user.pw_uid, user.pw_gid


@dataclass
class Postgres:
    port: int
    socket_dir: Path
    password: str

    @property
    def url(self) -> str:
        """Prefect's database URL (PREFECT_API_DATABASE_CONNECTION_URL): the role's password over TCP."""
        return f"postgresql+asyncpg://{ROLE}:{self.password}@127.0.0.1:{self.port}/{DATABASE}"

    def query(self, sql: str, *args) -> list[asyncpg.Record]:
        """Rows of ``sql`` in Prefect's database, as Prefect's role over TCP (password authentication)."""

        async def fetch():
            con = await asyncpg.connect(
                host="127.0.0.1", port=self.port, user=ROLE, password=self.password, database=DATABASE
            )
            try:
                return await con.fetch(sql, *args)
            finally:
                await con.close()

        return asyncio.run(fetch())


def _run(cmd: list[str], what: str, log: Path | None = None) -> None:
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    tail = log.read_text()[-2000:] if log and log.exists() else ""
    assert done.returncode == 0, f"{what} failed:\n{done.stdout}\n{done.stderr}\n{tail}"


async def _create_role_and_database(socket_dir: Path, port: int, password: str) -> None:
    """What an administrator does once (docs/postgres.md): a login role for Prefect and a database it owns."""
    con = await asyncpg.connect(host=str(socket_dir), port=port, user="postgres", database="postgres")
    try:
        await con.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{password}'")
        await con.execute(f"CREATE DATABASE {DATABASE} OWNER {ROLE}")
    finally:
        await con.close()


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL cluster of the module's own with Prefect's role and database in it."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        reason = "PostgreSQL is not installed (no initdb and pg_ctl on PATH or in /usr/lib/postgresql/*/bin)"
        if os.environ.get(REQUIRE) == "1":
            pytest.fail(f"{reason}, and {REQUIRE}=1 requires it (Debian: apt-get install postgresql)")
        pytest.skip(reason)
    prefix, uid, gid = unprivileged()
    # not under pytest's tmp_path: that folder is root's alone (0700) when the tests run as root
    root = Path(tempfile.mkdtemp(prefix="fupin-pg-"))
    os.chown(root, uid, gid)
    data, log, port = root / "data", root / "postgres.log", free_port()
    # fsync off: a throwaway cluster (a production one keeps PostgreSQL's defaults)
    options = f"-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={root} -c fsync=off"
    try:
        # trust on the socket (the superuser, for setting up), a password over TCP (Prefect's role)
        _run(
            [*prefix, bin_dir / "initdb", "-D", data, "-U", "postgres", "-E", "UTF8", "--locale=C"]
            + ["--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync"],
            "initdb",
        )
        _run(
            [*prefix, bin_dir / "pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "-t", "60", "start"],
            "pg_ctl start",
            log,
        )
        password = secrets.token_hex(16)
        asyncio.run(_create_role_and_database(root, port, password))
        yield Postgres(port=port, socket_dir=root, password=password)
    finally:
        subprocess.run(
            [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Server:
    api: str
    env: dict[str, str]
    prefect_home: Path
    tmp: Path
    started_in: float


@pytest.fixture(scope="module")
def server(postgres, tmp_path_factory):
    """``prefect server start`` with its database in ``postgres`` (migrated at its start, once per module)."""
    tmp = tmp_path_factory.mktemp("prefect-on-postgres")
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = server_env(tmp, api)
    log = tmp / "server.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp,
            env={**env, "PREFECT_API_DATABASE_CONNECTION_URL": postgres.url},  # the server alone needs it
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        took = wait_healthy(api, proc, log, timeout=180)
        yield Server(api=api, env=env, prefect_home=tmp / "prefect", tmp=tmp, started_in=took)
    finally:
        stop(proc)


def test_prefects_tables_are_in_postgresql_not_sqlite(postgres, server):
    tables = {r["tablename"] for r in postgres.query("select tablename from pg_tables where schemaname = 'public'")}
    assert {"flow_run", "task_run", "deployment", "work_pool", "block_document", "alembic_version"} <= tables
    assert postgres.query("select version_num from alembic_version")  # migrated
    assert postgres.query("select 1 from pg_extension where extname = 'pg_trgm'")  # made by the migrations
    assert not list(server.prefect_home.glob("*.db")), "the server made a SQLite database"


def test_a_worker_runs_the_nightly_and_a_backfill_through_a_server_on_postgresql(postgres, server):
    env, api, tmp = dict(server.env), server.api, server.tmp
    home = tmp / "home"
    write_demo(home / "inbox")
    key = env.pop("FUPIN_PII_KEY")  # the worker gets the key from the Secret block only

    made = subprocess.run(
        ["make", "deploy", f"PY={sys.executable}"],
        cwd=ROOT,
        env={**env, "FUPIN_PII_KEY": key},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    assert {r["name"] for r in postgres.query("select name from deployment")} >= DEPLOYMENTS
    assert postgres.query("select 1 from work_pool where name = 'fupin' and type = 'process'")
    assert postgres.query("select 1 from block_document where name = 'fupin-pii-key'")

    log = tmp / "worker.log"
    with open(log, "w") as fh:
        worker = subprocess.Popen(
            [PREFECT, "worker", "start", "--pool", "fupin", "--type", "process"],
            cwd=tmp,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        runs = {}
        for name, params in (
            ("nightly/nightly", {"home": home, "inbox": home / "inbox"}),
            ("backfill/backfill", {"home": home, "provinces": '["36"]', "years": "[2016]"}),
        ):
            out = prefect_cli(
                env, "deployment", "run", name, *[a for k, v in params.items() for a in ("--param", f"{k}={v}")]
            )
            flow_run_id = re.search(r"UUID:\s*([0-9a-f-]{36})", out).group(1)
            started = time.monotonic()
            run = wait_flow_run(api, flow_run_id, log, timeout=300)
            assert run["state"]["type"] == "COMPLETED", f"{name}: {run['state']}\n{log.read_text()[-3000:]}"
            runs[name] = (flow_run_id, time.monotonic() - started)
            # what the read API gives an analyst: the demo's figure, before and after the backfill
            figures = {
                (r["indicator"], r["scope_code"], r["period"]): r["value"]
                for r in fupin.indicators(home).to_dict("records")
            }
            assert figures[("civil_affairs_funds", "luoxiao", "2015-2017")] == Decimal(8400000000)
    finally:
        stop(worker)

    # the backfill re-processed Jiangxi's archived 2016 files and replaced only that year's facts
    record = json.loads((home / "runs" / f"{runs['backfill/backfill'][0]}.json").read_text(encoding="utf-8"))
    assert (record["flow_name"], record["outcome"]) == ("backfill", "completed")
    assert record["received"] > 0, record
    # both runs live in PostgreSQL: their rows in Prefect's tables there, Completed, with their task runs
    rows = postgres.query(
        "select f.id::text as id, f.state_type::text as state, d.name as deployment,"
        " (select count(*) from task_run t where t.flow_run_id = f.id) as tasks"
        " from flow_run f join deployment d on d.id = f.deployment_id"
    )
    by_id = {r["id"]: r for r in rows}
    for name, (flow_run_id, seconds) in runs.items():
        row = by_id[flow_run_id]
        assert (row["deployment"], row["state"]) == (name.split("/")[0], "COMPLETED")
        assert row["tasks"] > 0
        print(f"{name}: {seconds:.1f} s from `deployment run` to Completed")
    print(f"server on PostgreSQL healthy after {server.started_in:.1f} s")
