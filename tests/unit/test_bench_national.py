"""The national benchmark's own logic: the provinces' registry sizes and the comparison of two warehouses."""

from __future__ import annotations

import duckdb

from benchmarks.national import NO_REGISTRY, POOR_2014, province_households
from benchmarks.timing import compare_warehouses
from fupin.core.reference import PROVINCE_PINYIN


def test_households_follow_the_real_shares_over_all_31_provinces():
    counts = province_households(29_000_000)
    assert sum(counts.values()) == 29_000_000  # exactly what was asked, not about it
    assert sorted([*counts, *NO_REGISTRY]) == sorted(PROVINCE_PINYIN)  # every province: a registry, or named as none
    assert all(counts.values())
    # Guizhou, the most registered poor: one registry file of ~2.5M rows (the streaming case)
    assert max(counts, key=counts.get) == "52"
    assert 2_400_000 < counts["52"] < 2_700_000
    # shares kept: Henan has ~10× Ningxia's poor, so ~10× its households
    assert round(counts["41"] / counts["64"], 1) == round(POOR_2014["41"] / POOR_2014["64"], 1)
    assert sum(province_households(300_001).values()) == 300_001


def _warehouse(path, households, received="2026-12-01 02:00:00+08", run="run-a", extra=False):
    with duckdb.connect(str(path)) as con:
        con.execute("create schema core; create schema marts; create schema meta")
        con.execute(
            "create table core.fct_household_history (household_key varchar, members int, valid_from timestamptz)"
        )
        con.executemany(
            "insert into core.fct_household_history values (?, ?, ?)", [(k, m, received) for k, m in households]
        )
        con.execute("create view core.fct_household as select household_key, members from core.fct_household_history")
        con.execute(f"create table marts.indicator_changes as select '{run}' run_id, 12.5 value_after")
        con.execute(f"create table meta.runs as select '{run}' run_id")  # not compared: meta differs run by run
        if extra:
            con.execute("create table marts.only_here (x int)")


def test_warehouses_equal_when_only_timestamps_and_run_ids_differ(tmp_path):
    rows = [("k1", 3), ("k2", 5), ("k2", 5)]
    _warehouse(tmp_path / "a.duckdb", rows)
    _warehouse(tmp_path / "b.duckdb", list(reversed(rows)), received="2026-12-02 03:00:00+08", run="run-b")

    result = compare_warehouses(tmp_path / "a.duckdb", tmp_path / "b.duckdb")

    assert result["different"] == {}
    assert result["equal"] == ["core.fct_household", "core.fct_household_history", "marts.indicator_changes"]


def test_a_differing_row_or_a_missing_table_is_named(tmp_path):
    _warehouse(tmp_path / "a.duckdb", [("k1", 3), ("k2", 5), ("k2", 5)], extra=True)
    _warehouse(tmp_path / "b.duckdb", [("k1", 3), ("k2", 5), ("k3", 5)])  # one duplicate row became another

    result = compare_warehouses(tmp_path / "a.duckdb", tmp_path / "b.duckdb")

    assert result["equal"] == ["marts.indicator_changes"]
    assert result["different"] == {
        "core.fct_household": "rows 3 / 3; 1 only in the first, 1 only in the second",
        "core.fct_household_history": "rows 3 / 3; 1 only in the first, 1 only in the second",
        "marts.only_here": "only in the first",
    }
