"""Schema versions: an older warehouse upgraded equals a fresh one; each step runs once; a newer one is refused.

The older warehouse is tests/fixtures/migrations/warehouse-63a9bea.duckdb.gz, built by fupin as it was before the
floors redesign (commit 63a9bea) from tests/fixtures/migrations/inbox/ (make_old_warehouse.py beside it).
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from fupin.cli import app
from fupin.tasks.registry import GOOD_SCHEMA
from fupin.warehouse import migrations
from fupin.warehouse.build import apply_ddl
from fupin.warehouse.migrations import CURRENT, SchemaTooNew, migrate, stored_version
from tests.helpers import FIXTURES, legacy_layout, legacy_pseudonym, rfc_pseudonym

OLD_KEY = b"an-old-pii-key-0123456789"

OLD = FIXTURES / "migrations" / "warehouse-63a9bea.duckdb.gz"
INBOX = FIXTURES / "migrations" / "inbox"
SCHEMAS = ("meta", "core", "marts")
# what differs between two runs of the same inbox: when they ran, and which run it was
RUN_COLUMNS = {"run_id"}
# where a fact was read from (its sheet, the unit its amount was written in), kept since fupin explain: null for the
# facts an older warehouse loaded before (backfill re-reads their archived files), and so in the lineage mart
SOURCE_COLUMNS = {"source_sheet", "source_unit", "unit_factor", "source_value"}
RUN_TYPES = {"TIMESTAMP WITH TIME ZONE", "TIMESTAMP", "DATE"}


def _old_home(tmp_path: Path, name: str = "old") -> Path:
    home = tmp_path / name
    home.mkdir()
    with gzip.open(OLD) as packed, open(home / "warehouse.duckdb", "wb") as out:
        shutil.copyfileobj(packed, out)
    return home


def _run(home: Path) -> None:
    result = CliRunner().invoke(app, ["run", "--inbox", str(INBOX), "--home", str(home), "--quiet"])
    assert result.exit_code in (0, 3), result.output  # 3: the inbox's bad rows and empty file are rejected


def _shape(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """(schema, relation, column, type) of every table and view fupin makes, in column order."""
    return con.execute(
        "select schema_name, table_name, column_name, data_type from duckdb_columns() "
        "where schema_name in (select unnest(?)) order by schema_name, table_name, column_index",
        [list(SCHEMAS)],
    ).fetchall()


def _rows(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Every table's rows, sorted, without the columns that say when or in which run they were written."""
    tables = con.execute(
        "select schema_name || '.' || table_name from duckdb_tables() where schema_name in (select unnest(?)) "
        "and table_name <> 'schema_version' order by 1",
        [list(SCHEMAS)],
    ).fetchall()
    found = {}
    for (table,) in tables:
        schema, name = table.split(".")
        kept = [
            c
            for c, t in con.execute(
                "select column_name, data_type from duckdb_columns() where schema_name = ? and table_name = ? "
                "order by column_index",
                [schema, name],
            ).fetchall()
            if c not in RUN_COLUMNS and t not in RUN_TYPES and c not in SOURCE_COLUMNS
        ]
        # an older archive keeps its files uncompressed: the same file, named without the .zst of a new archive
        selected = [r"regexp_replace(raw_path, '\.zst$', '')" if c == "raw_path" else c for c in kept]
        found[table] = sorted(map(repr, con.execute(f"select {', '.join(selected)} from {table}").fetchall()))
    return found


