"""Areas as data (issue 15): an area is provinces, prefectures and/or counties in one reference file; the
warehouse expands it to counties and every area gets its indicators, report and export — no area in code."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from fupin.cli import app
from fupin.core.reference import area_counties, areas, areas_file
from fupin.demo import write_demo
from fupin.flows.nightly import nightly


def test_the_sanqu_sanzhou_expands_from_provinces_prefectures_and_counties():
    members = [a for a in area_counties() if a.area_code == "sanqu_sanzhou"]
    by_level = {level: [a for a in members if a.level == level] for level in ("province", "prefecture", "county")}
    assert len(by_level["province"]) == 74 and all(a.county_code.startswith("54") for a in by_level["province"])
    assert {a.defined_by for a in by_level["prefecture"]} >= {"5134", "6532", "6229"}
    muli = [a for a in members if a.county_code == "513422"]  # in 凉山州 and named on its own: counted once
    assert len(muli) == 1 and muli[0].level == "prefecture"
    assert [a.county_code for a in by_level["county"]] == ["620623"]  # 天祝, outside its prefecture's list
    assert {a.area_code: a.show_counties for a in areas()} == {
        "luoxiao": False,
        "designated_mca": True,
        "sanqu_sanzhou": False,
    }


def test_a_code_that_does_not_resolve_is_an_error_not_a_guess(tmp_path):
    bad = tmp_path / "areas.csv"
    rows = areas_file().read_text(encoding="utf-8") + "test_area,测试片区,prefecture,9999,不存在州,,,false\n"
    bad.write_text(rows, encoding="utf-8")
    with pytest.raises(ValueError, match="prefecture code '9999'"):
        area_counties(bad)


@pytest.fixture(scope="module")
def home_with_a_new_area(prefect_harness, tmp_path_factory) -> Path:
    """The demo run in a home whose config/areas.csv adds 吉安市 (prefecture 3608) as an area."""
    home = tmp_path_factory.mktemp("areas_home")
    write_demo(home / "inbox")
    (home / "config").mkdir()
    with open(home / "config" / "areas.csv", "w", encoding="utf-8", newline="") as fh:
        fh.write(areas_file().read_text(encoding="utf-8"))
        csv.writer(fh).writerow(["jian", "吉安片区", "prefecture", "3608", "吉安市", "", "", "false"])
        csv.writer(fh).writerow(
            ["jian_2016", "吉安片区（仅2016年）", "prefecture", "3608", "吉安市", "2016", "2016", "false"]
        )
    nightly(inbox=str(home / "inbox"), home=str(home))
    return home


def test_a_new_area_in_the_reference_file_gets_its_indicators_report_and_export(home_with_a_new_area, tmp_path):
    home = home_with_a_new_area
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        level = con.execute("select distinct level from core.area_county where area_code = 'jian'").fetchall()
        jian = con.execute(
            "select value from marts.indicators where indicator = 'civil_affairs_funds' and scope_code = 'jian' "
            "and period = '2015-2017'"
        ).fetchone()
        by_county = con.execute(
            "select sum(amount_yuan) from core.fct_fund_allocation where fund_type = 'civil_affairs' "
            "and county_code like '3608%' and year between 2015 and 2017"
        ).fetchone()[0]
    assert level == [("prefecture",)]
    assert jian is not None and jian[0] == by_county  # DECIMAL both: exactly the counties' sum
    page = next((home / "reports").glob("*.html")).read_text(encoding="utf-8")
    assert "吉安片区" in page
    out = tmp_path / "indicators.csv"
    result = CliRunner().invoke(
        app, ["export", "--format", "csv", "--indicators", "--out", str(out), "--home", str(home)]
    )
    assert result.exit_code == 0, result.output
    assert "吉安片区" in out.read_text(encoding="utf-8-sig")


def test_an_area_counts_only_the_years_it_applies(home_with_a_new_area):
    """An area's from_year/to_year bound the facts that count in it: 吉安市 for 2016 alone has 2016 figures alone."""
    with duckdb.connect(str(home_with_a_new_area / "warehouse.duckdb"), read_only=True) as con:
        periods = {
            area: sorted(
                p
                for (p,) in con.execute(
                    "select distinct period from marts.indicators where indicator = 'civil_affairs_funds' "
                    "and scope_code = ?",
                    [area],
                ).fetchall()
            )
            for area in ("jian", "jian_2016")
        }
        same_2016 = con.execute(
            "select count(distinct value) from marts.indicators where indicator = 'civil_affairs_funds' "
            "and scope_code in ('jian', 'jian_2016') and period = '2016'"
        ).fetchone()[0]
    assert periods["jian"] == ["2015", "2015-2017", "2016", "2017"]
    assert periods["jian_2016"] == ["2016"]
    assert same_2016 == 1  # the one year both hold: the same figure
