"""A figure says what it covers: counties covered and needed, the missing ones by name, a growth over a gap withheld.

Real nightly runs under the session's Prefect harness: Hunan's source down (the 23-county figures cover 17),
a full resubmission that drops 茶陵县 approved (22 of 23), and the demo (23 of 23, unchanged).
"""

from __future__ import annotations

import csv
import functools
import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from fupin.cli import app
from fupin.demo import write_demo
from fupin.flows import nightly as nightly_module
from fupin.flows.nightly import CHECKS_FAILED, nightly, summary_of
from tests.helpers import ledger_row, open_warehouse, send_fund_form

HUNAN = ["430224", "430225", "431022", "431026", "431027", "431028"]
HUNAN_NAMES = ["茶陵县", "炎陵县", "宜章县", "汝城县", "桂东县", "安仁县"]
HUNAN_DOWN = "17/23 县，缺湖南省 6 县"
WITHHELD = "17/23 县，缺湖南省 6 县；期间内有县缺报，增长率不予公布"
COVERAGE = ("counties_expected", "counties_covered", "missing_counties", "missing_county_codes", "coverage_note")


def _rows(con, **where) -> dict[tuple[str, str, str], dict]:
    cur = con.execute("select * from marts.indicators")
    names = [d[0] for d in cur.description]
    return {(r[0], r[1], r[3]): dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def _json(home: Path, *args: str) -> list[dict]:
    result = CliRunner().invoke(app, ["indicators", "--json", *args, "--home", str(home)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _find(rows: list[dict], indicator: str, scope: str, period: str) -> dict:
    (found,) = [r for r in rows if (r["indicator"], r["scope_code"], r["period"]) == (indicator, scope, period)]
    return found


@pytest.fixture(scope="module")
def hunan_down(prefect_harness, tmp_path_factory) -> dict:
    """A run with Jiangxi's and the Ministry's demo sources and Hunan's source down (a folder that is not there)."""
    base = tmp_path_factory.mktemp("coverage")
    inbox = base / "inbox"
    write_demo(inbox)
    sources = base / "sources.yaml"
    sources.write_text(
        f'sources:\n  - province: "36"\n    url: {inbox / "jiangxi"}\n'
        f'  - province: "00"\n    url: {inbox / "mca"}\n'
        f"  - province: 湖南\n    url: {base / 'hunan-source-down'}\n",
        encoding="utf-8",
    )
    home = base / "home"
    state = nightly(sources_file=str(sources), home=str(home), pull_retries=0, return_state=True)
    return {"home": home, "sources": sources, "state": state, "summary": summary_of(state)}


def test_with_hunans_source_down_the_23_county_figures_say_17_of_23_and_name_the_missing(hunan_down):
    con = open_warehouse(hunan_down["home"])
    rows = _rows(con)
    total = rows[("civil_affairs_funds", "luoxiao", "2015-2017")]
    assert round(float(total["value"]) / 1e8, 2) == 60.67  # Jiangxi's 17 counties: published, and marked
    assert (total["counties_covered"], total["counties_expected"]) == (17, 23)
    assert total["missing_counties"] == HUNAN_NAMES and total["missing_county_codes"] == HUNAN
    assert total["coverage_note"] == HUNAN_DOWN
    for indicator in ("central_budget_investment", "lottery_welfare_funds_central"):
        assert rows[(indicator, "luoxiao", "2015-2017")]["coverage_note"] == HUNAN_DOWN
    for year in ("2015", "2016", "2017"):
        assert rows[("civil_affairs_funds", "luoxiao", year)]["coverage_note"] == HUNAN_DOWN
        assert rows[("poverty_incidence", "luoxiao", year)]["coverage_note"] == HUNAN_DOWN
    # the growth over a span with a gap is not published as a number
    growth = rows[("civil_affairs_funds_growth", "luoxiao", "2015-2017")]
    assert growth["value"] is None and growth["coverage_note"] == WITHHELD
    # the designated counties are both in Jiangxi: complete, published as before
    designated = rows[("civil_affairs_funds_growth", "designated_mca", "2015-2017")]
    assert float(designated["value"]) == pytest.approx(0.257) and designated["coverage_note"] is None
    assert (designated["counties_covered"], designated["counties_expected"]) == (2, 2)
    # a county's own row and a list of events: coverage does not apply
    assert [rows[("poverty_incidence", "360827", "2017")][c] for c in COVERAGE] == [None] * 5
    assert [rows[("social_org_funds_landed", "luoxiao", "2018")][c] for c in COVERAGE] == [None] * 5
    con.close()


def test_the_json_the_headline_and_the_export_carry_the_coverage(hunan_down, tmp_path):
    home = hunan_down["home"]
    for args in ((), ("--headline",)):
        rows = _json(home, *args)
        total = _find(rows, "civil_affairs_funds", "luoxiao", "2015-2017")
        assert total["value"] == pytest.approx(60.67e8, rel=1e-3)
        assert {c: total[c] for c in COVERAGE} == {
            "counties_expected": 23,
            "counties_covered": 17,
            "missing_counties": HUNAN_NAMES,
            "missing_county_codes": HUNAN,
            "coverage_note": HUNAN_DOWN,
        }
        growth = _find(rows, "civil_affairs_funds_growth", "luoxiao", "2015-2017")
        assert growth["value"] is None and growth["coverage_note"] == WITHHELD
    table = CliRunner().invoke(app, ["indicators", "--home", str(home)])
    assert table.exit_code == 0 and "不予公布" in table.output and "缺湖南省 6 县" in table.output, table.output

    out = tmp_path / "指标.csv"
    exported = CliRunner().invoke(
        app, ["export", "--format", "csv", "--indicators", "--out", str(out), "--home", str(home)]
    )
    assert exported.exit_code == 0, exported.output
    lines = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines()))
    (growth,) = [
        r
        for r in lines
        if (r["指标代码"], r["范围代码"], r["期间"]) == ("civil_affairs_funds_growth", "luoxiao", "2015-2017")
    ]
    assert growth["公布数"] == "不予公布" and growth["比率（%）"] == "" and growth["覆盖说明"] == WITHHELD
    (total,) = [
        r for r in lines if (r["指标代码"], r["范围代码"], r["期间"]) == ("civil_affairs_funds", "luoxiao", "2015-2017")
    ]
    assert (total["覆盖县"], total["覆盖说明"]) == ("17/23", HUNAN_DOWN)
    assert total["缺报县"] == "、".join(HUNAN_NAMES)


def test_the_report_marks_the_incomplete_figures(hunan_down):
    report = next((hunan_down["home"] / "reports").glob("*.html")).read_text(encoding="utf-8")
    headline = report[
        report.index('id="headline-table"') : report.index("</table>", report.index('id="headline-table"'))
    ]
    assert f'<span class="gap incomplete" data-missing="{",".join(HUNAN)}">不完整：{HUNAN_DOWN}</span>' in headline
    assert f'<span class="gap incomplete" data-missing="{",".join(HUNAN)}">不完整：{WITHHELD}</span>' in headline
    assert "不予公布" in headline
    assert "年均增长 24" not in report  # no growth rate drawn for the area either


def test_the_run_fails_its_check_and_the_artifact_marks_the_figures(hunan_down):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    state, summary = hunan_down["state"], hunan_down["summary"]
    assert state.is_failed() and summary["exit_code"] == 1  # Hunan failed; Jiangxi's data loaded all the same
    assert summary["by_status"] == {"loaded": 12} and list(summary["failed_provinces"]) == ["43"]
    assert summary["data_tests_failed"]["assert_headline_figures_complete"] >= 8
    assert "[headline_incomplete]" in state.message and HUNAN_DOWN in state.message
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id]))
        )
    markdown = next(a for a in artifacts if a.key == "fupin-indicators").data
    assert "[headline_incomplete]" in markdown
    # the artifact in Chinese, codes beside (tests/flows/test_quiet.py)
    funds, growth = "民政事业费 [civil_affairs_funds]", "民政事业费年均增长 [civil_affairs_funds_growth]"
    assert f"| {funds} | 罗霄山片区 [luoxiao] | 2015-2017 | 60.67亿元 | **{HUNAN_DOWN}** |" in markdown
    assert f"| {growth} | 罗霄山片区 [luoxiao] | 2015-2017 | 不予公布 | **{WITHHELD}** |" in markdown
    assert f"| {growth} | 民政部定点扶贫县 [designated_mca] | 2015-2017 | 25.70% | 2/2 县 |" in markdown


