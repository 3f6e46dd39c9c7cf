"""The morning view (issue 14): the report's banner and `fupin status` tell the operator what failed, what is
held and who is late — for a real run with a province whose source is down and a registry without a key."""

from __future__ import annotations

import json
import shutil
import socket

import pytest
from typer.testing import CliRunner

from fupin.cli import app
from fupin.demo import write_demo
from fupin.flows.nightly import nightly, summary_of
from tests.helpers import ROOT


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def morning(prefect_harness, tmp_path_factory) -> dict:
    """A nightly run: Jiangxi and Hunan from the demo, 广东's source down, no pseudonymisation key."""
    home = tmp_path_factory.mktemp("morning")
    write_demo(home / "inbox")
    (home / "config").mkdir()
    shutil.copy(ROOT / "warehouse" / "seeds" / "calendar.demo.yaml", home / "config" / "calendar.yaml")
    sources = home / "sources.yaml"
    sources.write_text(
        "sources:\n"
        f"  - {{province: 江西, url: {home / 'inbox' / 'jiangxi'}}}\n"
        f"  - {{province: 湖南, url: {home / 'inbox' / 'hunan'}}}\n"
        f"  - {{province: 广东, url: 'http://127.0.0.1:{_closed_port()}/inbox/'}}\n",
        encoding="utf-8",
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("FUPIN_PII_KEY", raising=False)
        mp.delenv("FUPIN_PII_KEY_FILE", raising=False)
        state = nightly(
            sources_file=str(sources), home=str(home), pull_retries=0, source_timeout_seconds=3, return_state=True
        )
    return {"home": home, "state": state, "summary": summary_of(state)}


def test_a_failed_run_ends_failed_naming_every_province_and_file(morning):
    assert morning["state"].is_failed()
    message = morning["state"].message
    assert "广东省 44" in message and "江西省 36" in message
    assert "遂川县建档立卡贫困户2017.csv" in message and "莲花县建档立卡贫困户2017.xlsx" in message


def test_the_reports_banner_names_the_failures_and_the_late_and_a_second_report_keeps_them(morning):
    home = morning["home"]
    page = next((home / "reports").glob("*.html")).read_text(encoding="utf-8")
    banner = page[page.index('<div class="banner"') : page.index("</div>", page.index('<div class="banner"'))]
    assert "失败</b> 广东省" in banner and "失败</b> 江西省" in banner and "遂川县建档立卡贫困户2017.csv" in banner
    assert "迟报与未报" in banner
    # the headline block opens the page; what needs someone follows it, before the charts, and the block points to it
    assert page.index('id="headline"') < page.index('id="banner"') < page.index('id="funds"')
    assert 'class="todo" href="#banner">今日需要处理' in page[page.index('id="headline"') : page.index('id="banner"')]
    assert "湖南省" in page[page.index('id="late"') : page.index('id="submissions"')]

    rebuilt = CliRunner().invoke(app, ["report", "--home", str(home)])
    assert rebuilt.exit_code == 0, rebuilt.output
    again = next((home / "reports").glob("*.html")).read_text(encoding="utf-8")
    assert "失败</b> 广东省" in again and "失败</b> 江西省" in again
    assert (
        again.count("2015年罗霄山片区县民政资金下达情况表.xlsx")
        == page.count("2015年罗霄山片区县民政资金下达情况表.xlsx")
        >= 1
    )


def test_fupin_status_lists_the_late_and_missing_in_chinese(morning):
    result = CliRunner().invoke(app, ["status", "--home", str(morning["home"])])
    assert result.exit_code == 0, result.output
    assert "湖南省" in result.output and "社会组织扶贫项目" in result.output and "未报" in result.output
    assert "已报送" in result.output  # the counts line
    everything = CliRunner().invoke(app, ["status", "--all", "--json", "--home", str(morning["home"])])
    rows = json.loads(everything.output)
    statuses = {(r["province_code"], r["dataset"], r["period"]): r["status"] for r in rows}
    assert statuses[("43", "social_org_project", 2018)] == "missing"
    assert statuses[("36", "fund_allocation", 2017)] == "received"
    assert statuses[("43", "fund_allocation", 2016)] == "received"


def test_task_runs_read_like_the_work(morning):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    flow_run_id = morning["state"].state_details.flow_run_id
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    names = {r.name for r in runs}
    assert "pull 广东省" in names and "pull 江西省" in names
    assert "parse 湖南省 湖南省罗霄山片区民政资金2015-2017.csv" in names
    assert "validate 江西省 2017年罗霄山片区县民政资金下达情况表.xlsx" in names


def _run_logs(flow_run_id) -> list:
    """Every log line of the flow run and its task runs, as Prefect stored them."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=30)  # the run's last lines may still wait in the batching worker
    logs, offset = [], 0
    with get_client(sync_client=True) as client:
        while page := client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])), limit=200, offset=offset
        ):
            logs += page
            offset += len(page)
    return logs


def test_the_flow_run_logs_one_summary_line_per_province(morning):
    logs = _run_logs(morning["state"].state_details.flow_run_id)
    lines = [log.message for log in logs if log.message.startswith("province ") and "files" in log.message]
    assert len(lines) == 3, lines
    by_code = {line.split("(")[1].split(")")[0]: line for line in lines}
    assert by_code["44"].startswith("province 广东省 (44): failed; 0 files, 0 rows loaded, 0 rejected; failed: ")
    jiangxi = by_code["36"]
    assert jiangxi.startswith("province 江西省 (36): failed; 6 files (6 loaded), ")
    assert "遂川县建档立卡贫困户2017.csv" in jiangxi and "莲花县建档立卡贫困户2017.xlsx" in jiangxi
    assert "[pii_key_missing]" in jiangxi
    hunan_rows = sum(s["rows_loaded"] for s in morning["summary"]["submissions"] if s["province_code"] == "43")
    assert by_code["43"] == f"province 湖南省 (43): ok; 3 files (3 loaded), {hunan_rows} rows loaded, 0 rejected"


def test_handled_failures_are_logged_without_tracebacks(morning):
    logs = _run_logs(morning["state"].state_details.flow_run_id)
    errors = [log.message for log in logs if log.level >= 40]
    # the registries without a key and 广东's source: each failure still logged, but as one line, no traceback
    assert any("MissingKeyError" in m and "遂川县建档立卡贫困户2017.csv" not in m for m in errors)
    assert any("广东省 44：报送来源 " in m and m.endswith("[source_failed]") for m in errors)
    assert not [m for m in errors if "Traceback" in m]


def test_a_registry_waiting_for_its_key_says_what_to_do_in_chinese(morning):
    reason = morning["summary"]["failed_provinces"]["36"]
    # both grant lists and both registries named once, with one message: the code, and the three ways to give the key
    assert reason.startswith(
        "2017年“十百千”帮扶行动资金发放花名册.xlsx、2018年“十百千”帮扶行动资金发放花名册.xlsx、"
        "莲花县建档立卡贫困户2017.xlsx、遂川县建档立卡贫困户2017.csv: 含身份证号码的名册等待假名化密钥"
    )
    for needed in ("[pii_key_missing]", "FUPIN_PII_KEY", "FUPIN_PII_KEY_FILE", "fupin-pii-key", "重新运行"):
        assert needed in reason
    assert "MissingKeyError" not in reason and "Traceback" not in reason
    assert "[pii_key_missing]" in morning["state"].message
    page = next((morning["home"] / "reports").glob("*.html")).read_text(encoding="utf-8")
    assert "含身份证号码的名册等待假名化密钥 [pii_key_missing]" in page and "遂川县建档立卡贫困户2017.csv" in page


def test_fupin_submissions_lists_the_files_waiting_for_the_key(morning):
    result = CliRunner().invoke(app, ["submissions", "--home", str(morning["home"])])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "等待密钥（尚未入台账）：江西省" in text and "[pii_key_missing]" in text
    assert "遂川县建档立卡贫困户2017.csv" in text and "已入库" in text and "湖南省" in text


def test_the_reporting_calendar_is_a_table_artifact_with_chinese_headers(morning):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

    flow_run_id = morning["state"].state_details.flow_run_id
    with get_client(sync_client=True) as client:
        (artifact,) = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]),
                key=ArtifactFilterKey(any_=["fupin-submission-status"]),
            )
        )
    assert artifact.type == "table"
    rows = json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data
    headers = {"省份", "省份代码", "数据集", "期间", "截止日期", "状态", "状态代码", "逾期天数", "最近收到"}
    assert set(rows[0]) == headers
    by_key = {(r["省份"], r["数据集"], r["期间"]): r for r in rows}
    missing = by_key[("湖南省", "社会组织扶贫项目", 2018)]
    assert missing["状态"] == "未报" and missing["状态代码"] == "missing" and missing["逾期天数"] > 0
    received = by_key[("江西省", "资金下达", 2017)]
    assert received["状态"] == "已报送" and received["最近收到"]
    assert rows[0]["状态代码"] in ("failed", "held", "missing", "late")  # what needs someone first
    # the same rows `fupin status --all` prints for that home
    shown = CliRunner().invoke(app, ["status", "--all", "--json", "--home", str(morning["home"])])
    assert len(json.loads(shown.output)) == len(rows)
