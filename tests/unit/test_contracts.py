"""One contract per dataset: a column added to a contract reaches DDL, lake, normaliser, docs and export."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from fupin.docs import read_relations, render_markdown
from fupin.export import table_sheet
from fupin.warehouse.build import apply_ddl, run_data_tests
from fupin.warehouse.contracts import contracts, folder
from fupin.warehouse.labels import column_labels as table_labels
from tests.helpers import process

POOR_HOUSEHOLDS = {
    "name": "poor_households",
    "type": "bigint",
    "nullable": True,
    "unit": "households",
    "zh": "未脱贫户数",
    "en": "registered poor households not yet lifted",
    "comment": "Registered poor households not yet lifted (未脱贫户数), households.",
    "headers": ["未脱贫户数", "贫困户数"],
    "words": ["户数"],
}


@pytest.fixture()
def extended(tmp_path, monkeypatch) -> Path:
    """A copy of the contracts whose poverty_status gains poor_households, in force for the test."""
    target = tmp_path / "contracts"
    shutil.copytree(folder(), target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = target / "poverty_status.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["columns"].append(POOR_HOUSEHOLDS)
    doc["checks"]["non_negative"].append("poor_households")
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("FUPIN_CONTRACTS", str(target))
    return target


def test_a_column_added_to_a_contract_reaches_ddl_lake_docs_and_export(extended, tmp_path):
    assert "poor_households" in contracts()["poverty_status"].arrow_schema().names

    form = tmp_path / "poverty.csv"
    form.write_text("县名,年度,农业户籍人口,未脱贫人口,贫困户数\n遂川县,2017,536326,17002,5123\n", encoding="utf-8")
    outcome, datasets = process(form, tmp_path / "home")
    assert outcome.status == "loaded"
    assert datasets["poverty_status"][0]["poor_households"] == 5123
    (lake_file,) = outcome.lake_files
    table = pq.read_table(lake_file)
    assert table.schema.field("poor_households").type == pa.int64()
    assert table.column("poor_households").to_pylist() == [5123]

    with duckdb.connect() as con:
        apply_ddl(con)
        con.execute(
            "insert into core.fct_poverty_status_history by name select '36' as province_code, 2017 as year, "
            "now() as valid_from, * from read_parquet(?, hive_partitioning = false)",
            [lake_file],
        )
        assert con.execute("select poor_households from core.fct_poverty_status").fetchall() == [(5123,)]
        docs = render_markdown(read_relations(con), [], lang="en")
        assert (
            "| `poor_households` | BIGINT | Registered poor households not yet lifted (未脱贫户数), households. |"
            in docs
        )
        sheet = table_sheet(con, "core.fct_poverty_status")
        assert "未脱贫户数" in sheet.headers


def test_a_negative_value_of_the_new_column_is_rejected_by_the_contracts_checks(extended, tmp_path):
    form = tmp_path / "poverty.csv"
    form.write_text("县名,年度,农业户籍人口,未脱贫人口,贫困户数\n遂川县,2017,536326,17002,-1\n", encoding="utf-8")
    outcome, _ = process(form, tmp_path / "home")
    assert [(r.row_number, r.field, r.value, r.reason, r.code) for r in outcome.rejections] == [
        (
            2,
            "poor_households",
            "-1",
            "“贫困户数”不能为负数（填写的是 -1）：请填写实际数值，没有的填 0",
            "negative_count",
        )
    ]


def test_an_older_warehouse_gains_the_new_column(extended):
    with duckdb.connect() as con:
        con.execute("create schema core")
        con.execute(
            "create table core.fct_poverty_status_history (province_code varchar not null, county_code varchar "
            "not null, year integer not null, rural_population bigint not null, poor_population bigint not null, "
            "lifted_population bigint, declared_incidence double, submission_id varchar not null, source_row "
            "integer, valid_from timestamptz not null, valid_to timestamptz)"
        )
        apply_ddl(con)
        columns = [
            c
            for (c,) in con.execute(
                "select column_name from duckdb_columns() where table_name = 'fct_poverty_status' order by column_index"
            ).fetchall()
        ]
        assert columns[-2:] == ["poor_households", "row_action"]


def test_generic_data_tests_catch_repeated_keys_and_unknown_codes():
    with duckdb.connect() as con:
        apply_ddl(con)
        con.execute(
            "create table core.dim_county as select '360827' as county_code; create schema if not exists marts; "
            "create table marts.poverty_by_county as select 0.5 as incidence, '360827' as county_code, 2017 as year; "
            "create table marts.headline as select 23 as counties_covered, 23 as counties_expected; "
            "create table core.dim_prefecture as select '513400' as prefecture_code"
        )
        row = "select '36' as province_code, '360827' as county_code, 2017 as year, 'civil_affairs' as fund_type, "
        row += "{level} as fund_level, 1.00 as amount_yuan, 's1' as submission_id, now() as valid_from"
        for level in ("'central'", "'central'", "'township'"):
            con.execute(f"insert into core.fct_fund_allocation_history by name {row.format(level=level)}")
        training = "select '00' as province_code, 'p' as programme, {county} as county_code, {prefecture} as "
        training += "prefecture_code, 2018 as year, 1 as trainees, 's2' as submission_id, now() as valid_from"
        for county, prefecture in [("'360827'", "null"), ("null", "'513400'"), ("null", "null"), ("null", "'999900'")]:
            con.execute(
                f"insert into core.fct_training_history by name {training.format(county=county, prefecture=prefecture)}"
            )
        con.execute("create schema if not exists meta")
        failures = run_data_tests(con)
    assert failures["assert_training_one_place"] == 2  # neither a county nor a prefecture; an unknown prefecture
    assert failures["assert_fund_allocation_keys_unique"] == 1
    assert failures["assert_fund_allocation_fund_level_accepted_values"] == 1
    assert "assert_fund_allocation_required_not_null" not in failures


def test_contracts_declare_what_the_warehouse_contract_promises():
    fund = contracts()["fund_allocation"]
    assert fund.key == ("county_code", "year", "fund_type", "fund_level")
    assert [v.code for v in fund.column("fund_type").values] == [
        "civil_affairs",
        "lottery_welfare",
        "central_budget_investment",
    ]
    assert fund.column("amount_yuan").type == "decimal(18, 2)" and fund.column("amount_yuan").unit == "yuan"
    assert set(contracts()) == {
        "fund_allocation",
        "household_grant",
        "poverty_status",
        "social_org_project",
        "social_service_project",
        "training",
    }


def test_outcome_records_how_headers_were_read(tmp_path):
    form = tmp_path / "poverty.csv"
    form.write_text("1.县名,统计年度,乡村人口,未脱贫人口\n遂川县,2017,536326,17002\n", encoding="utf-8")
    outcome, _ = process(form, tmp_path / "home")
    assert [(m["submitted_header"], m["column_name"], m["matched_by"]) for m in outcome.header_mapping] == [
        ("1.县名", "county", "synonym"),
        ("统计年度", "year", "synonym"),
        ("乡村人口", "rural_population", "words"),
        ("未脱贫人口", "poor_population", "synonym"),
    ]


def test_a_row_marked_withdrawn_carries_row_action_to_the_lake(tmp_path):
    form = tmp_path / "poverty.csv"
    form.write_text(
        "县名,年度,农业户籍人口,未脱贫人口,报送状态\n遂川县,2017,536326,17002,作废\n莲花县,2017,231690,6580,\n"
        "井冈山市,2017,120000,3000,正常\n",
        encoding="utf-8",
    )
    outcome, datasets = process(form, tmp_path / "home")
    assert [(r["county_code"], r["row_action"]) for r in datasets["poverty_status"]] == [
        ("360827", "withdraw"),
        ("360321", None),
    ]
    assert pq.read_table(outcome.lake_files[0]).column("row_action").to_pylist() == ["withdraw", None]
    assert [(r.row_number, r.field, r.reason, r.code) for r in outcome.rejections] == [
        (4, "row_action", "“报送状态”填写的「正常」不是可接受的值：请填写 撤销 之一", "unknown_row_action")
    ]


def test_fund_allocations_keep_the_document_that_allocated_them(tmp_path):
    form = tmp_path / "funds.csv"
    form.write_text(
        "年度,县名,资金类别,级别,金额（万元）,指标文号\n"
        "2017,遂川县,民政事业费,中央,120.5,赣财社指〔2017〕12号\n2017,莲花县,彩票公益金,省级,30,\n",
        encoding="utf-8",
    )
    outcome, datasets = process(form, tmp_path / "home")
    assert [(r["county_code"], r["amount_yuan"], r["document_number"]) for r in datasets["fund_allocation"]] == [
        ("360827", Decimal("1205000.00"), "赣财社指〔2017〕12号"),
        ("360321", Decimal("300000.00"), None),
    ]
    assert pq.read_table(outcome.lake_files[0]).column("document_number").to_pylist() == ["赣财社指〔2017〕12号", None]
    with duckdb.connect() as con:
        apply_ddl(con)
        comment = con.execute(
            "select comment from duckdb_columns() where table_name = 'fct_fund_allocation' "
            "and column_name = 'document_number'"
        ).fetchone()
    assert comment == (  # the contract's Chinese label first, then its English comment
        "下达文号｜Number of the document that allocated the funds (下达文号, e.g. 赣财社指〔2017〕12号), "
        "as submitted.",
    )
    assert table_labels()["document_number"] == "下达文号"
