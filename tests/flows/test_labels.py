"""Labels in the warehouse, exact numbers, Chinese-first comments and the county-level funds mart (issue #13)."""

from __future__ import annotations

import re
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb

import fupin.warehouse as warehouse_package
from fupin.core.config import Paths
from fupin.tasks import calendar, receipt
from fupin.warehouse.build import apply_ddl
from fupin.warehouse.comments import SEPARATOR
from fupin.warehouse.labels import label, labels_of

CJK = re.compile(r"[\u4e00-\u9fff]")
# the question an analyst asks: funds per county per year for the 23 counties of the 罗霄山片区, in one select
FUNDS_PER_COUNTY = (
    "select county_name, year, sum(amount_yuan) as amount_yuan from marts.fund_by_county "
    "where list_contains(area_codes, 'luoxiao') and fund_type = 'civil_affairs' group by all order by all"
)


def _labels(con, kind: str) -> dict[str, str]:
    return dict(con.execute("select code, name_zh from core.labels where kind = ?", [kind]).fetchall())


def _codes(con, sql: str) -> set[str]:
    return {c for (c,) in con.execute(sql).fetchall() if c is not None}


def test_every_code_in_the_facts_and_marts_has_a_chinese_name(warehouse):
    used = {
        "fund_type": _codes(warehouse, "select distinct fund_type from core.fct_fund_allocation_history"),
        "fund_level": _codes(warehouse, "select distinct fund_level from core.fct_fund_allocation_history"),
        "dataset": _codes(
            warehouse, "select distinct unnest(string_split(dataset, ',')) from meta.submissions where dataset <> ''"
        ),
        "submission_status": _codes(warehouse, "select distinct status from meta.submissions"),
        "run_outcome": _codes(warehouse, "select distinct outcome from meta.runs"),
        "indicator": _codes(warehouse, "select distinct indicator from marts.indicators"),
        "area": _codes(warehouse, "select area_code from core.area"),
        "region": _codes(warehouse, "select distinct region from core.dim_county"),
    }
    assert all(used.values()), {k: v for k, v in used.items() if not v}  # the demo run has codes of each kind
    for kind, codes in used.items():
        names = _labels(warehouse, kind)
        assert codes <= set(names), (kind, codes - set(names))
        assert all(CJK.search(names[c]) for c in codes), (kind, names)
    assert _labels(warehouse, "fund_type")["civil_affairs"] == "民政事业费"
    assert _labels(warehouse, "area")["luoxiao"] == "罗霄山片区"
    assert _labels(warehouse, "dataset")["fund_allocation"] == "资金下达"
    assert _labels(warehouse, "indicator")["civil_affairs_funds_growth"] == "民政事业费年均增长"
    english = dict(warehouse.execute("select code, name_en from core.labels where kind = 'indicator'").fetchall())
    assert english["poverty_incidence"] == "poverty incidence"
    assert not warehouse.execute("select * from core.labels where name_zh = '' or name_en = ''").fetchall()


def test_python_reads_the_same_labels_as_the_warehouse(warehouse):
    for kind in ("submission_status", "calendar_status", "fund_type", "indicator", "dataset"):
        assert labels_of(kind) == _labels(warehouse, kind)
    # the status words the CLI, the report and the receipts print come from the one seed
    assert calendar.STATUS_LABELS == _labels(warehouse, "calendar_status")
    assert calendar.STATUS_LABELS["late"] == "迟报"
    assert receipt.STATUS_LABELS["partially_loaded"] == "部分入库"
    assert label("fund_level", "provincial") == "省级"
    assert label("fund_level", "provincial", "en") == "provincial"
    assert label("fund_level", "no_such_level") == "no_such_level"  # no name: the code itself, never a guess


def test_the_calendar_statuses_carry_their_chinese_names(warehouse, tmp_path):
    (tmp_path / "config").mkdir()
    seeds = Path(warehouse_package.__file__).parent / "seeds"
    shutil.copy(seeds / "calendar.demo.yaml", tmp_path / "config" / "calendar.yaml")
    rows = calendar.submission_status(warehouse, Paths.from_home(tmp_path))
    assert {r["status"] for r in rows} >= {"received", "missing"}  # Hunan owes its 2018 projects
    names = _labels(warehouse, "calendar_status")
    assert set(calendar.STATUS_LABELS) <= set(names)
    for r in rows:
        assert r["status_name"] == names[r["status"]] == calendar.STATUS_LABELS[r["status"]]
        assert r["dataset_name"] == _labels(warehouse, "dataset")[r["dataset"]]
    assert any(r["dataset_name"] == "社会组织扶贫项目" and r["status_name"] == "未报" for r in rows)


