"""A warehouse that travels with its home: moved to another path, every client still reads the households, with no
setting (they are a table in the warehouse)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from fupin.cli import app
from fupin.tasks.registry import GOOD_SCHEMA
from tests.helpers import legacy_layout, legacy_pseudonym, open_warehouse, rfc_pseudonym

HOUSEHOLDS = "select count(*) from core.fct_household"


@pytest.fixture(scope="module")
def moved(demo_run, tmp_path_factory) -> dict:
    """The demo run's home (forms and both registries) copied, then the copy moved (shutil.move) elsewhere."""
    built = tmp_path_factory.mktemp("built") / "home"
    shutil.copytree(demo_run["home"], built, ignore=shutil.ignore_patterns("inbox", "raw"))
    expected = _count(built)
    target = tmp_path_factory.mktemp("elsewhere") / "restored-home"
    shutil.move(built, target)
    assert not built.exists()
    return {"home": target, "households": expected, "old": built, "original": demo_run["home"]}


def _count(home: Path) -> int:
    with open_warehouse(home) as con:
        return con.execute(HOUSEHOLDS).fetchone()[0]


def test_the_warehouse_holds_no_absolute_path(moved):
    with duckdb.connect(str(moved["home"] / "warehouse.duckdb"), read_only=True) as con:
        files = [f for (f,) in con.execute("select lake_file from core.household_registry_history").fetchall()]
        views = " ".join(sql for (sql,) in con.execute("select sql from duckdb_views() where not internal").fetchall())
    assert files and all(f.startswith("lake/household_registry/province=36/year=2017/") for f in files)
    assert "lake/household_registry/" not in views  # the households are a table: no view reads the lake
    assert str(moved["old"]) not in views and str(moved["original"]) not in views


def test_fupin_query_and_indicators_work_after_the_move(moved):
    runner = CliRunner()
    result = runner.invoke(app, ["query", "--home", str(moved["home"]), "--json", HOUSEHOLDS])
    assert result.exit_code == 0, result.output
    assert list(json.loads(result.output)[0].values()) == [moved["households"]] and moved["households"] > 100
    indicators = runner.invoke(app, ["indicators", "--home", str(moved["home"]), "--json", "--all"])
    assert indicators.exit_code == 0, indicators.output
    assert any(row["indicator"] == "civil_affairs_funds" for row in json.loads(indicators.output))
    # --as-of rebuilds the marts over the households as they stood, from their history table
    as_of = runner.invoke(app, ["indicators", "--home", str(moved["home"]), "--json", "--all", "--as-of", "2099-01-01"])
    assert as_of.exit_code == 0, as_of.output
    assert json.loads(as_of.output) == json.loads(indicators.output)


def test_the_duckdb_cli_reads_the_households_from_another_folder(moved, tmp_path):
    cli = shutil.which("duckdb") or str(Path(sys.executable).with_name("duckdb"))
    assert Path(cli).exists(), "the duckdb CLI (PyPI duckdb-cli, in the dev extra) is not installed"
    elsewhere = tmp_path / "analyst"
    elsewhere.mkdir()
    home = moved["home"]
    proc = subprocess.run(
        [cli, "-readonly", "-csv", "-noheader", str(home / "warehouse.duckdb"), "-c", HOUSEHOLDS],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=elsewhere,
    )
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.strip()) == moved["households"]


def test_sqlalchemy_reads_the_households_after_the_move(moved):
    sqlalchemy = pytest.importorskip("sqlalchemy")
    pytest.importorskip("duckdb_engine")
    home = moved["home"]
    engine = sqlalchemy.create_engine(
        f"duckdb:///{home / 'warehouse.duckdb'}",
        connect_args={"read_only": True},
    )
    try:
        with engine.connect() as con:
            assert con.execute(sqlalchemy.text(HOUSEHOLDS)).scalar() == moved["households"]
    finally:
        engine.dispose()


def test_a_warehouse_listing_absolute_paths_is_migrated_by_the_next_build(tmp_path):
    """Warehouses built before kept absolute paths and read the households through a view over the lake: the next
    load (or rebuild) makes the paths relative and loads the households into the warehouse."""
    from fupin.warehouse.build import apply_ddl

    home = tmp_path / "home"
    lake_file = home / "lake" / "household_registry" / "province=36" / "year=2017" / "36-old.parquet"
    lake_file.parent.mkdir(parents=True)
    keys = [legacy_pseudonym(b"an-old-pii-key-0123456789", i) for i in ("k1", "k2")]  # 64 hex, as before UUIDs
    rows = {"household_key": keys, "county_code": ["360827"] * 2, "submission_id": ["36-old"] * 2}
    old = legacy_layout(GOOD_SCHEMA)
    table = pa.table({f.name: rows.get(f.name, [None, None]) for f in old}).cast(old)
    pq.write_table(table, lake_file)
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        apply_ddl(con)
        con.execute(
            "insert into core.household_registry_history values "
            "('36', 2017, '360827', '36-old', ?, 2, 2, '2026-01-01 00:00:00+00', null)",
            [str(lake_file)],
        )
        # as built before schema versions: the households a view over the (then absolute) lake paths
        con.execute("drop view core.fct_household")
        con.execute("drop table core.fct_household_history")
        con.execute(
            "create view core.fct_household_history as select r.province_code, r.year, h.*, r.valid_from, r.valid_to "
            f"from read_parquet(['{lake_file}']) h join core.household_registry_history r "
            "using (submission_id, county_code)"
        )
        con.execute("drop table meta.schema_version")
        apply_ddl(con)
        assert con.execute("select lake_file from core.household_registry").fetchall() == [
            ("lake/household_registry/province=36/year=2017/36-old.parquet",)
        ]
        assert sorted(k for (k,) in con.execute("select household_key from core.fct_household").fetchall()) == sorted(
            rfc_pseudonym(b"an-old-pii-key-0123456789", i) for i in ("k1", "k2")
        )  # and the keys, 64 hex characters before, are UUIDs (migration 6)
        assert con.execute(
            "select table_type from information_schema.tables where table_name = 'fct_household_history'"
        ).fetchall() == [("BASE TABLE",)]


@pytest.mark.prefect
def test_the_ledger_names_raw_files_inside_the_home_and_a_moved_home_reprocesses_them(demo_run, tmp_path):
    """The ledger keeps raw files relative to the home: after moving the whole home (raw archive included),
    re-processing a province (backfill) finds its archived files and loads them again."""
    from fupin.flows.backfill import backfill

    with duckdb.connect(str(demo_run["home"] / "warehouse.duckdb"), read_only=True) as con:
        stored = [
            p for (p,) in con.execute("select raw_path from meta.submissions where province_code = '43'").fetchall()
        ]
    assert stored and all(p.startswith("raw/43/") for p in stored)

    home = tmp_path / "moved-home"
    shutil.copytree(demo_run["home"], home, ignore=shutil.ignore_patterns("inbox"))
    summary = backfill(provinces=["hunan"], home=str(home))
    reloaded = [s for s in summary["submissions"] if s["province_code"] == "43"]
    assert len(reloaded) == len(stored) and all(s["status"] == "loaded" for s in reloaded), summary
