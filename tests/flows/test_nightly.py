"""End to end: the demo inbox through the nightly flow reproduces the seed's figures."""

from __future__ import annotations

import hashlib

import duckdb
import pytest

from fupin.core.raw import read_raw
from tests.helpers import indicator


def test_every_demo_file_is_loaded_without_rejections(demo_run, warehouse):
    rows = warehouse.execute(
        "select file_name, status, rows_rejected from meta.submissions order by file_name"
    ).fetchall()
    assert len(rows) == 15  # 13 forms (2 of them grant lists) and the two designated counties' registries
    assert {status for _, status, _ in rows} == {"loaded"}, rows
    assert demo_run["summary"]["exit_code"] == 0
    assert demo_run["summary"]["data_tests_failed"] == {}


def test_f6_luoxiao_civil_affairs_funds_84_yi_growing_24_percent(warehouse):
    total = indicator(warehouse, "civil_affairs_funds", "luoxiao", "2015-2017")
    assert total == pytest.approx(84e8, rel=0.01)
    growth = indicator(warehouse, "civil_affairs_funds_growth", "luoxiao", "2015-2017")
    assert abs(growth - 0.24) <= 0.005


def test_f1_designated_counties_706_million_growing_25_7_percent(warehouse):
    assert indicator(warehouse, "civil_affairs_funds", "designated_mca", "2015-2017") == pytest.approx(
        7.06e8, rel=0.005
    )
    assert indicator(warehouse, "civil_affairs_funds_growth", "designated_mca", "2015-2017") == pytest.approx(
        0.257, abs=0.0005
    )


@pytest.mark.parametrize(
    ("county", "lifted", "poor", "incidence"),
    [
        pytest.param("360827", 68386, 17002, 0.0317, id="F4-suichuan"),
        pytest.param("360321", 33065, 6580, 0.0284, id="F5-lianhua"),
    ],
)
def test_f4_f5_designated_counties_end_2017(warehouse, county, lifted, poor, incidence):
    assert indicator(warehouse, "lifted_population", county, "2017") == lifted
    assert indicator(warehouse, "poor_population", county, "2017") == poor
    assert abs(indicator(warehouse, "poverty_incidence", county, "2017") - incidence) < 0.00005
    assert indicator(warehouse, "below_exit_threshold", county, "2017") == 0


@pytest.mark.parametrize(
    ("scope", "y2015", "y2017"),
    [
        pytest.param("luoxiao:36", 0.0986, 0.0436, id="F10-jiangxi-part"),
        pytest.param("luoxiao:43", 0.1015, 0.0365, id="F11-hunan-part"),
    ],
)
def test_f10_f11_incidence_of_the_area_parts(warehouse, scope, y2015, y2017):
    assert abs(indicator(warehouse, "poverty_incidence", scope, "2015") - y2015) < 0.00005
    assert abs(indicator(warehouse, "poverty_incidence", scope, "2017") - y2017) < 0.00005


def test_f7_f8_central_budget_investment_and_lottery_funds(warehouse):
    assert indicator(warehouse, "central_budget_investment", "luoxiao", "2015-2017") == pytest.approx(22489e4, abs=0.01)
    assert indicator(warehouse, "lottery_welfare_funds_central", "luoxiao", "2015-2017") == pytest.approx(
        4.46e8, abs=0.01
    )


def test_f2_social_organisation_funds_landed_2018(warehouse):
    assert indicator(warehouse, "social_org_funds_landed", "designated_mca", "2018") == pytest.approx(
        54_309_000, abs=0.01
    )
    assert indicator(warehouse, "social_org_organisations", "designated_mca", "2018") == 48


def test_f9_training_2016(warehouse):
    assert indicator(warehouse, "training_sessions", "luoxiao", "2016") == 8
    assert indicator(warehouse, "training_trainees", "luoxiao", "2016") == 1003
    poor = indicator(warehouse, "training_trainees_poor", "luoxiao", "2016")
    assert 0.45 * 1003 <= poor <= 0.5 * 1003


def test_jinggangshan_under_exit_threshold_in_2016(warehouse):
    assert indicator(warehouse, "poverty_incidence", "360881", "2016") == pytest.approx(0.016, abs=0.00005)
    assert indicator(warehouse, "below_exit_threshold", "360881", "2016") == 1


def test_old_county_codes_resolve_to_current_ones(warehouse):
    # the 2015 Jiangxi form writes 赣县 / 360721; its funds belong to 赣县区 360704
    n = warehouse.execute(
        "select count(*) from core.fct_fund_allocation where county_code = '360704' and year = 2015"
    ).fetchone()[0]
    assert n > 0
    assert (
        warehouse.execute("select count(*) from core.fct_fund_allocation where county_code = '360721'").fetchone()[0]
        == 0
    )


def test_every_indicator_has_a_definition(warehouse):
    missing = warehouse.execute(
        "select distinct indicator from marts.indicators where definition is null or definition = ''"
    ).fetchall()
    assert missing == []


def test_lake_is_hive_partitioned_parquet(demo_run):
    lake = demo_run["home"] / "lake"
    files = sorted(p.relative_to(lake).as_posix() for p in lake.rglob("*.parquet"))
    assert any(f.startswith("fund_allocation/province=36/year=2015/") for f in files)
    con = duckdb.connect()
    total = con.execute(
        "select sum(amount_yuan) from read_parquet(?, hive_partitioning = true) where fund_type = 'civil_affairs'",
        [str(lake / "fund_allocation" / "**" / "*.parquet")],
    ).fetchone()[0]
    assert float(total) == pytest.approx(84e8, rel=0.01)


def test_raw_archive_keeps_every_file_unchanged(demo_run, warehouse):
    for sha, raw_path in warehouse.execute("select sha256, raw_path from meta.submissions").fetchall():
        assert raw_path.startswith("raw/")  # relative to the home, which can move
        assert hashlib.sha256(read_raw(demo_run["home"] / raw_path)).hexdigest() == sha


def _table_digests(path) -> dict[str, str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = con.execute("select schema_name || '.' || table_name from duckdb_tables() order by 1").fetchall()
        out = {}
        for (name,) in tables:
            rows = con.execute(f"select * from {name}").fetchall()
            out[name] = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
        return out
    finally:
        con.close()


def test_second_run_loads_nothing_and_changes_nothing(demo_run):
    from fupin.flows.nightly import nightly

    home = demo_run["home"]
    before = _table_digests(home / "warehouse.duckdb")
    summary = nightly(inbox=str(home / "inbox"), home=str(home))
    assert summary["received"] == 0
    assert summary["warehouse_changed"] is False
    assert summary["exit_code"] == 0
    assert _table_digests(home / "warehouse.duckdb") == before


def test_indicators_carry_their_chinese_names_and_units(warehouse):
    rows = dict(
        ((indicator, unit), name)
        for indicator, name, unit in warehouse.execute(
            "select distinct indicator, indicator_name, unit_name from marts.indicators"
        ).fetchall()
    )
    assert rows[("civil_affairs_funds", "元")] == "民政事业费"
    assert rows[("poverty_incidence", "比例")] == "贫困发生率"
    assert rows[("training_sessions", "期")] == "培训期数"
    assert all(name for name in rows.values())