def test_marts_carry_chinese_names_next_to_their_codes(warehouse):
    named = warehouse.execute(
        "select distinct fund_type, fund_type_name, fund_level, fund_level_name, part, part_name "
        "from marts.fund_by_area where area_code = 'luoxiao'"
    ).fetchall()
    types, levels = _labels(warehouse, "fund_type"), _labels(warehouse, "fund_level")
    assert named and all(types[t] == tn and levels[lv] == ln for t, tn, lv, ln, _, _ in named)
    assert {(p, pn) for *_, p, pn in named} == {("all", "全部"), ("36", "江西省"), ("43", "湖南省")}
    county = warehouse.execute(
        "select county_name, province_name, region_name from marts.poverty_by_county where county_code = '360827' "
        "limit 1"
    ).fetchone()
    assert county == ("遂川县", "江西省", "中部")
    assert not warehouse.execute(
        "select * from marts.headline where indicator_name is null or unit_name is null"
    ).fetchall()
    for table, column in (
        ("fund_by_area", "fund_type_name"),
        ("fund_by_county", "fund_level_name"),
        ("fund_by_county", "county_name"),
        ("poverty_by_area", "part_name"),
    ):
        assert not warehouse.execute(f"select * from marts.{table} where {column} is null").fetchall(), table


def test_funds_per_county_per_year_of_the_luoxiao_area_is_one_select(warehouse):
    rows = warehouse.execute(FUNDS_PER_COUNTY).fetchall()
    counties = {name for name, _, _ in rows}
    area = {
        n
        for (n,) in warehouse.execute(
            "select c.county_name from core.area_county join core.dim_county as c using (county_code) "
            "where area_code = 'luoxiao'"
        ).fetchall()
    }
    assert len(counties) == 23 and counties == area
    assert {year for _, year, _ in rows} == {2015, 2016, 2017}
    assert len(rows) == 23 * 3  # one row per county per year
    total = sum(amount for _, _, amount in rows)
    # F6 of the Ministry's release: about 84亿元 over 2015–2017, exactly the published indicator
    published = warehouse.execute(
        "select value from marts.indicators "
        "where indicator = 'civil_affairs_funds' and scope_code = 'luoxiao' and period = '2015-2017'"
    ).fetchone()[0]
    assert isinstance(total, Decimal) and total == published
    assert round(total / Decimal(10**8), 2) == Decimal("84.00")
    # a county in two areas (遂川县: 罗霄山片区 and 民政部定点扶贫县) is one row per key, not one per area
    assert (
        warehouse.execute(
            "select count(*) from (select county_code, year, fund_type, fund_level from marts.fund_by_county "
            "group by all having count(*) > 1)"
        ).fetchone()[0]
        == 0
    )
    assert warehouse.execute(
        "select area_names from marts.fund_by_county where county_code = '360827' limit 1"
    ).fetchone()[0] == ["民政部定点扶贫县", "罗霄山片区"]
    every_fact = warehouse.execute("select sum(amount_yuan) from core.fct_fund_allocation").fetchone()[0]
    assert warehouse.execute("select sum(amount_yuan) from marts.fund_by_county").fetchone()[0] == every_fact


