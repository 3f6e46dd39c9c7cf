"""An older home whose warehouse and lake hold 64-hex pseudonyms is migrated by the next run (migration 6): lake files
rewritten, keys equal to the derivation, grants still joining their households, figures unchanged, once."""

from __future__ import annotations

import csv
import hashlib
import shutil
import uuid

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from python_calamine import CalamineWorkbook

from fupin.core.pseudonym import from_legacy_hex
from fupin.export import export
from fupin.flows.nightly import nightly
from fupin.flows.rebuild import rebuild_warehouse
from fupin.warehouse.migrations import CURRENT
from tests.helpers import indicator_rows, legacy_layout, open_warehouse

pytestmark = pytest.mark.usefixtures("prefect_harness")

KEYED_TABLES = ("core.fct_household_history", "core.fct_household_grant_history")
JOINED = (
    "select count(*) from core.fct_household_grant g join core.fct_household h "
    "on h.county_code = g.county_code and h.household_key = g.household_key"
)


def _hex_of(key: uuid.UUID) -> str:
    """An old 64-hex key whose first half is this UUID's (as the HMAC's first 16 bytes were): any second half."""
    return key.hex + hashlib.sha256(key.bytes).hexdigest()[:32]


def _as_older_home(home) -> None:
    """Put the home back in the layout fupin wrote before UUIDs: text keys in the lake files and the tables."""
    for dataset in ("household_registry", "household_grant"):
        for f in (home / "lake" / dataset).rglob("*.parquet"):
            table = pq.read_table(f)
            at = table.schema.get_field_index("household_key")
            keys = [None if k is None else _hex_of(k) for k in table["household_key"].to_pylist()]
            table = table.set_column(at, pa.field("household_key", pa.string()), pa.array(keys, pa.string()))
            assert table.schema == legacy_layout(pq.read_schema(f))
            pq.write_table(table, f)
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    try:
        for table in KEYED_TABLES:
            con.execute(
                f"alter table {table} alter household_key type varchar using "
                "replace(cast(household_key as varchar), '-', '') || substr(sha256(unhex(replace(cast(household_key "
                "as varchar), '-', ''))), 1, 32)"
            )
        con.execute("update meta.schema_version set version = 5")
    finally:
        con.close()


def _lake_keys(home) -> dict[str, list]:
    out = {}
    for f in sorted((home / "lake").rglob("*.parquet")):
        schema = pq.read_schema(f)
        if "household_key" in schema.names:
            out[str(f.relative_to(home))] = (schema.field("household_key").type, pq.read_table(f)["household_key"])
    return out


def test_an_older_home_is_migrated_by_the_next_run_once(demo_home_copy):
    home = demo_home_copy
    con = open_warehouse(home)
    figures = indicator_rows(con)
    joined = con.execute(JOINED).fetchone()[0]
    households = con.execute("select count(*), count(distinct household_key) from core.fct_household").fetchone()
    unmatched = con.execute("select count(*) from marts.household_grant_unmatched").fetchone()[0]
    con.close()
    new_keys = _lake_keys(home)
    assert joined > 0 and households[0] > 20_000 and unmatched == 0  # the demo's grants all join their households

    _as_older_home(home)
    old_keys = _lake_keys(home)
    assert {str(t) for t, _ in old_keys.values()} == {"string"} and len(old_keys) >= 3
    check = open_warehouse(home)
    assert check.execute("select distinct typeof(household_key) from core.fct_household_history").fetchall() == [
        ("VARCHAR",)
    ]
    check.close()

    (home / "empty-inbox" / "hunan").mkdir(parents=True)
    summary = nightly(inbox=str(home / "empty-inbox"), home=str(home))
    assert summary["exit_code"] == 0, summary

    migrated = _lake_keys(home)
    assert migrated.keys() == old_keys.keys()
    for name, (kind, keys) in migrated.items():
        assert kind == pa.uuid(), name
        assert keys.equals(pa.chunked_array([from_legacy_hex(old_keys[name][1])])), name  # the derivation
        assert keys.equals(new_keys[name][1]), name  # what the new code wrote from the ID numbers
        assert not list((home / name).parent.glob(".*.tmp"))
    con = open_warehouse(home)
    try:
        assert con.execute("select max(version) from meta.schema_version").fetchone()[0] == CURRENT
        for table in KEYED_TABLES:
            assert con.execute(f"select distinct typeof(household_key) from {table}").fetchall() == [("UUID",)]
        assert con.execute(JOINED).fetchone()[0] == joined
        assert con.execute("select count(*) from marts.household_grant_unmatched").fetchone()[0] == 0
        assert (
            con.execute("select count(*), count(distinct household_key) from core.fct_household").fetchone()
            == households
        )
        assert indicator_rows(con) == figures
        # the warehouse's keys are the lake's (one derivation for both)
        lake = {k for name, (_, keys) in migrated.items() if "registry" in name for k in keys.to_pylist()}
        stored = {k for (k,) in con.execute("select household_key from core.fct_household_history").fetchall()}
        assert stored == lake
    finally:
        con.close()

    stamps = {name: (home / name).stat().st_mtime_ns for name in migrated}
    warehouse = (home / "warehouse.duckdb").stat().st_mtime_ns
    again = nightly(inbox=str(home / "empty-inbox"), home=str(home))
    assert again["exit_code"] == 0, again
    assert {name: (home / name).stat().st_mtime_ns for name in migrated} == stamps  # nothing rewritten again
    assert (home / "warehouse.duckdb").stat().st_mtime_ns == warehouse


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exports_write_a_key_as_its_uuid_text(demo_run, tmp_path, fmt):
    """Analysts read a household's key as DuckDB prints it, 8-4-4-4-12 hex, in a CSV and in Excel."""
    home = demo_run["home"]
    out, rows = export(home / "warehouse.duckdb", tmp_path / f"grants.{fmt}", fmt, table="core.fct_household_grant")
    con = open_warehouse(home)
    keys = {str(k) for (k,) in con.execute("select household_key from core.fct_household_grant").fetchall() if k}
    con.close()
    if fmt == "csv":
        with out.open(encoding="utf-8-sig", newline="") as f:
            cells = [set(row) for row in csv.reader(f)]
    else:
        cells = [
            {str(c) for c in row} for row in CalamineWorkbook.from_path(str(out)).get_sheet_by_index(0).to_python()
        ]
    written = set().union(*cells[1:]) & keys
    assert rows > 0 and len(keys) > 10 and written == keys
    assert all(len(k) == 36 and k.count("-") == 4 for k in written)


def test_a_rebuild_reads_an_older_lake_and_rewrites_it(tmp_path, demo_run):
    """A rebuild (a new warehouse: no migration runs) from lake files with 64-hex keys gives the same warehouse."""
    home = tmp_path / "home"
    shutil.copytree(demo_run["home"], home, ignore=shutil.ignore_patterns("inbox", "runs"))
    new_keys = _lake_keys(home)
    for name in new_keys:
        table = pq.read_table(home / name)
        keys = [None if k is None else _hex_of(k) for k in table["household_key"].to_pylist()]
        at = table.schema.get_field_index("household_key")
        pq.write_table(table.set_column(at, "household_key", pa.array(keys, pa.string())), home / name)
    state = rebuild_warehouse(home=str(home), return_state=True)
    assert state.is_completed(), state.message
    assert state.result()["identical"]
    rewritten = _lake_keys(home)
    assert {name: keys for name, (_, keys) in rewritten.items()} == {name: k for name, (_, k) in new_keys.items()}