@pytest.mark.usefixtures("prefect_harness")
def test_a_warehouse_built_before_schema_versions_upgraded_equals_a_fresh_one(tmp_path):
    old = _old_home(tmp_path)
    with duckdb.connect(str(old / "warehouse.duckdb"), read_only=True) as con:
        assert stored_version(con) == 0  # tables, no version: from before versions
        submissions = con.execute("select count(*) from meta.submissions").fetchone()[0]
    _run(old)  # nothing new in the inbox: the run migrates the warehouse all the same
    fresh = tmp_path / "fresh"
    _run(fresh)
    with (
        duckdb.connect(str(old / "warehouse.duckdb"), read_only=True) as upgraded,
        duckdb.connect(str(fresh / "warehouse.duckdb"), read_only=True) as built,
    ):
        assert upgraded.execute("select version from meta.schema_version").fetchall() == [(CURRENT,)]
        assert built.execute("select version from meta.schema_version").fetchall() == [(CURRENT,)]
        assert upgraded.execute("select count(*) from meta.submissions").fetchone()[0] == submissions == 8
        assert _shape(upgraded) == _shape(built)
        old_rows, fresh_rows = _rows(upgraded), _rows(built)
        # the inbox lacks counties in a year of Luoxiao's span: the old code published its growth, this code
        # withholds it, and the upgraded warehouse's history says so (published once, withdrawn by the upgrade)
        growth = "('civil_affairs_funds_growth', 'luoxiao', '罗霄山片区', '2015-2017'"
        withdrawn = [r for r in old_rows["marts.indicator_changes"] if r.startswith(growth)]
        assert len(withdrawn) == 2 and any(", None, 'fraction', None," in r for r in withdrawn), withdrawn
        old_rows["marts.indicator_changes"] = [r for r in old_rows["marts.indicator_changes"] if r not in withdrawn]
        assert old_rows.keys() == fresh_rows.keys()
        assert {"meta.submissions", "meta.rejections", "core.fct_fund_allocation_history"} <= old_rows.keys()
        assert {t: r for t, r in old_rows.items() if fresh_rows[t] != r} == {}
        assert len(old_rows["meta.rejections"]) == 10  # 9 bad rows and the empty file
        published = "select count(*) from marts.indicators"
        assert upgraded.execute(published).fetchone() == built.execute(published).fetchone() != (0,)


def _older_shape(con: duckdb.DuckDBPyConnection) -> None:
    """Take the 63a9bea warehouse back to the shape fupin wrote before codes, sources and exact changes."""
    con.execute("alter table meta.submissions drop column message_code")
    con.execute("alter table meta.submissions drop column applied_at")
    con.execute("alter table meta.submissions drop column kind")
    con.execute("alter table meta.rejections drop column reason_code")
    con.execute("alter table meta.header_mappings drop column source")
    con.execute("alter table marts.indicator_changes drop column indicator_name")
    for column in ("value_before", "value_after"):
        con.execute(f"alter table marts.indicator_changes alter {column} type double")
    con.execute(
        "update core.household_registry_history set lake_file = '/old/home/' || lake_file"
    )  # none in the fixture; one added below
    con.execute(
        "insert into core.household_registry_history values ('36', 2017, '360827', '36-old', "
        "'/old/home/lake/household_registry/province=36/year=2017/36-old.parquet', 2, 2, now(), null)"
    )


def _old_registry_file(home) -> None:
    """The lake file of the registry row _older_shape adds: two households of 遂川县."""
    lake_file = home / "lake" / "household_registry" / "province=36" / "year=2017" / "36-old.parquet"
    lake_file.parent.mkdir(parents=True, exist_ok=True)
    # as written before pseudonyms were UUIDs: 64 hex characters (issue 28)
    keys = [legacy_pseudonym(OLD_KEY, "k1"), legacy_pseudonym(OLD_KEY, "k2")]
    rows = {"household_key": keys, "county_code": ["360827"] * 2, "submission_id": ["36-old"] * 2}
    rows["members"] = [1, 1]
    old = legacy_layout(GOOD_SCHEMA)
    pq.write_table(pa.table({f.name: rows.get(f.name, [None, None]) for f in old}).cast(old), lake_file)


