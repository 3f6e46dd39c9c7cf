"""`fupin explain`: a published figure traced to the files and rows behind it, kept in marts.indicator_lineage."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

from fupin.cli import app
from fupin.core.raw import read_raw, received_suffix
from fupin.flows.decide import approve
from fupin.tasks.normalise.numbers import parse_number
from fupin.warehouse import read
from tests.helpers import ledger_row, open_warehouse, send_fund_form

runner = CliRunner()


def _explain(home: Path, *args: str) -> dict:
    result = runner.invoke(app, ["explain", *args, "--json", "--home", str(home)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _raw_rows(home: Path, raw_path: str, sheet: str | None) -> list[list[str]]:
    """The archived file as received (decompressed and checked against its SHA-256), each row's cells as text
    (row 1 first): a workbook's sheet, or a CSV."""
    path = home / raw_path
    if received_suffix(path) == ".xlsx":
        book = CalamineWorkbook.from_filelike(io.BytesIO(read_raw(path)))
        grid = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        return [["" if v is None else str(v) for v in row] for row in grid]
    data = read_raw(path)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return list(csv.reader(data.decode(encoding).splitlines()))
        except UnicodeDecodeError:
            continue
    raise AssertionError(f"{path} is neither UTF-8 nor GB18030")


def _numbers(cells: list[str]) -> set[Decimal]:
    found = set()
    for cell in cells:
        try:
            value, _ = parse_number(cell)
        except ValueError:
            continue
        if value is not None:
            found.add(value)
    return found


def test_the_23_county_funds_are_traced_to_files_and_rows_that_hold_them(demo_run):
    home = demo_run["home"]
    document = _explain(home, "civil_affairs_funds", "luoxiao", "2015-2017")
    assert document["value"] == "8400000000.00"
    assert document["unit"] == "yuan" and "民政事业费" in document["definition"]
    with open_warehouse(home) as con:  # the one Chinese definition, as the report and the data dictionary give it
        (zh,) = con.execute(
            "select definition_zh from core.indicator_definition where indicator = 'civil_affairs_funds'"
        ).fetchone()
    assert document["definition"] == zh
    contributions = document["contributions"]
    # exactly the published figure, in DECIMAL: no float on the way
    assert sum(Decimal(c["value"]) for c in contributions) == Decimal("8400000000.00")
    assert {c["role"] for c in contributions} == {"sum"}
    assert len({c["county_code"] for c in contributions}) == 23
    assert {c["year"] for c in contributions} == {2015, 2016, 2017}
    assert {c["fund_level"] for c in contributions} == {"central", "provincial"}
    assert document["coverage"]["counties_expected"] == 23 and document["coverage"]["counties_covered"] == 23
    assert document["coverage"]["missing_counties"] == []
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        raw = dict(con.execute("select submission_id, raw_path from meta.submissions").fetchall())
    files = {}
    for c in contributions:
        assert c["file_name"] and c["source_row"] and c["submission_id"] in raw
        key = (c["submission_id"], c["sheet"])
        if key not in files:
            files[key] = _raw_rows(home, raw[c["submission_id"]], c["sheet"])
        row = files[key][c["source_row"] - 1]
        # the number written in that row of the raw file, in the unit it was written in, is the contribution
        written = Decimal(c["source_value"])
        assert written in _numbers(row), (c, row)
        factor = {"万元": 10000, "元": 1, None: 1}[c["source_unit"]]
        assert written * factor == Decimal(c["value"])
    jiangxi = [c for c in contributions if c["province_code"] == "36"]
    hunan = [c for c in contributions if c["province_code"] == "43"]
    assert {c["sheet"] for c in jiangxi} == {"民政资金"} and {c["source_unit"] for c in jiangxi} == {"万元"}
    assert {c["submitted_header"] for c in jiangxi} == {"民政事业费/中央", "民政事业费/省级"}
    assert {c["sheet"] for c in hunan} == {None} and {c["source_unit"] for c in hunan} == {"元"}
    assert {c["submitted_header"] for c in hunan} == {"金额（元）"}
    # first published by the run that loaded the four files
    (first,) = document["changes"]
    assert first["value_before"] is None and first["value_after"] == "8400000000.00"
    assert len(first["submission_ids"]) == 4


