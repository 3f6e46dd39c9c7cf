"""A run's outcome as people are alerted to it: flow-run state, exit code, artifacts, meta.runs."""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from fupin.cli import app
from fupin.core.config import Paths
from fupin.demo import write_demo
from fupin.flows import nightly as nightly_module
from fupin.flows.nightly import nightly, summary_of
from fupin.tasks.summary import create_runs_view
from tests.helpers import FIXTURES


@pytest.fixture(scope="module")
def demo_inbox(tmp_path_factory) -> Path:
    inbox = tmp_path_factory.mktemp("outcome") / "inbox"
    write_demo(inbox)
    return inbox


def one_province_missing(tmp_path: Path, demo_inbox: Path) -> Path:
    """sources.yaml: Jiangxi from the demo, Hunan from a folder that does not exist."""
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        f'sources:\n  - province: "36"\n    url: {demo_inbox / "jiangxi"}\n'
        f"  - province: 湖南\n    url: {tmp_path / 'no-such-folder'}\n",
        encoding="utf-8",
    )
    return sources


@pytest.mark.usefixtures("prefect_harness")
def test_a_failed_province_fails_the_flow_run_and_the_others_load(tmp_path, demo_inbox):
    sources = one_province_missing(tmp_path, demo_inbox)
    state = nightly(sources_file=str(sources), home=str(tmp_path / "home"), pull_retries=0, return_state=True)
    assert state.is_failed()
    assert "湖南省 43" in state.message and "no-such-folder" in state.message
    summary = summary_of(state)
    assert list(summary["failed_provinces"]) == ["43"] and summary["exit_code"] == 1
    assert {s["province_code"] for s in summary["submissions"]} == {"36"}
    assert all(s["status"] == "loaded" for s in summary["submissions"])
    with duckdb.connect(str(tmp_path / "home" / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from core.fct_fund_allocation where province_code = '36'").fetchone()[0]
    (record,) = [json.loads(p.read_text()) for p in (tmp_path / "home" / "runs").glob("*.json")]
    assert record["outcome"] == "failed" and record["failed_provinces"] == ["43"]
    assert record["run_id"] == str(state.state_details.flow_run_id)


@pytest.mark.usefixtures("prefect_harness")
def test_fupin_run_prints_the_summary_and_exits_1_when_a_province_failed(tmp_path, demo_inbox, monkeypatch):
    sources = one_province_missing(tmp_path, demo_inbox)
    monkeypatch.setattr(nightly_module, "run_nightly", functools.partial(nightly_module.run_nightly, pull_retries=0))
    result = CliRunner().invoke(app, ["run", "--sources", str(sources), "--home", str(tmp_path / "home")])
    assert result.exit_code == 1, result.output
    assert "失败 湖南省 43：报送来源 " in result.output and "no-such-folder" in result.output
    assert "收到 10 个文件" in result.output  # Jiangxi's six forms, two grant lists and two registries
    fund_line = "江西省 36  2017年罗霄山片区县民政资金下达情况表.xlsx  已入库 [loaded]：入库 17 行，退回 0 行"
    assert f"{fund_line}  资金下达 [fund_allocation]" in result.output
    assert "罗霄山片区：民政事业费" in result.output  # the figures of what did load are still printed

    # for cron: the counts and the problems only — Hunan still fails, nothing is new
    quiet = CliRunner().invoke(app, ["run", "--quiet", "--sources", str(sources), "--home", str(tmp_path / "home")])
    assert quiet.exit_code == 1, quiet.output
    lines = quiet.output.splitlines()
    assert lines[0] == "收到 0 个文件：无新报送；入库 0 行，退回 0 行 [run_counts]"
    assert lines[1].startswith("失败 湖南省 43：报送来源 ") and "no-such-folder" in quiet.output
    assert lines[1].endswith("[source_failed]")
    # no figures, but the problem that the published ones lack Hunan's counties (tests/flows/test_coverage.py)
    assert not [line for line in lines if line.startswith("罗霄山片区：")] and "fupin indicators" not in quiet.output
    assert lines[-1].endswith("[headline_incomplete]") and "罗霄山片区（17/23 县，缺湖南省 6 县）" in lines[-1]


@pytest.mark.usefixtures("prefect_harness")
def test_rejected_rows_alone_complete_the_run_with_exit_3_and_publish_artifacts(tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    folder = tmp_path / "inbox" / "jiangxi"
    folder.mkdir(parents=True)
    shutil.copy(FIXTURES / "parse" / "poverty_utf8.csv", folder / "poverty.csv")
    with open(folder / "poverty.csv", "a", encoding="utf-8") as fh:
        fh.write("遂川县,360827,2016,536326,-5,68386,3.17%\n")
    state = nightly(inbox=str(tmp_path / "inbox"), home=str(tmp_path / "home"), return_state=True)
    assert state.is_completed()
    summary = summary_of(state)
    assert summary["exit_code"] == 3 and summary["rows_rejected"] >= 1 and not summary["failed_provinces"]

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id]))
        )
    by_key = {a.key: a for a in artifacts}
    assert set(by_key) >= {"fupin-submissions", "fupin-indicators"}
    rows = by_key["fupin-submissions"].data
    rows = json.loads(rows) if isinstance(rows, str) else rows
    assert rows[0]["省份代码"] == "36" and rows[0]["状态代码"] == "partially_loaded" and rows[0]["退回行数"] >= 1
    assert rows[0]["省份"] == "江西省" and rows[0]["状态"] == "部分入库"
    assert "退回 " in by_key["fupin-indicators"].data and "[run_counts]" in by_key["fupin-indicators"].data


@pytest.mark.usefixtures("prefect_harness")
def test_meta_runs_view_lists_each_run(tmp_path, demo_inbox):
    home = tmp_path / "home"
    nightly(inbox=str(demo_inbox), home=str(home))
    nightly(inbox=str(demo_inbox), home=str(home))  # a no-op: recorded in runs/, the warehouse untouched
    with duckdb.connect(":memory:") as con:
        con.execute("create schema meta")
        create_runs_view(con, Paths.from_home(home))
        rows = con.execute("select outcome, received, ended_at >= started_at from meta.runs").fetchall()
    assert sorted(rows) == [("completed", 0, True), ("completed", 15, True)]
