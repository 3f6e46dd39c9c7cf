"""Any DuckDB client reads every table with no setting, from any folder: a plain `duckdb` Python client and the
`duckdb` CLI, started in a folder that is not the home, open the demo's warehouse read-only and read the households
and their grants."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HOUSEHOLDS = "select count(*) as households, sum(members) as persons from core.fct_household"
# the grants of 2018 name each household by its pseudonym: every one is in the registry in force
GRANTS = (
    "select g.year, count(*) as grants, sum(g.amount_yuan) as paid from core.fct_household_grant g "
    "join core.fct_household h on g.household_key = h.household_key group by g.year order by g.year"
)
PER_COUNTY = (
    "select d.county_name, count(*) as households from core.fct_household h "
    "join core.dim_county d using (county_code) group by all order by all"
)

PYTHON_CLIENT = """
import json, sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)  # no config, no SET: what an analyst types
out = {name: con.execute(sql).fetchall() for name, sql in json.loads(sys.argv[2]).items()}
print(json.dumps(out, ensure_ascii=False, default=str))
"""


@pytest.fixture()
def elsewhere(tmp_path) -> Path:
    """An analyst's own folder: not the home, nothing of fupin in it."""
    folder = tmp_path / "analyst"
    folder.mkdir()
    return folder


def test_a_plain_python_client_from_another_folder_reads_households_and_grants(demo_run, elsewhere):
    warehouse = demo_run["home"] / "warehouse.duckdb"
    queries = {"households": HOUSEHOLDS, "grants": GRANTS, "per_county": PER_COUNTY}
    proc = subprocess.run(
        [sys.executable, "-c", PYTHON_CLIENT, str(warehouse), json.dumps(queries)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=elsewhere,
    )
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert found["households"] == [[27744, 125033]]
    assert found["grants"] == [[2017, 1000, "1000000.00"], [2018, 1000, "1000000.00"]]
    assert found["per_county"] == [["莲花县", 8819], ["遂川县", 18925]]
    assert list(elsewhere.iterdir()) == []  # it wrote nothing where it ran


def test_every_table_and_view_but_the_run_records_reads_with_no_setting(demo_run, elsewhere):
    """Every relation an analyst lists opens from another folder; meta.runs reads <home>/runs/*.json, which the
    run writes after the warehouse is swapped in (README, Warehouse)."""
    warehouse = demo_run["home"] / "warehouse.duckdb"
    script = """
import json, sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
names = [f"{s}.{n}" for s, n in con.execute(
    "select schema_name, table_name from duckdb_tables() where not internal union all "
    "select schema_name, view_name from duckdb_views() where not internal").fetchall()]
failed = {}
for name in names:
    try:
        con.execute(f"select count(*) from {name}").fetchall()
    except duckdb.Error as exc:
        failed[name] = str(exc).splitlines()[0]
print(json.dumps({"read": len(names) - len(failed), "failed": failed}))
"""
    proc = subprocess.run(
        [sys.executable, "-c", script, str(warehouse)], capture_output=True, text=True, timeout=120, cwd=elsewhere
    )
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert set(found["failed"]) <= {"meta.runs"}, found["failed"]
    assert found["read"] > 40


def test_the_duckdb_cli_from_another_folder_reads_households_and_grants(demo_run, elsewhere):
    cli = shutil.which("duckdb") or str(Path(sys.executable).with_name("duckdb"))
    if not Path(cli).exists():
        pytest.skip("no duckdb CLI binary installed (PyPI's duckdb has none; duckdb-cli in the dev extra has)")
    warehouse = demo_run["home"] / "warehouse.duckdb"
    proc = subprocess.run(
        [cli, "-readonly", "-csv", "-noheader", str(warehouse), "-c", f"{HOUSEHOLDS}; {GRANTS}"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=elsewhere,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["27744,125033", "2017,1000,1000000.00", "2018,1000,1000000.00"]