def test_every_sum_in_the_lineage_adds_up_to_its_published_figure(warehouse):
    mismatched = warehouse.execute(
        "select i.indicator, i.scope_code, i.period from marts.indicators as i join ("
        "  select indicator, scope_code, period, sum(value) as s from marts.indicator_lineage "
        "  where role in ('sum', 'count') group by all) as l using (indicator, scope_code, period) where l.s <> i.value"
    ).fetchall()
    assert mismatched == []
    explained = dict(
        warehouse.execute(
            "select indicator, count(distinct scope_code) from marts.indicator_lineage group by 1"
        ).fetchall()
    )
    for indicator in (
        "civil_affairs_funds",
        "civil_affairs_funds_growth",
        "poverty_incidence",
        "poor_population",
        "social_org_funds_landed",
        "training_trainees",
        "social_service_projects",
        "social_service_funds",
        "grant_funds",
    ):
        assert explained.get(indicator, 0) > 0, indicator
    # a training held for a whole prefecture is a contribution of its own, named by the prefecture
    prefectures = warehouse.execute(
        "select distinct prefecture_name from marts.indicator_lineage where indicator = 'training_sessions' "
        "and prefecture_code is not null"
    ).fetchall()
    assert ("凉山彝族自治州",) in prefectures


def test_a_growth_rate_is_explained_by_its_first_and_last_years(demo_run):
    document = _explain(demo_run["home"], "civil_affairs_funds_growth", "罗霄山片区", "2015–2017")
    assert document["value"] == "0.240000" and document["composition"] == "growth"
    by_role: dict[str, Decimal] = {}
    for c in document["contributions"]:
        by_role[c["role"]] = by_role.get(c["role"], Decimal(0)) + Decimal(c["value"])
        assert c["year"] == (2015 if c["role"] == "first_year" else 2017)
    growth = (by_role["last_year"] / by_role["first_year"]) ** Decimal("0.5") - 1
    assert round(growth, 6) == Decimal("0.240000")


def test_an_incidence_is_explained_by_its_poor_and_rural_persons(demo_run):
    document = _explain(demo_run["home"], "poverty_incidence", "遂川", "2017")
    assert document["scope_code"] == "360827" and document["composition"] == "ratio"
    roles = {c["role"]: Decimal(c["value"]) for c in document["contributions"]}
    assert round(roles["numerator"] / roles["denominator"], 6) == Decimal(document["value"])
    assert document["coverage"] is None  # a county's own figure: marts.indicators gives it no coverage


