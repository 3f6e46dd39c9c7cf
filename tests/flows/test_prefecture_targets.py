"""Rows that target a whole prefecture (issue 15): a training held "in 凉山州", a project serving 和田地区.

Trainings and the Ministry's social-service projects may name a county or a whole prefecture. A prefecture
is read by its code, full name or short form; a bare root that a county could bear too (阿克苏) is refused,
not guessed. A prefecture's row counts in an area only when the area holds all of the prefecture.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fupin.cli import app
from fupin.core.reference import area_prefectures, areas_file, resolve_target, resolve_target_pair
from fupin.flows.nightly import nightly
from fupin.tasks.normalise import normalise_table
from fupin.tasks.parse import read_tables
from tests.helpers import indicator, open_warehouse

MINISTRY = "00"
TRAINING_HEADER = ["年度", "培训项目", "举办地区", "培训对象", "期数", "培训人数", "参训社会组织数", "状态"]


def _csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, *rows])
    return path


@pytest.mark.parametrize("written", ["凉山州", "凉山彝族自治州", "凉山", "5134", "513400", " 513400 "])
def test_a_prefecture_is_read_by_its_code_full_name_or_short_form(written):
    found = resolve_target(written, MINISTRY)
    assert (found.county_code, found.prefecture_code, found.reason) == (None, "513400", None)


def test_a_county_is_still_a_county_where_prefectures_are_allowed():
    assert resolve_target("西昌市", MINISTRY).county_code == "513401"
    assert resolve_target("阿克苏市", MINISTRY).county_code == "652901"
    assert resolve_target("阿克苏地区", MINISTRY).prefecture_code == "652900"


@pytest.mark.parametrize(
    ("written", "named"), [("阿克苏", ["阿克苏市", "阿克苏地区"]), ("和田", ["和田县", "和田地区"])]
)
def test_a_name_a_county_and_a_prefecture_could_both_bear_is_refused_not_guessed(written, named):
    found = resolve_target(written, MINISTRY)
    assert (found.county_code, found.prefecture_code, found.code) == (None, None, "county_ambiguous")
    assert all(name in found.reason for name in named), found.reason


def test_a_province_names_only_its_own_prefectures():
    assert resolve_target("凉山州", "51").prefecture_code == "513400"
    refused = resolve_target("凉山州", "36")
    assert refused.code == "county_other_province"
    assert "四川省的凉山彝族自治州（513400）" in refused.reason and "江西省" in refused.reason


def test_a_code_and_a_name_must_name_the_same_place():
    assert resolve_target_pair("513400", "凉山州", MINISTRY).prefecture_code == "513400"
    for code, name in [("513400", "西昌市"), ("513401", "凉山州")]:
        refused = resolve_target_pair(code, name, MINISTRY)
        assert refused.code == "county_name_code_mismatch" and code in refused.reason and name in refused.reason


def test_a_prefecture_counts_in_an_area_only_when_the_area_holds_all_of_it():
    held = {(a.area_code, a.prefecture_code): a for a in area_prefectures()}
    assert held[("sanqu_sanzhou", "513400")].level == "prefecture"  # 凉山州, named as a prefecture
    assert (held[("sanqu_sanzhou", "540100")].level, held[("sanqu_sanzhou", "540100")].defined_by) == ("province", "54")
    assert ("sanqu_sanzhou", "620600") not in held  # 武威市: only 天祝 is in the area
    assert not [a for a in held if a[0] == "luoxiao"]  # the Luoxiao area holds parts of 赣州 and 吉安, no whole one


def test_a_training_form_names_counties_and_whole_prefectures(tmp_path):
    path = _csv(
        tmp_path / "2019年深度贫困地区培训.csv",
        TRAINING_HEADER,
        [
            ["2019", "社会组织培训班", "凉山州", "社会组织", "1", "50", "40", ""],
            ["2019", "社会组织培训班", "西昌市", "社会组织", "1", "30", "20", ""],
            ["2019", "社会组织培训班", "阿克苏", "社会组织", "1", "25", "10", ""],
        ],
    )
    out = normalise_table(read_tables(path, file_name=path.name)[0], MINISTRY)
    assert out.dataset == "training"
    places = [(r["county_code"], r["prefecture_code"], r["trainees"]) for r in out.rows]
    assert places == [(None, "513400", 50), ("513401", None, 30)]
    [refused] = out.rejections
    assert (refused.row_number, refused.code) == (4, "county_ambiguous")
    assert refused.reason.startswith("“举办地区”") and "阿克苏地区" in refused.reason


def test_a_dataset_about_counties_still_refuses_a_prefecture(tmp_path):
    path = _csv(
        tmp_path / "2017年民政资金.csv",
        ["年度", "县（市、区）", "资金类型", "资金级别", "金额（元）"],
        [["2017", "凉山州", "民政事业费", "中央", "1000"], ["2017", "西昌市", "民政事业费", "中央", "1000"]],
    )
    out = normalise_table(read_tables(path, file_name=path.name)[0], "51")
    assert [r["county_code"] for r in out.rows] == ["513401"]
    [refused] = out.rejections
    assert refused.code == "county_unknown" and "凉山州" in refused.reason


@pytest.mark.prefect
def test_prefecture_trainings_count_in_areas_holding_the_prefecture_and_corrections_replace_them(
    demo_home_copy, tmp_path
):
    home = demo_home_copy
    (home / "config").mkdir(exist_ok=True)
    with open(home / "config" / "areas.csv", "w", encoding="utf-8", newline="") as fh:
        fh.write(areas_file().read_text(encoding="utf-8"))
        writer = csv.writer(fh)
        writer.writerow(["liangshan", "凉山片区", "prefecture", "5134", "凉山州", "", "", "false"])
        writer.writerow(["xichang", "西昌片区", "county", "513401", "西昌市", "", "", "false"])

    def send(name: str, rows: list[list[str]]) -> dict:
        folder = tmp_path / name.split(".")[0] / "sichuan"
        folder.mkdir(parents=True)
        _csv(folder / name, TRAINING_HEADER, rows)
        return nightly(inbox=str(folder.parent), home=str(home))

    first = send(
        "2019年凉山州社会组织培训.csv",
        [
            ["2019", "社会组织培训班", "凉山州", "社会组织", "1", "50", "40", ""],
            ["2019", "社会组织培训班", "西昌市", "社会组织", "1", "30", "20", ""],
        ],
    )
    assert first["exit_code"] == 0, first
    con = open_warehouse(home)
    by_area = dict(
        con.execute(
            "select area_code, (sessions, trainees, counties, prefectures) from marts.training_by_area "
            "where year = 2019"
        ).fetchall()
    )
    assert by_area["liangshan"] == (2, 80, 1, 1)
    assert by_area["sanqu_sanzhou"] == (2, 80, 1, 1)  # 凉山州 is one of the 三州
    assert by_area["xichang"] == (1, 30, 1, 0)  # an area holding part of the prefecture gets none of its training
    assert indicator(con, "training_trainees", "liangshan", "2019") == 80
    assert indicator(con, "training_organisations", "liangshan", "2019") == 60
    con.close()

    # a correction of the prefecture's row replaces that key alone (its county code is null), the old version
    # stays in the history
    corrected = [["2019", "社会组织培训班", "凉山彝族自治州", "社会组织", "1", "55", "40", ""]]
    second = send("2019年凉山州社会组织培训更正.csv", corrected)
    assert second["exit_code"] == 0, second
    con = open_warehouse(home)
    assert indicator(con, "training_trainees", "liangshan", "2019") == 85
    assert indicator(con, "training_trainees", "xichang", "2019") == 30
    history = con.execute(
        "select county_code, prefecture_code, trainees, valid_to is null from core.fct_training_history "
        "where province_code = '51' and year = 2019 order by county_code nulls first, trainees"
    ).fetchall()
    con.close()
    assert history == [(None, "513400", 50, False), (None, "513400", 55, True), ("513401", None, 30, True)]

    out = tmp_path / "training.csv"
    table = ["--table", "core.fct_training_history"]
    result = CliRunner().invoke(app, ["export", "--format", "csv", *table, "--out", str(out), "--home", str(home)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert {r["地州"] for r in rows if r["地州代码"] == "513400"} == {"凉山彝族自治州"}