def test_fupin_runs_closing_lines_mark_the_figures(hunan_down, monkeypatch):
    # the source is still down and nothing is new: the figures still published without Hunan are said again
    monkeypatch.setattr(nightly_module, "run_nightly", functools.partial(nightly_module.run_nightly, pull_retries=0))
    result = CliRunner().invoke(
        app, ["run", "--sources", str(hunan_down["sources"]), "--home", str(hunan_down["home"])]
    )
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    (incomplete,) = [line for line in lines if "[headline_incomplete]" in line]
    assert incomplete.startswith("10 项主要指标缺县") and incomplete.endswith("[headline_incomplete]")
    assert f"：罗霄山片区（{HUNAN_DOWN}）：民政事业费 2015-2017、中央预算内投资 2015-2017、" in incomplete
    assert f"；罗霄山片区（{WITHHELD}）：民政事业费年均增长 2015-2017" in incomplete
    luoxiao = next(line for line in lines if line.startswith("罗霄山片区："))
    assert f"民政事业费 2015-2017 60.67亿元（{HUNAN_DOWN}）" in luoxiao
    assert f"民政事业费年均增长 2015-2017 不予公布（{WITHHELD}）" in luoxiao
    assert "%" not in luoxiao.split("民政事业费年均增长")[1].split("；")[0]  # no number for the growth
    designated = next(line for line in lines if line.startswith("民政部定点扶贫县："))
    assert "民政事业费 2015-2017 7.06亿元；民政事业费年均增长 2015-2017 25.70%" in designated


