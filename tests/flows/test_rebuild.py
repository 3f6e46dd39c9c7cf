"""The lake and the ledger are the source of truth: rebuild reproduces the warehouse; backfill re-processes."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from fupin.flows.backfill import backfill
from fupin.flows.nightly import summary_of
from fupin.flows.rebuild import rebuild_warehouse
from tests.helpers import indicator, ledger_row, send_fund_form


@pytest.fixture()
def home(tmp_path, demo_run):
    """A copy of the demo run's home, so the shared one stays as it is."""
    target = tmp_path / "home"
    shutil.copytree(demo_run["home"], target, ignore=shutil.ignore_patterns("inbox", "runs"))
    return target


def test_rebuild_from_the_lake_reproduces_the_warehouse(home):
    state = rebuild_warehouse(home=str(home), return_state=True)
    assert state.is_completed(), state.message
    report = state.result()
    assert report["identical"] and report["submissions"] == 15
    with duckdb.connect(report["rebuilt"], read_only=True) as con:
        assert indicator(con, "civil_affairs_funds", "luoxiao", "2015-2017") == pytest.approx(84e8, rel=0.01)


def test_rebuild_reads_lake_files_written_before_a_key_column_existed(home):
    """Trainings' lake files from before prefecture_code (part of their key) replay with it null."""
    import pyarrow.parquet as pq

    older = 0
    for path in (home / "lake" / "training").rglob("*.parquet"):
        table = pq.read_table(path)
        if table.column("prefecture_code").null_count == table.num_rows:
            pq.write_table(table.drop_columns(["prefecture_code"]), path)
            older += 1
    assert older >= 2  # Jiangxi's and Hunan's 2016 trainings
    state = rebuild_warehouse(home=str(home), return_state=True)
    assert state.is_completed(), state.message
    assert state.result()["identical"]


def test_rebuild_notices_a_lost_lake_file(home):
    (lost,) = list((home / "lake" / "fund_allocation" / "province=36" / "year=2016").glob("*.parquet"))
    lost.unlink()
    state = rebuild_warehouse(home=str(home), replace=True, return_state=True)
    assert state.is_failed() and "core.fct_fund_allocation" in state.message
    assert summary_of(state)["replaced"] is False


def test_backfill_reprocesses_one_province_and_year_from_the_archive(home):
    before = home.joinpath("warehouse.duckdb").stat().st_mtime_ns
    summary = summary_of(backfill(provinces=["jiangxi"], years=[2016], home=str(home), return_state=True))
    assert summary["exit_code"] == 0
    assert summary["received"] >= 1 and {s["province_code"] for s in summary["submissions"]} == {"36"}
    assert home.joinpath("warehouse.duckdb").stat().st_mtime_ns != before
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert indicator(con, "civil_affairs_funds", "luoxiao", "2015-2017") == pytest.approx(84e8, rel=0.01)
        assert con.execute("select count(*) from meta.submissions").fetchone()[0] == 15
    assert rebuild_warehouse(home=str(home), return_state=True).is_completed()


def test_rebuild_replays_corrections_held_approved_and_discarded_submissions(home):
    from fupin.flows.decide import approve, discard

    raw = next((home / "raw" / "43").glob("*.csv"))
    send_fund_form(home, "湖南2017年资金更正.csv", [["2017", "430224", "茶陵县", "民政事业费", "中央", "72215357.45"]])
    send_fund_form(home, "湖南2017年资金全量.csv", [["2017", "430224", "茶陵县", "民政事业费", "中央", "1.00"]])
    approve(submission_id=ledger_row(home, "湖南2017年资金全量.csv")[0], by="tester", home=str(home))
    send_fund_form(home, "湖南2016年资金全量.csv", [["2016", "430224", "茶陵县", "民政事业费", "中央", "1.00"]])
    discard(submission_id=ledger_row(home, "湖南2016年资金全量.csv")[0], reason="误报", home=str(home))
    assert raw.exists()
    state = rebuild_warehouse(home=str(home), return_state=True)
    assert state.is_completed(), state.message
    report = state.result()
    assert report["identical"], report["differences"]
    with duckdb.connect(report["rebuilt"], read_only=True) as con:
        assert con.execute("select count(*) from meta.decisions").fetchone()[0] == 2
        facts = con.execute(
            "select count(*), sum(amount_yuan) from core.fct_fund_allocation where province_code = '43' and year = 2017"
        ).fetchone()
        assert facts == (1, 1)  # the approved full resubmission holds the whole of Hunan's 2017


def _damage(warehouse, where: float) -> None:
    """Random bytes in the middle of the file, and its header zeroed so that no open succeeds (issue 18, #11)."""
    import os

    data = bytearray(warehouse.read_bytes())
    at = int(len(data) * where)
    data[at : at + 65536] = os.urandom(min(65536, len(data) - at))
    data[:4096] = bytes(4096)
    warehouse.write_bytes(bytes(data))


@pytest.mark.parametrize("where", [0.4, 0.9], ids=["at_40_percent", "at_90_percent"])
def test_a_damaged_warehouse_is_set_aside_and_rebuilt_by_the_next_run(home, where):
    from fupin.flows.decide import approve
    from fupin.flows.nightly import nightly

    send_fund_form(home, "湖南2017年资金全量.csv", [["2017", "430224", "茶陵县", "民政事业费", "中央", "1.00"]])
    approve(submission_id=ledger_row(home, "湖南2017年资金全量.csv")[0], by="tester", home=str(home))
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        before = con.execute("select * from marts.indicators order by all").fetchall()
        changes = con.execute("select count(*) from marts.indicator_changes").fetchone()[0]
    _damage(home / "warehouse.duckdb", where)

    (home / "no-new-files" / "hunan").mkdir(parents=True)
    summary = nightly(inbox=str(home / "no-new-files"), home=str(home))  # nothing new arrives
    # the approved full resubmission left Hunan's 2017 with 茶陵县 alone: the rebuilt figures lack 5 counties, and
    # the run says so (exit 3), as the run before the damage did
    assert summary["exit_code"] == 3 and list(summary["data_tests_failed"]) == ["assert_headline_figures_complete"]
    assert len(list(home.glob("warehouse.duckdb.damaged-*"))) == 1  # set aside, never deleted
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select * from marts.indicators order by all").fetchall() == before
        assert con.execute("select decided_by from meta.decisions").fetchall() == [("tester",)]
        assert con.execute("select count(*) from marts.indicator_changes").fetchone()[0] == changes
        assert con.execute("select count(*) from meta.submissions").fetchone()[0] == 16


def test_rebuild_warehouse_recovers_a_damaged_one(home):
    _damage(home / "warehouse.duckdb", 0.4)
    state = rebuild_warehouse(home=str(home), return_state=True)
    assert state.is_completed(), state.message
    assert "[warehouse_rebuilt]" in state.message
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert indicator(con, "civil_affairs_funds", "luoxiao", "2015-2017") == pytest.approx(84e8, rel=0.01)
