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
import sqlite3
import time
from pathlib import Path

import duckdb
import pytest
from fupin.flows.nightly import nightly
from typer.testing import CliRunner

from fupin.cli import app
from tests.conftest import open_warehouse

pytestmark = pytest.mark.usefixtures("prefect_harness")

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def valid_id(body17: str) -> str:
    """An ID number with its check character (domain.md, "Resident ID numbers")."""
    return body17 + "10X98765432"[sum(int(d) * w for d, w in zip(body17, WEIGHTS, strict=True)) % 11]


IDS = [valid_id(f"43022419700101{n:03d}") for n in range(1, 9)]
NAMES = ["欧阳春晓", "司马青峰", "诸葛明月", "上官云飞", "慕容秋雨", "东方晨曦"]
# any ID-number-shaped run that is not part of a longer hex or digit run (hashes, UUIDs)
ID_LIKE = re.compile(r"(?<![0-9A-Fa-f])[0-9]{17}[0-9Xx](?![0-9A-Fa-f])")
REGISTRY_HEADER = "户编号,户主姓名,户主身份证号码,县（市、区）,乡镇,行政村,家庭人口数,脱贫状态,识别年度,脱贫年度"


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


def unescaped(text: str) -> str:
    """JSON's \\uXXXX escapes read back, however often escaped (Prefect stores a table artifact as JSON in JSON)."""
    return re.sub(r"\\+u([0-9a-fA-F]{4})", lambda m: chr(int(m[1], 16)), text)


def pii_in(text: str) -> list[str]:
    """The recipes' names and ID numbers (and any ID-number-shaped run) found in ``text``."""
    text = unescaped(text)
    return [n for n in NAMES if n in text] + [i for i in IDS if i in text] + ID_LIKE.findall(text)


def home_texts(home: Path) -> dict[str, str]:
    """Every output of the run under ``home`` but the raw archive, as text."""
    from python_calamine import CalamineWorkbook

    texts = {}
    with open_warehouse(home) as con:
        for schema, table in con.execute(
            "select schema_name, table_name from duckdb_tables() union all "
            "select schema_name, view_name from duckdb_views() where not internal"
        ).fetchall():
            texts[f"{schema}.{table}"] = repr(con.execute(f'select * from {schema}."{table}"').fetchall())
    for f in home.rglob("*"):
        if not f.is_file() or f.is_relative_to(home / "raw") or f.suffix in (".duckdb", ".lock"):
            continue
        if f.suffix == ".parquet":  # its values, not its compressed bytes
            texts[str(f)] = repr(duckdb.sql(f"select * from read_parquet('{f}')").fetchall())
        elif f.suffix == ".xlsx":
            book = CalamineWorkbook.from_path(str(f))
            texts[str(f)] = repr([book.get_sheet_by_name(n).to_python() for n in book.sheet_names])
        else:
            text = f.read_bytes().decode("utf-8", "replace")
            # the report inlines ECharts, whose minified numbers can look like an ID: its data is elsewhere
            texts[str(f)] = re.sub(r"<script[^>]*>.*?</script>", "", text, flags=re.DOTALL)
    return texts


def prefect_database_texts(flow_run_id: str | None = None, wait_seconds: float = 30.0) -> dict[str, str]:
    """Every table of the harness's Prefect database as text, once its logs and events have arrived.

    The harness keeps its database in a temporary SQLite file (PREFECT_API_DATABASE_CONNECTION_URL).
    Logs and events are sent in batches: they are flushed here, and with ``flow_run_id`` the events
    table is waited on until an event of that flow run is in it.
    """
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogHandler
    from prefect.settings import get_current_settings

    APILogHandler().flush()
    EventsWorker.drain_all(timeout=30)
    url = get_current_settings().server.database.connection_url
    url = url.get_secret_value() if hasattr(url, "get_secret_value") else str(url)
    assert url.startswith("sqlite"), f"the harness's database is SQLite: {url}"
    path = url.split(":///", 1)[1]
    deadline = time.monotonic() + wait_seconds
    while True:
        with sqlite3.connect(path, timeout=30) as db:
            tables = [t for (t,) in db.execute("select name from sqlite_master where type = 'table'")]
            texts = {  # cell by cell: repr() would double the backslashes of JSON's escapes
                f"prefect.{t}": "\n".join(
                    c.decode("utf-8", "replace") if isinstance(c, bytes) else str(c)
                    for row in db.execute(f'select * from "{t}"')
                    for c in row
                )
                for t in tables
            }
            events = (
                db.execute(
                    "select count(*) from events where resource_id = ?", [f"prefect.flow-run.{flow_run_id}"]
                ).fetchone()[0]
                if flow_run_id and "events" in tables
                else 1
            )
        if events or time.monotonic() > deadline:
            return texts
        time.sleep(1)


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
