"""Headers read as a person reads them; a missing required column is one message; operators add synonyms."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest
from typer.testing import CliRunner

from fupin.cli import app
from fupin.core.config import ConfigError, Paths, load_headers
from fupin.flows.backfill import backfill
from fupin.flows.nightly import nightly
from fupin.tasks.normalise.helpers import clean_label, map_header, vocabularies


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        pytest.param("1.县名", ("县名", None), id="arabic-numbering"),
        pytest.param("一、资金类别", ("资金类别", None), id="chinese-numbering"),
        pytest.param("（一）下达金额（万元）", ("下达金额", "万元"), id="bracketed-numbering-and-unit"),
        pytest.param("农业户籍\n人口\n（人）", ("农业户籍人口", "人"), id="line-breaks"),
        pytest.param("乡村人口 单位：人", ("乡村人口", "人"), id="unit-after-单位"),
        pytest.param("ＹＥＡＲ", ("year", None), id="full-width-letters"),
        pytest.param("贫困发生率（%）", ("贫困发生率", "%"), id="percent"),
    ],
)
def test_clean_label_drops_what_a_reader_skips(label, expected):
    assert clean_label(label) == expected


@pytest.mark.parametrize(
    ("dataset", "label", "column", "how"),
    [
        pytest.param("fund_allocation", "资金级次", "fund_level", "words", id="级次"),
        pytest.param("fund_allocation", "预算级次", "fund_level", "words", id="预算级次"),
        pytest.param("fund_allocation", "拨付资金（元）", "amount", "words", id="拨付资金"),
        pytest.param("fund_allocation", "资金类别", "fund_type", "synonym", id="synonym-first"),
        pytest.param("fund_allocation", "县（市、区）名称", "county", "synonym", id="县市区名称"),
        pytest.param("fund_allocation", "区县名", "county", "words", id="区县名"),
        pytest.param("poverty_status", "统计年度", "year", "synonym", id="统计年度"),
        pytest.param("poverty_status", "剩余未脱贫人数", "poor_population", "words", id="not-lifted"),
        pytest.param("poverty_status", "累计已脱贫人口数", "lifted_population", "words", id="lifted"),
        pytest.param("training", "培训后实现就业人数", "employed", "words", id="employed-not-trainees"),
        pytest.param("fund_allocation", "year", "year", "exact", id="canonical-name"),
    ],
)
def test_headers_are_matched_by_synonym_then_meaning(dataset, label, column, how):
    hmap = map_header(["序号", label], vocabularies()[dataset])
    assert hmap.columns.get(column) == 1
    assert {"submitted_header": label, "column_name": column, "matched_by": how} in hmap.mapping


def test_two_equally_good_readings_are_reported_not_guessed():
    hmap = map_header(["县名", "级次类别备注"], vocabularies()["fund_allocation"])
    assert "fund_level" not in hmap.columns and "fund_type" not in hmap.columns
    assert hmap.ambiguous == ["级次类别备注（fund_type 或 fund_level）"]


def test_an_unplaceable_header_is_reported_and_operator_vocabulary_places_it():
    header = ["县名", "事权归属"]
    assert map_header(header, vocabularies()["fund_allocation"]).unknown == ["事权归属"]
    operator = vocabularies({"fund_allocation": {"fund_level": ["事权 归属"]}})["fund_allocation"]
    hmap = map_header(header, operator)
    assert hmap.columns["fund_level"] == 1 and hmap.mapping[-1]["matched_by"] == "operator"


HUNAN_FUNDS = (
    "年度,行政区划代码,县市区,资金类别,事权归属,金额（元）\r\n"
    "2017,430224,茶陵县,民政事业费,中央,1200000.00\r\n"
    "2017,430224,茶陵县,民政事业费,省级,300000.00\r\n"
    "2017,430225,炎陵县,彩票公益金,中央,50000.50\r\n"
)


@pytest.mark.usefixtures("prefect_harness")
def test_unknown_required_column_is_one_message_then_headers_yaml_and_backfill_load_it(tmp_path):
    home, inbox = tmp_path / "home", tmp_path / "inbox"
    (inbox / "hunan").mkdir(parents=True)
    (inbox / "hunan" / "资金下达2017.csv").write_bytes(HUNAN_FUNDS.encode("gbk"))
    nightly(inbox=str(inbox), home=str(home))
    warehouse = str(home / "warehouse.duckdb")
    with duckdb.connect(warehouse, read_only=True) as con:
        (sid, status, message) = con.execute("select submission_id, status, message from meta.submissions").fetchone()
        rejections = con.execute("select row_number, field, reason from meta.rejections").fetchall()
    assert status == "rejected"
    assert message.startswith("资金下达2017.csv：像是“资金下达”报表，但缺少必填列“资金级别”（未识别的表头：事权归属）")
    assert message.endswith("[missing_required_column]")
    assert rejections == [(None, "fund_level", message)]  # one file-level message, no row rejected

    (home / "config").mkdir()
    (home / "config" / "headers.yaml").write_text(
        'provinces:\n  "43":\n    fund_allocation:\n      fund_level: [事权归属]\n', encoding="utf-8"
    )
    backfill(provinces=["hunan"], home=str(home))
    with duckdb.connect(warehouse, read_only=True) as con:
        assert con.execute("select status from meta.submissions where submission_id = ?", [sid]).fetchone() == (
            "loaded",
        )
        mapping = con.execute(
            "select submitted_header, column_name, matched_by from meta.header_mappings where submission_id = ? "
            "order by submitted_header",
            [sid],
        ).fetchall()
        facts = con.execute(
            "select county_code, year, fund_type, fund_level, amount_yuan from core.fct_fund_allocation order by all"
        ).fetchall()
    assert ("事权归属", "fund_level", "operator") in mapping and ("县市区", "county", "synonym") in mapping
    shown = CliRunner().invoke(app, ["submissions", "--id", sid, "--home", str(home)], terminal_width=200).stdout
    assert "表头识别（6）" in shown and "管理员配置的表头" in shown
    assert facts == [
        ("430224", 2017, "civil_affairs", "central", Decimal("1200000.00")),
        ("430224", 2017, "civil_affairs", "provincial", Decimal("300000.00")),
        ("430225", 2017, "lottery_welfare", "central", Decimal("50000.50")),
    ]


def test_headers_yaml_in_home_and_beside_sources_add_up_per_province(tmp_path):
    home, config = tmp_path / "home", tmp_path / "etc"
    (home / "config").mkdir(parents=True)
    config.mkdir()
    (home / "config" / "headers.yaml").write_text(
        "fund_allocation:\n  fund_level: 事权归属\n"
        "provinces:\n  湖南:\n    poverty_status: {poor_population: [剩余建档立卡人口]}\n",
        encoding="utf-8",
    )
    (config / "headers.yaml").write_text("fund_allocation:\n  amount_yuan: [核定数]\n", encoding="utf-8")
    (config / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    paths = Paths.from_home(home, config / "sources.yaml")
    assert load_headers(paths.header_files, "43") == {
        "fund_allocation": {"fund_level": ["事权归属"], "amount_yuan": ["核定数"]},
        "poverty_status": {"poor_population": ["剩余建档立卡人口"]},
    }
    assert "poverty_status" not in load_headers(paths.header_files, "36")
    hmap = map_header(
        ["县名", "核定数（万元）"], vocabularies(load_headers(paths.header_files, "36"))["fund_allocation"]
    )
    assert hmap.columns["amount"] == 1 and hmap.units[1] == "万元"


def test_a_broken_headers_yaml_is_one_clear_error(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "headers.yaml").write_text("fund_allocation: [资金级次X\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="headers.yaml: not valid YAML"):
        load_headers(Paths.from_home(tmp_path).header_files, "43")
