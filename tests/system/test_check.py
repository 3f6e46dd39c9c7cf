"""``fupin check FILE``: a dry run that says how a file would be read and what it would change, writing nothing.

Run against the session's demo home (tests/conftest.py ``demo_run``): in a second process without any Prefect
server (ephemeral mode forbidden, no API URL: a task run or a flow would fail it), and in process for the rest.
After each the demo home's warehouse is byte-identical and its file listing unchanged.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fupin.cli import app

FUPIN = [sys.executable, "-m", "fupin.cli"]
HEADER = ["年度", "行政区划代码", "县市区", "资金类别", "资金级别"]


def _listing(home: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under the home with its size and modification time."""
    return {
        str(p.relative_to(home)): (p.lstat().st_size if p.is_file() else 0, p.lstat().st_mtime_ns)
        for p in sorted(home.rglob("*"))
    }


@pytest.fixture()
def untouched(demo_run):
    """The demo home; the test fails unless the warehouse and the listing are as they were."""
    home = demo_run["home"]
    digest = hashlib.sha256((home / "warehouse.duckdb").read_bytes()).hexdigest()
    listing = _listing(home)
    yield home
    assert hashlib.sha256((home / "warehouse.duckdb").read_bytes()).hexdigest() == digest
    assert _listing(home) == listing


def _no_server_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(PREFECT_SERVER_ALLOW_EPHEMERAL_MODE="false", PREFECT_SERVER_ANALYTICS_ENABLED="false", **extra)
    return env


def _check(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*FUPIN, "check", *args], env=_no_server_env(**env), capture_output=True, text=True, timeout=600
    )


def _form(folder: Path, name: str, rows: list[list[str]], amount: str = "金额（元）") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / name, "w", encoding="gbk", newline="") as fh:
        csv.writer(fh).writerows([[*HEADER, amount], *rows])
    return folder / name


def test_a_demo_file_is_read_as_the_run_read_it_and_changes_nothing(untouched):
    form = next((untouched / "inbox" / "hunan").glob("*民政资金*.csv"))
    done = _check(str(form), "--home", str(untouched))  # the province: the inbox folder holding the file
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"检查：{form.name}（湖南省 43，更正/补报）"
    assert "数据集：资金下达 [fund_allocation]" in lines
    assert "单位：“金额（元）”：元（表头）" in lines
    assert "  “行政区划代码” → 县代码 [county_code]，同义表头，来源：表头" in lines
    assert "  “金额（元）” → 金额 [amount]，同义表头，来源：表头" in lines
    assert "读取 90 行：可入库 90 行，退回 0 行" in lines
    assert any(line.startswith("注意：与已收到的报送 43-") and "[duplicate]" in line for line in lines)
    assert "合理性检查：通过" in lines
    assert "入库后已发布指标的变化（0 项；首次发布 0 项）：" in lines
    assert lines[-1] == f"本次检查没有写入数据目录 {untouched}。"


