"""Registries through the nightly flow: reconciled with the county figures, and no PII anywhere but the raw archive."""

from __future__ import annotations

import csv
import logging
import re
import shutil
from pathlib import Path

import duckdb
import pytest
from python_calamine import CalamineWorkbook

from fupin.demo import write_demo
from fupin.flows.nightly import nightly, run_nightly
from fupin.tasks.registry import reading
from tests.helpers import ID_SHAPE, legacy_pseudonym, open_warehouse, prefect_database_texts, rfc_pseudonym, unescaped


@pytest.fixture(scope="module")
def registry_inbox(tmp_path_factory):
    inbox = tmp_path_factory.mktemp("inbox")
    write_demo(inbox)  # includes the registries of 遂川县 (GB18030 CSV) and 莲花县 (XLSX)
    return inbox


@pytest.mark.usefixtures("prefect_harness")
def test_without_a_key_the_registries_are_refused_and_received_later(tmp_path, registry_inbox, monkeypatch):
    monkeypatch.delenv("FUPIN_PII_KEY", raising=False)
    home = tmp_path / "home"
    summary = run_nightly(inbox=str(registry_inbox), home=str(home))
    assert "FUPIN_PII_KEY" in summary["failed_provinces"]["36"]
    assert summary["exit_code"] == 1
    monkeypatch.setenv("FUPIN_PII_KEY", "a-test-key-not-a-secret-0123456789")
    again = nightly(inbox=str(registry_inbox), home=str(home))
    assert again["failed_provinces"] == {}
    assert again["by_status"] == {"loaded": 4}  # the two registries and the two grant lists, now that a key is set


@pytest.mark.usefixtures("prefect_harness")
def test_registries_reconcile_with_f4_f5_and_leave_no_pii(tmp_path, registry_inbox, monkeypatch, caplog):
    monkeypatch.setenv("FUPIN_PII_KEY", "a-test-key-not-a-secret-0123456789")
    home = tmp_path / "home"
    with caplog.at_level(logging.INFO):
        summary = nightly(inbox=str(registry_inbox), home=str(home))
    assert summary["exit_code"] == 0, summary
    assert summary["unreconciled"] == []
    con = open_warehouse(home)
    rec = {
        r[0]: r[1:]
        for r in con.execute(
            "select county_code, registry_poor, declared_poor, registry_lifted, declared_lifted "
            "from marts.household_reconciliation where year = 2017"
        ).fetchall()
    }
    assert rec["360827"] == (17002, 17002, 68386, 68386)
    assert rec["360321"] == (6580, 6580, 33065, 33065)

    names, ids = set(), set()
    with open(registry_inbox / "jiangxi" / "遂川县建档立卡贫困户2017.csv", encoding="gb18030") as fh:
        for row in csv.DictReader(fh):
            names.add(row["户主姓名"])
            ids.add(row["户主身份证号码"])
    grant_ids = set()
    for grant_list in (registry_inbox / "jiangxi").glob("*十百千*.xlsx"):  # names and ID numbers, as the registry's
        rows = CalamineWorkbook.from_path(str(grant_list)).get_sheet_by_index(0).to_python()
        header = [str(c) for c in rows[2]]
        for row in rows[3:]:
            if str(row[header.index("户主身份证号码")]).strip():
                names.add(str(row[header.index("户主姓名")]))
                grant_ids.add(str(row[header.index("户主身份证号码")]))
    assert len(grant_ids) == 2000  # both years' lists were in the inbox …
    loaded = "select count(*) from meta.submissions where dataset = 'household_grant' and status = 'loaded'"
    assert con.execute(loaded).fetchone()[0] == 2  # … and loaded before the scan
    id_like = re.compile(ID_SHAPE)

    cjk_run = re.compile(r"[\u4e00-\u9fff]{3,}")

    def assert_clean(text: str, where: str) -> None:
        assert not id_like.search(text), f"ID-like number in {where}"
        # every 3-character window of Chinese text, against the (3-character) names of the registry
        windows = {run[i : i + 3] for run in cjk_run.findall(text) for i in range(len(run) - 2)}
        found = sorted(windows & names)
        assert not found, f"names {found[:3]} in {where}"

    for schema, table in con.execute(
        "select schema_name, table_name from duckdb_tables() union all "
        "select schema_name, view_name from duckdb_views() where not internal"
    ).fetchall():
        assert_clean(repr(con.execute(f'select * from {schema}."{table}"').fetchall()), f"{schema}.{table}")
    con.close()
    for parquet in (home / "lake").rglob("*.parquet"):
        assert_clean(repr(duckdb.sql(f"select * from read_parquet('{parquet}')").fetchall()), str(parquet))
    for receipt in (home / "receipts").rglob("*") if (home / "receipts").exists() else []:
        if receipt.suffix == ".csv":
            assert_clean(receipt.read_text(encoding="utf-8-sig"), str(receipt))
    assert_clean(caplog.text, "the run's logs")
    for where, text in prefect_database_texts().items():  # artifacts, logs, events, task runs (issue 18, finding 6)
        assert_clean(unescaped(text), where)
    raw = home / "raw" / "36"
    assert all(p.stat().st_mode & 0o077 == 0 for p in raw.iterdir())  # raw files are the owner's alone
    shutil.rmtree(home / "lake")