@pytest.mark.usefixtures("prefect_harness")
def test_a_full_resubmission_dropping_a_county_shows_22_of_23_naming_it(demo_run, demo_home_copy, tmp_path):
    raw = next((demo_run["home"] / "inbox" / "hunan").glob("*民政资金*.csv"))
    with open(raw, encoding="gbk", newline="") as fh:
        hunan_2017 = [r for r in csv.reader(fh) if r[0] == "2017"]
    name = "湖南省2017年民政资金全量.csv"
    held = send_fund_form(demo_home_copy, name, [r for r in hunan_2017 if r[1] != "430224"])
    assert held["exit_code"] == 3 and held["held"]  # it lowers Hunan's total: a person decides
    sid = ledger_row(demo_home_copy, name)[0]
    approved = CliRunner().invoke(app, ["approve", sid, "--by", "张处长", "--home", str(demo_home_copy)])
    assert approved.exit_code == 0, approved.output  # the decision is done; what it leaves incomplete is said
    assert "已确认入库" in approved.output and "（22/23 县，缺茶陵县）：民政事业费 2015-2017、" in approved.output
    assert approved.output.rstrip().endswith("[headline_incomplete]")

    with duckdb.connect(str(demo_home_copy / "warehouse.duckdb"), read_only=True) as con:
        rows = _rows(con)
        failing = con.execute("select count(*) from marts.headline where coverage_note is not null").fetchone()[0]
    total = rows[("civil_affairs_funds", "luoxiao", "2015-2017")]
    assert (total["counties_covered"], total["counties_expected"]) == (22, 23)
    assert total["missing_counties"] == ["茶陵县"] and total["missing_county_codes"] == ["430224"]
    assert total["coverage_note"] == "22/23 县，缺茶陵县"
    assert rows[("civil_affairs_funds", "luoxiao", "2017")]["coverage_note"] == "22/23 县，缺茶陵县"
    assert rows[("civil_affairs_funds", "luoxiao", "2016")]["coverage_note"] is None  # 2016 was not resubmitted
    assert rows[("civil_affairs_funds", "luoxiao:43", "2015-2017")]["coverage_note"] == "5/6 县，缺茶陵县"
    assert rows[("civil_affairs_funds", "luoxiao:36", "2015-2017")]["coverage_note"] is None
    growth = rows[("civil_affairs_funds_growth", "luoxiao", "2015-2017")]
    assert growth["value"] is None and growth["coverage_note"] == "22/23 县，缺茶陵县；期间内有县缺报，增长率不予公布"
    assert rows[("civil_affairs_funds_growth", "luoxiao:36", "2015-2017")]["value"] is not None
    assert failing

    # the next night brings nothing new: the run still says so, and does not read as a success
    (tmp_path / "nothing-new" / "hunan").mkdir(parents=True)
    state = nightly(inbox=str(tmp_path / "nothing-new"), home=str(demo_home_copy), return_state=True)
    summary = summary_of(state)
    assert summary["received"] == 0 and summary["exit_code"] == 3
    assert summary["data_tests_failed"] == {"assert_headline_figures_complete": failing}
    assert state.is_completed() and state.name == CHECKS_FAILED and "22/23 县，缺茶陵县" in state.message
    record = json.loads((demo_home_copy / "runs" / f"{state.state_details.flow_run_id}.json").read_text())
    assert (record["outcome"], record["exit_code"]) == ("checks_failed", 3)