def test_indicator_values_are_exact_decimals(warehouse):
    for table, column in (
        ("marts.indicators", "value"),
        ("marts.headline", "value"),
        ("marts.fund_by_area", "amount_yuan"),
        ("marts.fund_by_county", "amount_yuan"),
        ("marts.social_org_by_county", "amount_yuan"),
        ("marts.poverty_by_county", "incidence"),
    ):
        types = {t for (t,) in warehouse.execute(f"select distinct typeof({column}) from {table}").fetchall()}
        assert types and all(t.startswith("DECIMAL") for t in types), (table, types)
    assert (
        warehouse.execute(
            "select data_type from duckdb_columns() where schema_name = 'marts' and table_name = 'indicator_changes' "
            "and column_name = 'value_after'"
        ).fetchone()[0]
        == "DECIMAL(38,6)"
    )
    # the growth is a root, inexact in any type: stored rounded to 6 places, equal to the exact rate rounded
    (y0, y1, growth) = warehouse.execute(
        "select (select sum(amount_yuan) from marts.fund_by_county where list_contains(area_codes, 'luoxiao') "
        "and fund_type = 'civil_affairs' and year = 2015), "
        "(select sum(amount_yuan) from marts.fund_by_county where list_contains(area_codes, 'luoxiao') "
        "and fund_type = 'civil_affairs' and year = 2017), "
        "(select value from marts.indicators where indicator = 'civil_affairs_funds_growth' "
        "and scope_code = 'luoxiao' and period = '2015-2017')"
    ).fetchone()
    assert growth == ((y1 / y0).sqrt() - 1).quantize(Decimal("0.000001"))
    # the exit test compares exactly: poor < threshold × rural, never a rounded incidence
    for poor, rural, threshold, below in warehouse.execute(
        "select poor_population, rural_population, exit_threshold, below_exit_threshold from marts.poverty_by_county"
    ).fetchall():
        assert below == (poor < threshold * rural)


def test_the_indicator_table_reads_like_the_ministrys_release(warehouse):
    rows = warehouse.execute(
        "select indicator_name, scope_name, period, value, unit_name from marts.indicators "
        "where scope_code = 'luoxiao' and period = '2015-2017' order by indicator_name"
    ).fetchall()
    release = {(name, scope, period): (value, unit) for name, scope, period, value, unit in rows}
    assert release[("民政事业费", "罗霄山片区", "2015-2017")] == (Decimal("8400000000.000000"), "元")
    assert release[("民政事业费年均增长", "罗霄山片区", "2015-2017")] == (Decimal("0.240000"), "比例")
    assert release[("中央预算内投资", "罗霄山片区", "2015-2017")] == (Decimal("224890000.000000"), "元")
    assert release[("中央彩票公益金", "罗霄山片区", "2015-2017")] == (Decimal("446000000.000000"), "元")
    trainees = warehouse.execute(
        "select value, unit_name from marts.indicators where indicator_name = '培训人数' and scope_code = 'luoxiao'"
    ).fetchone()
    assert trainees == (Decimal("1003"), "人")
    for name, scope, _, value, unit in warehouse.execute(
        "select indicator_name, scope_name, period, value, unit_name from marts.indicators"
    ).fetchall():
        assert CJK.search(name) and CJK.search(scope) and CJK.search(unit)
        assert value == value.quantize(Decimal("0.000001"))  # never a float artefact


def test_every_comment_is_chinese_first_then_english(warehouse):
    comments = warehouse.execute(
        "select schema_name || '.' || table_name, comment from duckdb_tables() "
        "where schema_name in ('meta', 'core', 'marts') union all "
        "select schema_name || '.' || view_name, comment from duckdb_views() "
        "where schema_name in ('meta', 'core', 'marts') union all "
        "select schema_name || '.' || table_name || '.' || column_name, comment from duckdb_columns() "
        "where schema_name in ('meta', 'core', 'marts')"
    ).fetchall()
    assert len(comments) > 300
    wrong = [
        (name, comment)
        for name, comment in comments
        if not comment
        or SEPARATOR not in comment
        or not CJK.match(comment)
        or not re.search("[A-Za-z]", comment.split(SEPARATOR, 1)[1])
    ]
    assert wrong == []
    comment = dict(comments)
    assert comment["marts.fund_by_county.amount_yuan"].startswith("金额（元）｜Funds allocated to the county")
    assert comment["meta.rejections.value"].startswith("填报值｜")


def test_an_older_warehouse_gains_exact_indicator_changes(tmp_path):
    with duckdb.connect(str(tmp_path / "old.duckdb")) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.indicator_changes (changed_at timestamptz not null, run_id varchar not null, "
            "indicator varchar not null, scope_code varchar not null, scope_name varchar, period varchar not null, "
            "value_before double, value_after double, unit varchar, submissions varchar)"
        )
        con.execute(
            "insert into marts.indicator_changes values (now(), 'r', 'civil_affairs_funds_growth', 'luoxiao', "
            "'罗霄山片区', '2015-2017', null, 0.2399999832880371, 'fraction', 's')"
        )
        apply_ddl(con)
        value, kind = con.execute("select value_after, typeof(value_after) from marts.indicator_changes").fetchone()
    assert (value, kind) == (Decimal("0.240000"), "DECIMAL(38,6)")