@pytest.mark.usefixtures("prefect_harness")
def test_a_countys_new_registry_replaces_that_county_only(tmp_path, registry_inbox, monkeypatch):
    """Households are read from the lake; a revised 遂川 registry replaces 遂川's, 莲花 stays, as-of sees the old."""
    from fupin.demo.registry import county_registry
    from fupin.warehouse.asof import connect_as_of

    monkeypatch.setenv("FUPIN_PII_KEY", "a-test-key-not-a-secret-0123456789")
    inbox, home = tmp_path / "inbox", tmp_path / "home"
    shutil.copytree(registry_inbox, inbox)
    nightly(inbox=str(inbox), home=str(home))
    county_registry(
        inbox / "jiangxi" / "遂川县建档立卡贫困户2017（更正）.csv", "360827", "遂川县", 68000, 17500, 2017, seed=9
    )
    summary = nightly(inbox=str(inbox), home=str(home))

    assert [(u["county_code"], u["registry_poor"], u["declared_poor"]) for u in summary["unreconciled"]] == [
        ("360827", 17500, 17002)  # 2.9% off the county figure F4: listed in the run summary
    ]
    con = open_warehouse(home)
    poor = dict(
        con.execute(
            "select county_code, sum(members) from core.fct_household where status = '未脱贫' group by 1"
        ).fetchall()
    )
    assert poor == {"360827": 17500, "360321": 6580}
    versions = con.execute(
        "select county_code, valid_to is null from core.household_registry_history order by county_code, valid_from"
    ).fetchall()
    assert versions == [("360321", True), ("360827", False), ("360827", True)]
    files = [f for (f,) in con.execute("select lake_file from core.household_registry").fetchall()]
    assert len(files) == 2 and all(f.startswith("lake/household_registry/province=36/year=2017/") for f in files)
    assert all((home / f).is_file() for f in files)  # relative to the home: the warehouse can move with it
    revised_at = con.execute("select received_at from meta.submissions where file_name like '%更正%'").fetchone()[0]
    con.close()

    before = connect_as_of(home / "warehouse.duckdb", revised_at)
    assert before.execute(
        "select registry_poor from marts.household_reconciliation where county_code = '360827' and year = 2017"
    ).fetchone() == (17002,)


def test_a_warehouse_from_before_the_lake_views_keeps_its_household_table_in_the_current_shape(tmp_path):
    """fupin once kept households in a table, then read them from the lake, now keeps them in a table again: the
    oldest shape is upgraded in place (its missing columns added), not refused."""
    from fupin.warehouse.build import apply_ddl
    from fupin.warehouse.relations import relation

    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    con.execute("create schema core")
    con.execute("create table core.fct_household_history (household_key varchar)")
    con.execute("insert into core.fct_household_history values (?)", [legacy_pseudonym(b"an-old-key", "k1")])
    apply_ddl(con)
    columns = [c for (c,) in con.execute("select column_name from (describe core.fct_household_history)").fetchall()]
    assert sorted(columns) == sorted(relation("core.fct_household_history").column_names)
    # its key, 64 hex characters then, is the UUID the new code derives (migration 6; issue 28)
    assert con.execute("select household_key from core.fct_household").fetchall() == [
        (rfc_pseudonym(b"an-old-key", "k1"),)
    ]


