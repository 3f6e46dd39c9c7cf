"""marts.indicator_changes names every submission whose facts moved a figure: each year a multi-year file touches,
each province whose file fed an area the same night, on first publications as on later changes — and no other.

The demo run's first publications, then nightly runs on copies of the demo warehouse with corrections sent by Hunan
and Jiangxi; `fupin indicators --changes` (text and JSON) and the day's report show the submissions by name.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import duckdb
from typer.testing import CliRunner

from fupin.cli import app
from fupin.core.config import Paths
from fupin.tasks.report import report_path, run_date
from tests.helpers import fund_facts, ledger_row, send_fund_form, send_fund_forms

HUNAN_FUNDS = "湖南省罗霄山片区民政资金2015-2017.csv"  # the demo's Hunan fund form: 2015, 2016 and 2017
JIANGXI_FUNDS = "{year}年罗霄山片区县民政资金下达情况表.xlsx"  # the demo's Jiangxi fund forms: one a year
CHALING, YANLING, LIANHUA = ("430224", "茶陵县"), ("430225", "炎陵县"), ("360321", "莲花县")


def changes(home, indicator: str = "civil_affairs_funds", since: datetime | None = None) -> dict[tuple, set[str]]:
    """(scope, period) → the submissions named on the figure's change rows (first publications included)."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        found = con.execute(
            "select scope_code, period, submissions from marts.indicator_changes where indicator = ? "
            "and (cast(? as timestamptz) is null or changed_at >= ?)",
            [indicator, since, since],
        ).fetchall()
    return {(scope, period): set((ids or "").split(",")) - {""} for scope, period, ids in found}


def latest(home) -> datetime:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute("select max(changed_at) from marts.indicator_changes").fetchone()[0]


def raised(home, county: str, year: int, by: str = "100000.00") -> str:
    """A county's central civil-affairs funds of a year, raised: the amount as a form gives it."""
    return str(fund_facts(home)[(county, year, "civil_affairs", "central")] + Decimal(by))


def fund_row(home, county: tuple[str, str], year: int, amount: str | None = None) -> list[str]:
    """One row of a fund form: central civil-affairs funds of ``county`` in ``year`` (raised unless ``amount``)."""
    return [str(year), county[0], county[1], "民政事业费", "中央", amount or raised(home, county[0], year)]


def test_the_first_publication_names_both_provinces_and_every_year_of_a_multi_year_file(demo_run):
    home = demo_run["home"]
    hunan = ledger_row(home, HUNAN_FUNDS)[0]
    jiangxi = {year: ledger_row(home, JIANGXI_FUNDS.format(year=year))[0] for year in (2015, 2016, 2017)}
    first = changes(home)
    for year in (2015, 2016, 2017):
        # both provinces' files fed the area that night: both are named, for every year of Hunan's three-year file
        assert first[("luoxiao", str(year))] == {jiangxi[year], hunan}
        assert first[("luoxiao:43", str(year))] == {hunan}
        assert first[("luoxiao:36", str(year))] == {jiangxi[year]}
    assert first[("luoxiao", "2015-2017")] == {*jiangxi.values(), hunan}
    assert changes(home, "civil_affairs_funds_growth")[("luoxiao", "2015-2017")] == {*jiangxi.values(), hunan}
    # a county's figures name the file its facts came from, every year of it
    poverty = ledger_row(home, "湖南省罗霄山片区贫困人口2015-2017.csv")[0]
    assert {p: s for (scope, p), s in changes(home, "poverty_incidence").items() if scope == CHALING[0]} == {
        "2015": {poverty},
        "2016": {poverty},
        "2017": {poverty},
    }


