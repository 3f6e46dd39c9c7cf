"""`fupin submissions` filters by status, province (code or Chinese name) and date, combined, shows each file's
kind (更正/全量) and time received under Chinese headers, and prints JSON (issue 27)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from fupin.cli import app


def _json(home, *options: str) -> list[dict]:
    result = CliRunner().invoke(app, ["submissions", "--json", "--home", str(home), *options])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_filters_combine_and_print_json(demo_run):
    home = demo_run["home"]
    every = _json(home)
    assert len(every) == 15 and {r["province_code"] for r in every} == {"00", "36", "43"}
    hunan = _json(home, "--province", "湖南")
    assert [r["file_name"] for r in hunan] == [r["file_name"] for r in every if r["province_code"] == "43"]
    assert len(hunan) == 3 and _json(home, "--province", "43") == hunan == _json(home, "--province", "湖南省")
    first = hunan[0]
    assert first["province_name"] == "湖南省" and first["kind"] == "correction" and first["kind_name"] == "更正/补报"
    assert first["status"] == "loaded" and first["status_name"] == "已入库" and first["received_at"].startswith("20")
    assert _json(home, "--province", "hunan", "--status", "loaded") == hunan
    assert _json(home, "--province", "湖南", "--status", "held") == []
    assert _json(home, "--status", "暂缓入库") == [] and len(_json(home, "--status", "已入库")) == 15
    assert _json(home, "--since", "2999-01-01") == []
    jiangxi = [r for r in every if r["province_code"] == "36"]
    assert _json(home, "--since", "2000-01-01", "--province", "江西") == jiangxi


def test_the_table_has_chinese_headers_with_kind_and_time_received(demo_run):
    result = CliRunner().invoke(app, ["submissions", "--province", "43", "--home", str(demo_run["home"])])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "报送台账（3）" in text
    for header in ("编号", "省份", "文件", "数据集", "类别", "状态", "接收时间", "入库行数"):
        assert header in text
    assert "更正/补报" in text and "湖南省罗霄山片区民政资金2015-2017.csv" in text and "江西省" not in text


def test_a_province_or_status_not_known_is_one_chinese_line(demo_run):
    home = str(demo_run["home"])
    province = CliRunner().invoke(app, ["submissions", "--province", "火星", "--home", home])
    assert province.exit_code == 1 and "没有这个省份：火星" in province.output
    assert "[unknown_province]" in province.output
    status = CliRunner().invoke(app, ["submissions", "--status", "lost", "--home", home])
    assert status.exit_code == 1 and "没有这个状态：lost" in status.output
    assert "held（暂缓入库，待确认）" in status.output
    since = CliRunner().invoke(app, ["submissions", "--since", "yesterday", "--home", home])
    assert since.exit_code == 1 and "[moment_invalid]" in since.output and "--since" in since.output