def test_the_chinese_text_names_value_files_rows_and_first_publication(demo_run):
    result = runner.invoke(
        app, ["explain", "civil_affairs_funds", "luoxiao", "2015-2017", "--home", str(demo_run["home"])]
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "数值：84.00亿元（精确值 8,400,000,000.00元）" in out
    assert "覆盖：23/23 个县，齐全" in out
    assert "构成：138 项相加，合计 8,400,000,000.00元，等于发布值" in out
    assert "2015年罗霄山片区县民政资金下达情况表.xlsx" in out and "湖南省罗霄山片区民政资金2015-2017.csv" in out
    assert "首次发布 → 84.00亿元" in out


def test_an_unknown_indicator_scope_or_period_is_one_chinese_line_with_near_matches(demo_run):
    home = str(demo_run["home"])
    result = runner.invoke(app, ["explain", "civil_affair_fund", "luoxiao", "2015-2017", "--home", home])
    assert result.exit_code == 1
    assert "没有已发布的指标“civil_affair_fund”；相近的有：civil_affairs_funds（民政事业费）" in result.output
    assert "[explain_unknown_indicator]" in result.output
    result = runner.invoke(app, ["explain", "civil_affairs_funds", "luoxia", "2015-2017", "--home", home])
    assert (
        result.exit_code == 1
        and "luoxiao（罗霄山片区）" in result.output
        and "[explain_unknown_scope]" in result.output
    )
    result = runner.invoke(app, ["explain", "civil_affairs_funds", "luoxiao", "2014", "--home", home])
    assert result.exit_code == 1 and "[explain_unknown_period]" in result.output
    assert "已发布的期间为 2015、2015-2017、2016、2017" in result.output


def test_the_demo_figures_are_unchanged(warehouse):
    figures = dict(
        warehouse.execute(
            "select indicator || ' ' || scope_code || ' ' || period, value from marts.indicators "
            "where period = '2015-2017' and scope_code in ('luoxiao', 'designated_mca')"
        ).fetchall()
    )
    assert figures["civil_affairs_funds luoxiao 2015-2017"] == Decimal("8400000000")
    assert figures["civil_affairs_funds_growth luoxiao 2015-2017"] == Decimal("0.24")
    assert figures["civil_affairs_funds designated_mca 2015-2017"] == Decimal("706000000")
    assert figures["civil_affairs_funds_growth designated_mca 2015-2017"] == Decimal("0.257")


def test_the_read_api_gives_one_figure_explained_for_the_report(warehouse):
    found = read.explanation(warehouse, "civil_affairs_funds", "luoxiao", "2015-2017")
    assert found["value"] == Decimal("8400000000")
    assert read.explanation_document(found)["value"] == "8400000000.00"
    assert read.explanation(warehouse, "civil_affairs_funds", "luoxiao", "1999") is None


@pytest.fixture()
def home(tmp_path, demo_run):
    """A copy of the demo run's home, so the shared one stays as it is."""
    target = tmp_path / "home"
    shutil.copytree(demo_run["home"], target, ignore=shutil.ignore_patterns("inbox", "runs"))
    return target


def test_as_of_explains_what_the_figure_was_made_of_then_and_changes_name_the_decision(home):
    before = _explain(home, "civil_affairs_funds", "luoxiao", "2017")
    (old,) = [c for c in before["contributions"] if (c["county_code"], c["fund_level"]) == ("430224", "central")]
    moment = datetime.now(UTC).isoformat()
    corrected = Decimal(old["value"]) + 100
    send_fund_form(home, "湖南2017年资金更正.csv", [["2017", "430224", "茶陵县", "民政事业费", "中央", f"{corrected}"]])
    correction_id = ledger_row(home, "湖南2017年资金更正.csv")[0]
    now = _explain(home, "civil_affairs_funds", "luoxiao", "2017")
    (new,) = [c for c in now["contributions"] if (c["county_code"], c["fund_level"]) == ("430224", "central")]
    assert (new["submission_id"], new["file_name"], new["source_row"]) == (correction_id, "湖南2017年资金更正.csv", 2)
    assert Decimal(new["value"]) == corrected
    assert Decimal(now["value"]) == Decimal(before["value"]) + 100
    assert sum(Decimal(c["value"]) for c in now["contributions"]) == Decimal(now["value"])
    change = now["changes"][-1]
    assert change["value_before"] == before["value"] and change["submission_ids"] == [correction_id]
    assert change["file_names"] == ["湖南2017年资金更正.csv"]
    # as of the moment before the correction: the figure and the rows it was made of then
    then = _explain(home, "civil_affairs_funds", "luoxiao", "2017", "--as-of", moment)
    assert then["value"] == before["value"]
    assert then["contributions"] == before["contributions"]
    # a held full resubmission approved by a person: the change names the decision behind it
    send_fund_form(home, "湖南2017年资金全量.csv", [["2017", "430224", "茶陵县", "民政事业费", "中央", "1.00"]])
    held = ledger_row(home, "湖南2017年资金全量.csv")
    assert held[1] == "held"
    approve(submission_id=held[0], by="张三", home=str(home))
    after = _explain(home, "civil_affairs_funds", "luoxiao", "2017")
    change = after["changes"][-1]
    assert change["submission_ids"] == [held[0]]
    assert [(d["decision"], d["decided_by"]) for d in change["decisions"]] == [("approved", "张三")]
    text = runner.invoke(app, ["explain", "civil_affairs_funds", "luoxiao", "2017", "--home", str(home)]).stdout
    assert "张三 于 " in text and f"批准 {held[0]}" in text


def test_a_warehouse_whose_marts_an_older_fupin_built_is_explained_from_its_current_facts(demo_home_copy):
    with duckdb.connect(str(demo_home_copy / "warehouse.duckdb")) as con:
        con.execute("drop table marts.indicator_lineage")  # as an older fupin left it: nothing loaded since
    document = _explain(demo_home_copy, "civil_affairs_funds", "luoxiao", "2015-2017")
    assert sum(Decimal(c["value"]) for c in document["contributions"]) == Decimal(document["value"])
    assert document["value"] == "8400000000.00"