def test_step_one_brings_an_older_shape_to_the_current_one_once(tmp_path):
    home = _old_home(tmp_path)
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        codes = con.execute("select submission_id, message_code from meta.submissions order by 1").fetchall()
        names = con.execute("select indicator, indicator_name from marts.indicator_changes order by all").fetchall()
        loaded = con.execute("select count(*) from meta.submissions where status like '%loaded'").fetchone()[0]
        _older_shape(con)
        _old_registry_file(home)
        con.execute("begin")
        assert migrate(con) == list(range(1, CURRENT + 1))  # step one, then every later step
        con.execute("commit")
        assert con.execute("select version, fupin_version from meta.schema_version").fetchall() == [
            (CURRENT, migrations._fupin_version())
        ]
        assert con.execute("select submission_id, message_code from meta.submissions order by 1").fetchall() == codes
        assert {code for _, code in codes} >= {"rows_rejected", "empty_file"}
        assert (
            con.execute(
                "select count(*) from meta.submissions where applied_at = received_at and kind = 'correction'"
            ).fetchone()[0]
            == loaded
        )
        assert con.execute("select distinct source from meta.header_mappings").fetchall() == [("header",)]
        assert (
            con.execute("select indicator, indicator_name from marts.indicator_changes order by all").fetchall()
            == names
        )
        assert con.execute("select distinct typeof(value_after) from marts.indicator_changes").fetchall() == [
            ("DECIMAL(38,6)",)
        ]
        assert con.execute("select lake_file from core.household_registry_history").fetchall() == [
            ("lake/household_registry/province=36/year=2017/36-old.parquet",)
        ]
        # step 2: the households, a view over the lake before, are a table holding the same rows
        assert con.execute(
            "select table_type from information_schema.tables where table_schema = 'core' "
            "and table_name = 'fct_household_history'"
        ).fetchall() == [("BASE TABLE",)]
        # step 6: the keys are UUIDs derived from the old hex ones, as the new code derives them
        assert sorted(
            con.execute("select household_key, county_code, year from core.fct_household").fetchall()
        ) == sorted([(rfc_pseudonym(OLD_KEY, "k1"), "360827", 2017), (rfc_pseudonym(OLD_KEY, "k2"), "360827", 2017)])
        assert migrate(con) == []  # stamped: never again
        assert con.execute("select count(*) from meta.schema_version").fetchone()[0] == 1


def test_each_step_runs_once_in_order_and_is_stamped(tmp_path, monkeypatch):
    ran = []
    step = CURRENT + 1

    def add_note(con):
        ran.append(step)
        con.execute("alter table meta.submissions add column note varchar")

    steps = (*migrations.MIGRATIONS, migrations.Migration(step, "a note on each submission", add_note))
    monkeypatch.setattr(migrations, "MIGRATIONS", steps)
    monkeypatch.setattr(migrations, "CURRENT", step)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        apply_ddl(con)  # a new warehouse: created as it is now, stamped by the code of the version before
        con.execute("update meta.schema_version set version = ?", [step - 1])
        assert migrate(con) == [step] and ran == [step]
        assert con.execute("select version from meta.schema_version").fetchall() == [(step,)]
        assert migrate(con) == [] and ran == [step]
        assert "note" in {c for (c,) in con.execute("select column_name from (describe meta.submissions)").fetchall()}


def test_a_new_warehouse_is_created_at_the_current_version():
    with duckdb.connect() as con:
        assert stored_version(con) is None
        apply_ddl(con)
        assert con.execute("select version from meta.schema_version").fetchall() == [(CURRENT,)]
        assert migrate(con) == []
        apply_ddl(con)  # every load runs it: still one row
        assert con.execute("select count(*) from meta.schema_version").fetchone()[0] == 1


def test_a_warehouse_newer_than_the_code_is_refused_by_the_ddl():
    with duckdb.connect() as con:
        apply_ddl(con)
        con.execute("update meta.schema_version set version = ?", [CURRENT + 1])
        with pytest.raises(SchemaTooNew, match=r"结构版本为 \d+，比本程序支持的 \d+ 新.*\[schema_too_new\]"):
            apply_ddl(con)


@pytest.mark.usefixtures("prefect_harness")
def test_a_run_on_a_warehouse_newer_than_the_code_changes_nothing_and_says_so(tmp_path):
    home = _old_home(tmp_path)
    warehouse = home / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        apply_ddl(con)
        con.execute("update meta.schema_version set version = ?", [CURRENT + 1])
    before = warehouse.read_bytes()
    result = CliRunner().invoke(app, ["run", "--inbox", str(INBOX), "--home", str(home)])
    assert result.exit_code == 1
    assert "比本程序支持的" in result.output and "[schema_too_new]" in result.output
    assert warehouse.read_bytes() == before
    assert not Path(f"{warehouse}.building").exists()


def test_a_column_a_contract_gained_reaches_a_current_warehouse_without_a_step(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        apply_ddl(con)
        con.execute("alter table core.fct_poverty_status_history drop column declared_incidence")  # as before it
        apply_ddl(con)  # the next load
        columns = {
            c for (c,) in con.execute("select column_name from (describe core.fct_poverty_status_history)").fetchall()
        }
        assert "declared_incidence" in columns
        assert con.execute("select version from meta.schema_version").fetchall() == [(CURRENT,)]