def test_the_demos_figures_are_complete_and_unchanged(demo_run, warehouse):
    assert demo_run["summary"]["exit_code"] == 0 and demo_run["summary"]["data_tests_failed"] == {}
    rows = _rows(warehouse)
    total = rows[("civil_affairs_funds", "luoxiao", "2015-2017")]
    assert total["value"] == 84e8 and (total["counties_covered"], total["counties_expected"]) == (23, 23)
    assert total["missing_counties"] == [] and total["coverage_note"] is None
    assert float(rows[("civil_affairs_funds_growth", "luoxiao", "2015-2017")]["value"]) == pytest.approx(0.24)
    designated = rows[("civil_affairs_funds", "designated_mca", "2015-2017")]
    assert designated["value"] == 7.06e8 and (designated["counties_covered"], designated["counties_expected"]) == (2, 2)
    measured = [r for r in rows.values() if r["counties_expected"] is not None]
    assert len(measured) > 50
    assert all(r["counties_covered"] == r["counties_expected"] and r["coverage_note"] is None for r in measured)
    assert {r["counties_expected"] for r in measured} == {2, 6, 17, 23}
    headline = _json(demo_run["home"], "--headline")
    assert all(r["coverage_note"] is None for r in headline)
    assert _find(headline, "civil_affairs_funds", "luoxiao", "2015-2017")["counties_covered"] == 23


@pytest.mark.usefixtures("prefect_harness")
def test_a_warehouse_from_before_coverage_is_rebuilt_by_a_run_with_nothing_new(demo_home_copy, tmp_path):
    with duckdb.connect(str(demo_home_copy / "warehouse.duckdb")) as con:
        for mart in ("indicators", "headline"):
            con.execute(f"alter table marts.{mart} drop column coverage_note")
        con.execute("update meta.schema_version set version = 1")
    (tmp_path / "empty" / "hunan").mkdir(parents=True)
    summary = nightly(inbox=str(tmp_path / "empty"), home=str(demo_home_copy))
    assert summary["received"] == 0 and summary["exit_code"] == 0
    rows = _json(demo_home_copy, "--headline")
    assert _find(rows, "civil_affairs_funds", "luoxiao", "2015-2017")["counties_covered"] == 23
    assert all("coverage_note" in r for r in rows)
