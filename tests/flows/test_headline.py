"""One headline: marts.headline is what `fupin run`, `fupin indicators --headline`, the report and the artifact show."""

from __future__ import annotations

import json
from decimal import Decimal

from typer.testing import CliRunner

from fupin.cli import app
from fupin.core.config import Paths
from fupin.tasks.artifacts import indicators_markdown
from fupin.tasks.report import read_report_data


def _headline(con) -> list[tuple]:
    return con.execute(
        "select indicator, scope_code, scope_name, period, value from marts.headline "
        "order by ordinal, scope_code, period"
    ).fetchall()


def test_headline_rows_are_the_briefings_first_lines(warehouse):
    rows = {(i, s, p): v for i, s, _, p, v in _headline(warehouse)}
    assert rows[("civil_affairs_funds", "luoxiao", "2015-2017")] == 84e8
    assert round(rows[("poverty_incidence", "luoxiao:36", "2017")], 4) == Decimal("0.0436")
    assert rows[("social_org_funds_landed", "designated_mca", "2018")] == 54_309_000
    assert ("civil_affairs_funds", "luoxiao", "2016") not in rows  # yearly funds: the span says it
    assert not [s for _, s, _ in rows if s.isdigit() and s not in ("360827", "360321")]  # designated counties only


def test_cli_report_and_artifact_show_the_same_headline(demo_run, warehouse):
    expected = [(*r[:4], float(r[4])) for r in _headline(warehouse)]  # DECIMAL, printed and shown as numbers
    result = CliRunner().invoke(app, ["indicators", "--headline", "--json", "--home", str(demo_run["home"])])
    assert result.exit_code == 0, result.output
    printed = [
        (r["indicator"], r["scope_code"], r["scope_name"], r["period"], r["value"]) for r in json.loads(result.stdout)
    ]
    assert printed == expected
    report = read_report_data(warehouse, None)["headline"]
    assert [(r["indicator"], r["scope_code"], r["scope_name"], r["period"], r["value"]) for r in report] == expected
    summary = {"by_status": {}, "received": 0, "rows_loaded": 0, "rows_rejected": 0, "failed_provinces": {}}
    markdown = indicators_markdown(Paths.from_home(demo_run["home"]), summary)
    assert sum(1 for line in markdown.splitlines() if line.startswith("| ") and not line.startswith("| 指标 |")) == len(
        expected
    )