@pytest.mark.usefixtures("prefect_harness")
def test_every_row_of_a_registry_rejected_reaches_meta_rejections(tmp_path, monkeypatch):
    """Rejections of a registry travel as Parquet: 20,000 of them load like one (two reasons taking turns: rows all
    refused for one reason would stop the file at the first 1,000, as test_a_misfiled_registry_… shows)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from fupin.demo.registry import synthetic_registry

    monkeypatch.setenv("FUPIN_PII_KEY", "a-test-key-not-a-secret-0123456789")
    source = synthetic_registry(tmp_path / "generated.csv", 20_000, province_code="36")
    table = pacsv.read_csv(source, convert_options=pacsv.ConvertOptions(strings_can_be_null=False, column_types={}))
    members = [str(m) for m in table["家庭人口数"].to_pylist()]
    status = table["脱贫状态"].to_pylist()
    for i in range(20_000):  # no member in even rows, an unknown status in odd ones
        members[i], status[i] = ("0", status[i]) if i % 2 == 0 else (members[i], "待核实")
    table = table.set_column(table.schema.get_field_index("家庭人口数"), "家庭人口数", pa.array(members))
    table = table.set_column(table.schema.get_field_index("脱贫状态"), "脱贫状态", pa.array(status))
    inbox = tmp_path / "inbox"
    (inbox / "jiangxi").mkdir(parents=True)
    pacsv.write_csv(table, inbox / "jiangxi" / "江西省建档立卡贫困户2017.csv")

    summary = run_nightly(inbox=str(inbox), home=str(tmp_path / "home"))
    assert summary["by_status"] == {"rejected": 1}
    con = open_warehouse(tmp_path / "home")
    # rows with two problems (a bad ID too) have two rejection records but count once
    assert con.execute(
        "select status, rows_total, rows_loaded, rows_rejected, message from meta.submissions"
    ).fetchall() == [
        (
            "rejected",
            20_000,
            0,
            20_000,
            "江西省建档立卡贫困户2017.csv：没有一行可以入库：请按回执更正后重新报送 [no_row_loaded]",
        )
    ]
    assert con.execute("select count(distinct row_number) from meta.rejections").fetchone() == (20_000,)
    by_field = dict(con.execute("select field, count(*) from meta.rejections group by 1").fetchall())
    assert by_field["members"] == 10_000 and by_field["status"] == 10_000
    assert con.execute(
        "select distinct reason, reason_code from meta.rejections where field = 'members'"
    ).fetchall() == [("“家庭人口数”须是 1 到 20 的整数：请填写这一户的实际人数", "members_out_of_range")]
    assert con.execute("select count(*) from core.fct_household").fetchone() == (0,)


@pytest.mark.usefixtures("prefect_harness")
def test_a_misfiled_registry_is_refused_after_its_first_1000_rows_with_one_message(tmp_path, monkeypatch):
    """Jiangxi's registry in Guizhou's folder: every county is of another province. As a form whose first 1,000 rows
    are all refused for one reason, the file is refused with one line naming the reason and the row, read no
    further; the receipt is a few lines, not two hundred thousand."""
    from fupin.demo.registry import synthetic_registry

    monkeypatch.setenv("FUPIN_PII_KEY", "a-test-key-not-a-secret-0123456789")
    inbox = tmp_path / "inbox"
    synthetic_registry(inbox / "guizhou" / "建档立卡贫困户2017.csv", 200_000, province_code="36")
    summary = run_nightly(inbox=str(inbox), home=str(tmp_path / "home"))
    assert summary["by_status"] == {"rejected": 1}
    con = open_warehouse(tmp_path / "home")
    (status, counts, code, message), *_ = con.execute(
        "select status, [rows_loaded, rows_rejected], message_code, message from meta.submissions"
    ).fetchall()
    assert (status, counts, code) == ("rejected", [0, 0], "rows_all_refused")
    assert message.startswith("建档立卡贫困户2017.csv：前 1,000 行均因同一原因被退回（第 2 行：“县（市、区）”：「")
    assert "不属于报送省份贵州省" in message and message.endswith(
        "原因代码 unknown_county）：已停止读取本文件，请按原因修改后重新报送 [rows_all_refused]"
    )
    assert con.execute("select count(*) from meta.rejections").fetchone() == (1,)
    (receipt,) = (tmp_path / "home" / "receipts" / "52").glob("*_回执.csv")
    assert receipt.stat().st_size < 4_000
    assert con.execute("select count(*) from core.fct_household").fetchone() == (0,)


def _registry_in_sheets(tmp_path: Path, target: Path) -> int:
    """莲花's registry (300 lifted, 200 poor persons) in two sheets, the second's columns reversed, and notes."""
    import xlsxwriter

    from fupin.demo.registry import county_registry

    source = tmp_path / "lianhua.csv"
    county_registry(source, "360321", "莲花县", lifted=300, poor=200, year=2017, seed=3)
    with open(source, encoding="utf-8", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    target.parent.mkdir(parents=True, exist_ok=True)
    with xlsxwriter.Workbook(str(target)) as book:
        first, second, notes = book.add_worksheet("户1"), book.add_worksheet("户2"), book.add_worksheet("填表说明")
        first.write_row(0, 0, header)
        for i, row in enumerate(rows[:100], start=1):
            first.write_row(i, 0, row)
        flipped = list(reversed(range(len(header))))
        second.write_row(0, 0, [header[j] for j in flipped])
        for i, row in enumerate(rows[100:], start=1):
            second.write_row(i, 0, [row[j] for j in flipped])
        notes.write(0, 0, "本表由乡镇扶贫办填报")
    return len(rows)


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.parametrize("reader", ["calamine", "streamed"])
def test_an_xlsx_registry_in_several_sheets_loads_every_sheet(tmp_path, monkeypatch, reader):
    """A sheet ends at 1,048,576 rows, so big registries come as several sheets: none is lost, notes are skipped —
    whether a sheet is read whole by calamine or, above STREAM_ROWS (lowered here), row by row."""
    monkeypatch.setenv("FUPIN_PII_KEY", "a-test-key-not-a-secret-0123456789")
    if reader == "streamed":
        monkeypatch.setattr(reading, "STREAM_ROWS", 50)  # both registry sheets stream, the note sheet is calamine's
    inbox = tmp_path / "inbox"
    households = _registry_in_sheets(tmp_path, inbox / "jiangxi" / "莲花县建档立卡贫困户2017.xlsx")

    summary = nightly(inbox=str(inbox), home=str(tmp_path / "home"))
    assert summary["by_status"] == {"loaded": 1}
    con = open_warehouse(tmp_path / "home")
    rows_loaded, message = con.execute("select rows_loaded, message from meta.submissions").fetchone()
    assert rows_loaded == households
    assert "工作表「户2」接续名册：回执中的行号按各表连续计算，该表第 2 行记为第 102 行" in message
    assert "已跳过工作表「填表说明」：没有名册表头" in message
    persons = dict(con.execute("select status, sum(members) from core.fct_household group by 1").fetchall())
    assert persons == {"已脱贫": 300, "未脱贫": 200}


def test_the_sheets_converted_to_csv_are_deleted_once_read(tmp_path, monkeypatch):
    """The converted CSV holds ID numbers in clear: it is gone as soon as the registry is in the lake."""
    from fupin.core.config import Paths
    from fupin.tasks.records import Outcome
    from fupin.tasks.registry import registry_outcome

    monkeypatch.setenv("FUPIN_PII_KEY", "a-test-key-not-a-secret-0123456789")
    raw = tmp_path / "raw" / "莲花县建档立卡贫困户2017.xlsx"
    households = _registry_in_sheets(tmp_path, raw)
    staging = tmp_path / "staging"
    staging.mkdir()
    rec = {"file_name": raw.name, "raw_path": str(raw), "province_code": "36", "submission_id": "36-sheets"}
    outcome = Outcome("36-sheets", "36", raw.name, "-", "2026-11-29T02:00:00+08:00", raw_path=str(raw))
    outcome = registry_outcome(outcome, rec, Paths(tmp_path / "home"), staging)
    assert (outcome.status, outcome.rows_loaded) == ("loaded", households)
    assert sorted(p.name for p in staging.iterdir()) == ["registry_rejections.parquet"]
