"""Issue 18, finding 6 (names and ID numbers echoed): the PII scan over every output of a run.

The registry recipes of finding 6 — a household registry sent without its header row (CSV and XLSX),
registry rows with an ID number typed into another column, a form with an ID number in a value — go
through one nightly run. Then no name and no ID number of theirs may be found anywhere but the raw
archive: the warehouse (every table and view), the lake, the ledger file, the run records, receipts
(CSV and XLSX), the report, staging, the run's log, what `fupin submissions` prints, and Prefect's own
database (artifacts, logs, events, task-run parameters and states).
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fupin.cli import app
from fupin.flows.nightly import nightly
from tests.helpers import REGISTRY_HEADER, home_texts, open_warehouse, prefect_database_texts, unescaped, valid_id

pytestmark = pytest.mark.usefixtures("prefect_harness")


IDS = [valid_id(f"43022419700101{n:03d}") for n in range(1, 9)]
NAMES = ["欧阳春晓", "司马青峰", "诸葛明月", "上官云飞", "慕容秋雨", "东方晨曦"]
# any ID-number-shaped run that is not part of a longer hex or digit run (hashes, UUIDs)
ID_LIKE = re.compile(r"(?<![0-9A-Fa-f])[0-9]{17}[0-9Xx](?![0-9A-Fa-f])")


def write_recipes(inbox: Path) -> None:
    """The finding's recipes, as a clerk would send them."""
    import xlsxwriter

    hunan = inbox / "hunan"
    hunan.mkdir(parents=True)
    (hunan / "茶陵县建档立卡贫困户2017.csv").write_text(  # no header row
        f"4302240000001,{NAMES[0]},{IDS[0]},茶陵县,城关镇,东村,3,已脱贫,2014,2016\n"
        f"4302240000002,{NAMES[1]},{IDS[1]},茶陵县,城关镇,西村,2,未脱贫,2015,\n",
        encoding="utf-8",
    )
    with xlsxwriter.Workbook(str(hunan / "炎陵县建档立卡贫困户2017.xlsx")) as book:  # no header row either
        sheet = book.add_worksheet("户")
        sheet.write_row(0, 0, ["4302250000001", NAMES[2], IDS[2], "炎陵县", "城关镇", "北村", 3, "已脱贫", 2014, 2016])
        sheet.write_row(1, 0, ["4302250000002", NAMES[3], IDS[3], "炎陵县", "城关镇", "北村", 2, "未脱贫", 2015])
    (hunan / "攸县建档立卡贫困户2017.csv").write_text(  # an ID number typed into the village and county columns
        REGISTRY_HEADER + "\n"
        f"4302230000001,{NAMES[4]},{IDS[4]},攸县,城关镇,{IDS[6]},3,已脱贫,2014,2016\n"
        f"4302230000002,{NAMES[5]},{IDS[5]},{IDS[7]},城关镇,南村,2,未脱贫,2015,\n",
        encoding="utf-8",
    )
    (hunan / "2016年培训.csv").write_text(  # a form with an ID number in a value
        "年度,培训项目,县（市、区）,期数,培训人数,其中建档立卡贫困人员,培训后就业人数\n"
        "2016,养老护理职业技能培训,茶陵县,1,137,72,109\n"
        f"2016,{IDS[6]},炎陵县,1,120,55,95\n",
        encoding="utf-8",
    )


def pii_in(text: str) -> list[str]:
    """The recipes' names and ID numbers (and any ID-number-shaped run) found in ``text``."""
    text = unescaped(text)
    return [n for n in NAMES if n in text] + [i for i in IDS if i in text] + ID_LIKE.findall(text)


def test_the_registry_recipes_leave_no_name_or_id_number_anywhere(tmp_path, caplog):
    from prefect.client.orchestration import get_client

    write_recipes(tmp_path / "inbox")
    home = tmp_path / "home"
    with caplog.at_level(logging.INFO):
        summary = nightly(inbox=str(tmp_path / "inbox"), home=str(home))
    assert summary["failed_provinces"] == {}

    with open_warehouse(home) as con:
        ledger = dict(con.execute("select file_name, status from meta.submissions").fetchall())
        messages = dict(con.execute("select file_name, message from meta.submissions").fetchall())
        villages = sorted(v for (v,) in con.execute("select village from core.fct_household").fetchall())
    assert ledger == {
        "茶陵县建档立卡贫困户2017.csv": "rejected",
        "炎陵县建档立卡贫困户2017.xlsx": "rejected",
        "攸县建档立卡贫困户2017.csv": "rejected",  # both of its rows name an ID number elsewhere
        "2016年培训.csv": "partially_loaded",
    }
    assert "[registry_no_header]" in messages["茶陵县建档立卡贫困户2017.csv"]
    assert "[registry_no_header]" in messages["炎陵县建档立卡贫困户2017.xlsx"]
    assert villages == []

    cli = CliRunner()
    printed = {"fupin submissions": cli.invoke(app, ["submissions", "--home", str(home)]).output}
    with open_warehouse(home) as con:
        for (submission_id,) in con.execute("select submission_id from meta.submissions").fetchall():
            printed[f"fupin submissions --id {submission_id}"] = cli.invoke(
                app, ["submissions", "--home", str(home), "--id", submission_id]
            ).output
    assert "[registry_no_header]" in printed["fupin submissions"] or "茶陵县" in printed["fupin submissions"]

    flow_run_id = None
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(sort="START_TIME_DESC", limit=1)
        flow_run_id = str(runs[0].id) if runs else None
    prefect = prefect_database_texts(flow_run_id)
    # the scan reads what it should: the run's artifact lists the files, the events table holds its events
    assert "茶陵县建档立卡贫困户2017.csv" in unescaped(prefect["prefect.artifact"])
    assert flow_run_id in prefect["prefect.events"]
    texts = {**home_texts(home), **printed, "the run's log": caplog.text, **prefect}
    assert {"meta.rejections", "meta.submissions", "prefect.artifact", "prefect.log", "prefect.events"} <= set(texts)
    found = {where: pii_in(text) for where, text in texts.items() if pii_in(text)}
    assert found == {}, json.dumps(found, ensure_ascii=False, indent=1)
