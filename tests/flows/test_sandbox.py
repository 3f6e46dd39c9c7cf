"""Issue 18, finding 1: `fupin query` and every read-only connection for people read the warehouse and nothing else.

Each recipe of the finding runs against a home of its own (a run of the demo, registries included),
so that a sandbox that failed would damage nothing the other tests read.
"""

from __future__ import annotations

import hashlib

import duckdb
import pytest
from typer.testing import CliRunner

from fupin.cli import app
from fupin.core.readonly import QueryRefused, connect_readonly, single_select
from fupin.demo import write_demo
from fupin.flows.nightly import nightly

KEY_TEXT = "0123456789abcdef-not-a-real-key\n"


@pytest.fixture(scope="module")
def home(prefect_harness, tmp_path_factory):
    home = tmp_path_factory.mktemp("sandbox") / "home"
    write_demo(home / "inbox")
    nightly(inbox=str(home / "inbox"), home=str(home))
    (home / ".pii_key").write_text(KEY_TEXT)
    (home / ".pii_key").chmod(0o600)
    return home


def _digests(home) -> dict[str, str]:
    """sha256 of every file of the home but the run records' folder, to see that nothing was written."""
    return {
        str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(home.rglob("*"))
        if p.is_file()
    }


def query(home, sql: str):
    return CliRunner().invoke(app, ["query", "--home", str(home), "--csv", sql])


def test_normal_queries_work_households_and_indicators_included(home):
    households = query(home, "select count(*) as n from core.fct_household")
    assert households.exit_code == 0, households.output
    assert int(households.output.splitlines()[1]) > 1000
    indicators = query(
        home,
        "select value from marts.indicators where indicator = 'civil_affairs_funds' "
        "and scope_code = 'luoxiao' and period = '2015-2017'",
    )
    assert indicators.exit_code == 0, indicators.output
    assert float(indicators.output.splitlines()[1]) == pytest.approx(8.4e9)
    runs = query(home, "select count(*) from meta.runs")
    assert runs.exit_code == 0 and int(runs.output.splitlines()[1]) >= 1, runs.output
    for sql in ("describe core.fct_household", "show tables", "with a as (select 1 as x) select x from a;"):
        assert query(home, sql).exit_code == 0, sql


def _lake_file(home) -> str:
    return str(next((home / "lake" / "household_registry").rglob("*.parquet")))


def _raw_file(home) -> str:
    return str(next((home / "raw").rglob("*.csv*")))


RECIPES = {
    "copy_to_key": lambda h: f"copy (select 'owned' as k) to '{h}/.pii_key' (format csv)",
    "copy_to_lake": lambda h: f"copy (select * from core.fct_household limit 10) to '{_lake_file(h)}'",
    "attach_read_write": lambda h: f"attach '{h.parent}/other.duckdb' as other (read_write)",
    "read_key": lambda h: f"select * from read_text('{h}/.pii_key')",
    "read_key_via_lake": lambda h: f"select * from read_text('{h}/lake/../.pii_key')",
    "read_raw": lambda h: f"select * from read_blob('{_raw_file(h)}')",
    "read_passwd": lambda h: "select * from read_text('/etc/passwd')",
    "glob_raw": lambda h: f"select * from glob('{h}/raw/*/*')",
    "export_database": lambda h: f"export database '{h.parent}/exported'",
    "set": lambda h: "set enable_external_access = true",
    "reset": lambda h: "reset lock_configuration",
    "install": lambda h: "install httpfs",
    "load": lambda h: "load httpfs",
    "two_statements": lambda h: "select 1; select 2",
    "checkpoint": lambda h: "checkpoint",
}


@pytest.mark.parametrize("recipe", RECIPES, ids=list(RECIPES))
def test_every_recipe_of_finding_1_is_refused_with_one_line(home, recipe):
    before = _digests(home)
    result = query(home, RECIPES[recipe](home))
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "[" in lines[0] and "]" in lines[0]  # a machine code or DuckDB's own refusal, on one line
    assert "owned" not in (home / ".pii_key").read_text()
    assert KEY_TEXT.strip() not in result.output
    assert _digests(home) == before
    assert not (home.parent / "other.duckdb").exists()
    assert not (home.parent / "exported").exists()


def test_the_python_connection_is_fenced_too(home):
    with connect_readonly(home / "warehouse.duckdb") as con:
        assert con.execute("select count(*) from core.fct_household").fetchone()[0] > 1000
        with pytest.raises(duckdb.PermissionException):
            con.execute(f"select * from read_text('{home}/.pii_key')")
        with pytest.raises(duckdb.Error):
            con.execute("set lock_configuration = false")
        with pytest.raises(duckdb.Error):
            con.execute("create table core.mine as select 1")


@pytest.mark.parametrize(
    "sql, code",
    [
        ("select 1; select 2", "query_not_single"),
        ("", "query_not_single"),
        ("copy (select 1) to 'x.csv'", "query_not_select"),
        ("pragma enable_profiling", "query_not_select"),
        ("explain analyze copy (select 1) to 'x.csv'", "query_not_select"),
        ("selec 1", "query_syntax"),
    ],
)
def test_single_select_names_the_reason(sql, code):
    with pytest.raises(QueryRefused, match=rf"\[{code}\]"):
        single_select(sql)
