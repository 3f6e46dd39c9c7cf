"""Where officials look, Chinese with the codes beside: the run's artifacts, the report's CSV units, a failed run's
message; a handled failure of a flow run is its Chinese message with its code."""

from __future__ import annotations

from pathlib import Path

import pytest

from fupin.core.config import Paths
from fupin.flows.nightly import nightly
from fupin.tasks.artifacts import indicators_markdown, submissions_table
from fupin.tasks.report.charts import county_tables
from fupin.tasks.report.queries import read_report_data


def test_the_submissions_artifact_is_chinese_with_codes_beside(demo_run):
    summary = {**demo_run["summary"], "failed_provinces": {"43": "报送来源 x 读取失败 [source_failed]"}}
    rows = submissions_table(summary)
    (fund,) = [r for r in rows if r["文件"] == "2017年罗霄山片区县民政资金下达情况表.xlsx"]
    assert fund == {
        "省份": "江西省",
        "省份代码": "36",
        "文件": "2017年罗霄山片区县民政资金下达情况表.xlsx",
        "数据集": "资金下达",
        "数据集代码": "fund_allocation",
        "状态": "已入库",
        "状态代码": "loaded",
        "入库行数": 17,
        "退回行数": 0,
        "说明": "",
    }
    assert rows[-1]["省份"] == "湖南省" and rows[-1]["状态"] == "失败" and rows[-1]["状态代码"] == "failed"


def test_the_indicators_artifact_is_chinese(demo_run):
    summary = {**demo_run["summary"], "failed_provinces": {"43": "报送来源 x 读取失败 [source_failed]"}}
    markdown = indicators_markdown(Paths.from_home(demo_run["home"]), summary)
    lines = markdown.splitlines()
    assert lines[0] == "# fupin 夜间运行"
    assert lines[2].startswith("收到 15 个文件：已入库 15；入库 ") and lines[2].endswith("退回 0 行 [run_counts]")
    assert "- **湖南省 43 失败**：报送来源 x 读取失败 [source_failed]" in lines
    assert "| 指标 | 范围 | 期间 | 数值 | 覆盖县 |" in lines
    assert any(
        line.startswith("| 民政事业费 [civil_affairs_funds] | 罗霄山片区 [luoxiao] | 2015-2017 | 84.00亿元 |")
        for line in lines
    )
    assert "Received" not in markdown and "rows loaded" not in markdown and "province 43" not in markdown


def test_the_report_csvs_name_units_as_officials_read_them(warehouse):
    tables = county_tables(read_report_data(warehouse, None))
    assert tables
    units = set()
    for table in tables:
        payload = table["download"].payload()
        at = table["download"].columns.index("unit_name")
        units |= {row[at] for row in payload["rows"]}
    assert {"元", "比例"} <= units and not units & {"yuan", "fraction", "count", "persons", "boolean"}, units


@pytest.mark.usefixtures("prefect_harness")
def test_a_failed_run_ends_with_its_chinese_message_and_code(tmp_path):
    sources = tmp_path / "sources.yaml"
    missing = tmp_path / "no-such-folder"
    sources.write_text(f'sources:\n  - province: "43"\n    url: {missing}\n', encoding="utf-8")
    state = nightly(sources_file=str(sources), home=str(tmp_path / "home"), pull_retries=0, return_state=True)
    assert state.is_failed()
    assert state.message == (
        f"1 个省份未能入库（湖南省 43），其他省份已入库：湖南省 43：报送来源 {missing} 读取失败（共尝试 1 次）："
        f"source {missing} does not exist [source_failed] [run_failed]"
    )
    record = next(Path(tmp_path / "home" / "runs").glob("*.json")).read_text(encoding="utf-8")
    assert "[run_failed]" in record and "[source_failed]" in record


def test_the_chinese_data_dictionary_describes_relations_in_chinese_beside_the_english(demo_run, tmp_path):
    from typer.testing import CliRunner

    from fupin.cli import app
    from fupin.docs import descriptions_zh, read_relations
    from tests.helpers import open_warehouse

    with open_warehouse(demo_run["home"]) as con:
        present = {r.qualified for r in read_relations(con)}
    assert set(descriptions_zh()) <= present  # every description names a relation of the warehouse
    assert {"marts.indicators", "marts.headline", "marts.fund_by_county", "meta.submissions"} <= set(descriptions_zh())
    result = CliRunner().invoke(app, ["docs", "--out", str(tmp_path), "--home", str(demo_run["home"])])
    assert result.exit_code == 0, result.output
    markdown = (tmp_path / "data_dictionary.md").read_text(encoding="utf-8")
    assert "| 名称 | 中文名 | 类型 | 说明 | 说明（英文） |" in markdown
    (row,) = [line for line in markdown.splitlines() if line.startswith("| [`marts.indicators`]")]
    assert "| 发布指标：每个指标 × 范围 × 期间一行，即民政部发布的数字；" in row and "| one row per indicator" in row
    page = (tmp_path / "data_dictionary.html").read_text(encoding="utf-8")
    assert "<p>报送台账：收到的每份文件一行，无论其结果（已入库、部分入库、退回、被取代、重复）。</p>" in page