def test_a_two_year_correction_is_named_on_both_years_and_the_span(demo_home_copy):
    home = demo_home_copy
    name = "湖南2016-2017年资金更正.csv"
    summary = send_fund_form(home, name, [fund_row(home, CHALING, 2016), fund_row(home, CHALING, 2017)])
    assert summary["by_status"] == {"loaded": 1}
    sid = ledger_row(home, name)[0]
    moved = changes(home, since=latest(home))
    assert moved == {
        (scope, period): {sid} for scope in ("luoxiao", "luoxiao:43") for period in ("2016", "2017", "2015-2017")
    }  # 2015 did not move; nor did Jiangxi's part
    assert changes(home, "civil_affairs_funds_growth", since=latest(home)) == {
        ("luoxiao", "2015-2017"): {sid},
        ("luoxiao:43", "2015-2017"): {sid},
    }

    printed = CliRunner().invoke(app, ["indicators", "--changes", "--home", str(home)])
    assert printed.exit_code == 0, printed.output
    # one row per changed figure (6 sums, 2 growth rates), each naming the correction: province, file, kind, id
    assert printed.output.count(f"湖南省《{name}》（更正/补报）") == 8, printed.output
    assert printed.output.count(f"[{sid}]") == 8, printed.output
    as_json = CliRunner().invoke(app, ["indicators", "--changes", "--json", "--home", str(home)])
    rows = json.loads(as_json.output)
    assert len(rows) == 8
    for row in rows:
        assert row["submissions"] == sid
        assert row["submission_names"] == [f"湖南省《{name}》（更正/补报）"]
        assert row["sources"] == [
            {
                "submission_id": sid,
                "province_code": "43",
                "province_name": "湖南省",
                "file_name": name,
                "kind": "correction",
                "kind_name": "更正/补报",
            }
        ]


def test_two_provinces_on_one_night_are_both_named_and_a_one_year_correction_only_on_its_year(demo_home_copy):
    home = demo_home_copy
    hunan, jiangxi, resent = "湖南2016-2017年资金更正.csv", "江西2017年资金更正.csv", "湖南2017年炎陵县补充.csv"
    yanling_2017 = str(fund_facts(home)[(YANLING[0], 2017, "civil_affairs", "central")])
    summary = send_fund_forms(
        home,
        {
            ("hunan", hunan): [fund_row(home, CHALING, 2016), fund_row(home, CHALING, 2017)],
            ("jiangxi", jiangxi): [fund_row(home, LIANHUA, 2017)],  # one year only
            ("hunan", resent): [fund_row(home, YANLING, 2017, yanling_2017)],  # the same value again: moves nothing
        },
    )
    assert summary["by_status"] == {"loaded": 3}
    h, j, r = (ledger_row(home, n)[0] for n in (hunan, jiangxi, resent))
    moved = changes(home, since=latest(home))
    assert moved == {
        ("luoxiao", "2016"): {h},  # Jiangxi's 2017 correction is not named on 2016's row
        ("luoxiao", "2017"): {h, j},  # both provinces moved the area's 2017 figure
        ("luoxiao", "2015-2017"): {h, j},
        ("luoxiao:43", "2016"): {h},
        ("luoxiao:43", "2017"): {h},
        ("luoxiao:43", "2015-2017"): {h},
        ("luoxiao:36", "2017"): {j},
        ("luoxiao:36", "2015-2017"): {j},
        ("designated_mca", "2017"): {j},  # Lianhua is one of the Ministry's designated counties too
        ("designated_mca", "2015-2017"): {j},
    }
    assert r not in set().union(*moved.values())  # Yanling's 2017 funds resent unchanged

    # the day's report names both provinces' files on the area's 2017 row
    page = report_path(Paths.from_home(home), run_date()).read_text(encoding="utf-8")
    section = page.split('id="changes-table"', 1)[1].split("</table>", 1)[0]
    rows = [row for row in section.split("<tr ")[1:] if 'data-scope="luoxiao"' in row and 'data-period="2017"' in row]
    named = [row for row in rows if 'data-indicator="civil_affairs_funds"' in row]
    assert len(named) == 1
    assert f"湖南省《{hunan}》（更正/补报）" in named[0] and f"江西省《{jiangxi}》（更正/补报）" in named[0]
    assert resent not in section
