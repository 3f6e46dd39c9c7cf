"""The notebook API (fupin.indicators, fupin.submissions, fupin.connect): pandas DataFrames with exact values and
Chinese names beside the codes, and the README's example run as written against the demo's home."""

from __future__ import annotations

import re
from decimal import Decimal

import pandas as pd

import fupin
from tests.helpers import ROOT


def _readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("**Reading the warehouse from Python (a notebook).**") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readmes_notebook_example_runs_against_the_demo_home(demo_run, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FUPIN_HOME", str(demo_run["home"]))
    monkeypatch.chdir(tmp_path)  # a notebook's folder: not the home, no data/ in it
    scope: dict = {}
    exec(compile(_readme_example(), "README.md", "exec"), scope)

    assert capsys.readouterr().out.strip() == "民政事业费 8400000000.000000 元"
    funds = scope["funds"]
    assert isinstance(funds.value, Decimal) and funds.value == Decimal("8400000000")
    incidence = scope["incidence"]
    assert incidence.loc["遂川县", "2015"] == Decimal("0.092984")
    assert len(incidence) == 23 and {"莲花县", "茶陵县"} <= set(incidence.index)
    per_province = scope["per_province"]
    assert per_province[("江西省", "已入库")] == 10 and per_province[("湖南省", "已入库")] == 3
    assert per_province[("民政部", "已入库")] == 2
    households = scope["households"].set_index("county_name")["households"].to_dict()
    assert households == {"莲花县": 8819, "遂川县": 18925}


def test_indicators_are_exact_with_names_beside_codes(demo_run):
    figures = fupin.indicators(demo_run["home"])
    assert list(figures.columns) == [
        "indicator",
        "indicator_name",
        "scope_code",
        "scope_name",
        "province_code",
        "province_name",
        "county_code",
        "county_name",
        "period",
        "value",
        "unit",
        "unit_name",
        "definition",
    ]
    assert figures["value"].dtype == object and all(isinstance(v, Decimal) for v in figures["value"])
    row = figures.set_index(["indicator", "scope_code", "period"])
    growth = row.loc[("civil_affairs_funds_growth", "luoxiao", "2015-2017")]
    assert (growth.indicator_name, growth.value, growth.unit_name) == ("民政事业费年均增长", Decimal("0.24"), "比例")
    part = row.loc[("civil_affairs_funds", "luoxiao:36", "2015")]
    assert (part.scope_name, part.province_code, part.province_name) == ("罗霄山片区（江西省）", "36", "江西省")
    assert pd.isna(part.county_code)
    county = row.loc[("poverty_incidence", "360827", "2015")]
    assert (county.county_name, county.province_name, county.value) == ("遂川县", "江西省", Decimal("0.092984"))
    designated = row.loc[("civil_affairs_funds", "designated_mca", "2015-2017")]
    assert designated.value == Decimal("706000000") and designated.scope_name == "民政部定点扶贫县"


def test_indicators_as_of_a_moment_before_anything_arrived_are_an_empty_table_with_the_columns(demo_run):
    before = fupin.indicators(demo_run["home"], as_of="2018-10-30")
    assert before.empty and "indicator_name" in before.columns and "value" in before.columns
    assert fupin.indicators(demo_run["home"], as_of="2099-01-01")["value"].tolist() == (
        fupin.indicators(demo_run["home"])["value"].tolist()
    )


def test_the_ledger_names_provinces_datasets_kinds_and_statuses(demo_run):
    ledger = fupin.submissions(demo_run["home"])
    assert len(ledger) == 15
    registry = ledger[ledger.file_name == "遂川县建档立卡贫困户2017.csv"].iloc[0]
    assert (registry.province_name, registry.dataset_name, registry.kind_name, registry.status_name) == (
        "江西省",
        "建档立卡户名册",
        "更正/补报",
        "已入库",
    )
    assert registry.rows_loaded == 18925 and str(registry.received_at.tz) == "Asia/Shanghai"
    assert set(ledger.province_name) == {"江西省", "湖南省", "民政部"}
    assert ledger.received_at.is_monotonic_increasing