def test_a_workbook_shows_its_title_unit_and_wide_columns(untouched):
    form = next((untouched / "inbox" / "jiangxi").glob("2017年*民政资金*.xlsx"))
    result = CliRunner().invoke(app, ["check", str(form), "--home", str(untouched)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "标题：2017年罗霄山片区县民政资金下达情况统计表（工作表「民政资金」）" in lines
    assert "单位：工作表「民政资金」：万元（表格的“单位”说明）" in lines
    assert (
        "  [民政资金] “民政事业费/中央” → 民政事业费/中央·金额 [amount_yuan[civil_affairs/central]]，宽表资金列，"
        "来源：表头" in lines
    )


def test_a_refused_file_says_why_and_exits_3(untouched, tmp_path):
    refused = tmp_path / "说明.csv"
    refused.write_text("联系人,电话\n办公室,0731-0000\n", encoding="utf-8")
    done = _check(str(refused), "--province", "湖南", "--home", str(untouched))
    assert done.returncode == 3, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "数据集：未能识别" in lines and "整份文件将被退回 [rejected]" in lines
    assert "  “联系人” → （未识别），未识别，来源：表头" in lines
    assert any(
        line.startswith("  整份文件 / - / - / 说明.csv：无法从表头识别是哪一种报表")
        and line.endswith("dataset_unrecognised")
        for line in lines
    )
    assert "结论：有行或整份文件将被退回，请按上面的原因更正 [check_rejected]" in lines


def test_an_id_number_in_the_file_name_or_title_is_shown_masked(untouched, tmp_path):
    refused = tmp_path / "张三３６０８２７ １９９００１０１１２３４说明.csv"
    title = "经办人张三３６０８２７１９９００１０１１２３４"
    refused.write_text(f"{title}\n联系人,电话\n办公室,0731-0000\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["check", str(refused), "--province", "43", "--home", str(untouched)])
    assert result.exit_code == 3, result.output
    assert "检查：张三360827************说明.csv（湖南省 43，更正/补报）" in result.output.splitlines()
    assert "标题：经办人张三360827************" in result.output.splitlines()
    assert "19900101" not in result.output and "１９９０" not in result.output


def test_a_few_percent_correction_lists_the_figures_it_moves(untouched, tmp_path):
    form = _form(
        tmp_path, "湖南2017年资金更正.csv", [["2017", "430224", "茶陵县", "民政事业费", "中央", "74278818.17"]]
    )
    result = CliRunner().invoke(app, ["check", str(form), "--province", "43", "--home", str(untouched)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "合理性检查：通过" in lines and "结论：可全部入库 [check_loads]" in lines
    assert "入库后已发布指标的变化（6 项；首次发布 0 项）：" in lines
    assert "  罗霄山片区 [luoxiao] 民政事业费 [civil_affairs_funds] 2017：34.19亿元 → 34.21亿元（+0.06%）" in lines
    assert (
        "  罗霄山片区 [luoxiao] 民政事业费年均增长 [civil_affairs_funds_growth] 2015-2017：24.00% → 24.04%"
        "（+0.04 个百分点）" in lines
    )


def test_a_unit_slip_and_a_bad_cell_are_held_and_rejected(untouched, tmp_path):
    form = _form(
        tmp_path,
        "湖南2017年资金更正.csv",
        [
            ["2017", "430224", "茶陵县", "民政事业费", "中央", "72115357.45"],  # yuan under a 万元 header
            ["2017", "430225", "炎陵县", "彩票公益金", "省级", "三十万"],
        ],
        amount="金额（万元）",
    )
    result = CliRunner().invoke(app, ["check", str(form), "--province", "hunan", "--home", str(untouched), "--json"])
    assert result.exit_code == 3, result.output
    found = json.loads(result.output)
    assert found["exit_code"] == 3 and (found["rows_loaded"], found["rows_rejected"]) == (1, 1)
    assert found["rejections"] == [
        {
            "row_number": 3,
            "column": "金额（万元）",
            "value": "三十万",
            "reason": "“金额（万元）”应为数字，填写的是「三十万」：请只填写数字（如 1234.56），单位写在表头",
            "code": "not_a_number",
        }
    ]
    assert found["held"].startswith("暂缓入库，待人工确认 [held_unit_error]：")
    assert "茶陵县（430224）民政事业费·中央金额将由 7,211.54万元 增至 72,115,357.45万元" in found["held"]
    luoxiao_2017 = next(
        c
        for c in found["changes"]
        if (c["indicator"], c["scope_code"], c["period"]) == ("civil_affairs_funds", "luoxiao", "2017")
    )
    assert float(luoxiao_2017["after"]) - float(luoxiao_2017["before"]) == pytest.approx(721153574500 - 72115357.45)

    lines = CliRunner().invoke(app, ["check", str(form), "--province", "hunan", "--home", str(untouched)]).output
    assert "  第 3 行 / 金额（万元） / 三十万 / “金额（万元）”应为数字" in lines
    assert "确认入库后已发布指标的变化（6 项；首次发布 0 项）：" in lines
    assert "结论：将暂缓入库，待人工确认（fupin approve / discard） [check_held]" in lines


def test_without_a_province_or_a_key_it_says_what_to_do(untouched, tmp_path):
    form = _form(tmp_path, "资金.csv", [["2017", "430224", "茶陵县", "民政事业费", "中央", "1.00"]])
    unknown = CliRunner().invoke(app, ["check", str(form), "--home", str(untouched)])
    assert (
        unknown.exit_code == 1 and "请用 --province 指明" in unknown.output and "[province_required]" in unknown.output
    )
    missing = CliRunner().invoke(app, ["check", str(tmp_path / "无.csv"), "--province", "43", "--home", str(untouched)])
    assert missing.exit_code == 1 and "[file_not_found]" in missing.output
    registry = next((untouched / "inbox" / "jiangxi").glob("遂川县建档立卡*.csv"))
    keyless = _check(str(registry), "--home", str(untouched), FUPIN_PII_KEY="", FUPIN_PII_KEY_BLOCK="")
    assert keyless.returncode == 1 and "[pii_key_missing]" in keyless.stderr, keyless.stdout + keyless.stderr
