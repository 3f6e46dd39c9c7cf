"""Scale-out: the nightly flow on a Dask cluster of two worker processes builds the same warehouse."""

from __future__ import annotations

import duckdb
import pytest

from fupin.demo import write_demo
from fupin.flows.nightly import run_nightly

COMPARED = (
    "marts.indicators",
    "core.fct_fund_allocation",
    "core.fct_poverty_status",
    "core.fct_social_org_project",
    "core.fct_training",
    "meta.rejections",
)


@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0") as cluster:
        yield cluster


@pytest.mark.slow
def test_dask_runner_builds_the_same_warehouse_as_the_thread_pool(tmp_path, demo_run, dask_cluster):
    write_demo(tmp_path / "inbox")
    summary = run_nightly(dask_cluster.scheduler_address, inbox=str(tmp_path / "inbox"), home=str(tmp_path))
    assert summary["exit_code"] == demo_run["summary"]["exit_code"] == 0
    assert summary["received"] == demo_run["summary"]["received"]
    with duckdb.connect(":memory:") as con:
        con.execute(f"attach '{demo_run['home'] / 'warehouse.duckdb'}' as threads (read_only)")
        con.execute(f"attach '{tmp_path / 'warehouse.duckdb'}' as dask (read_only)")
        for table in COMPARED:
            rows = con.execute(f"select count(*) from threads.{table}").fetchone()[0]
            assert rows > 0 or table == "meta.rejections", table
            for a, b in (("threads", "dask"), ("dask", "threads")):
                extra = con.execute(
                    f"select count(*) from (select * from {a}.{table} except all select * from {b}.{table})"
                ).fetchone()[0]
                assert extra == 0, f"{table}: {extra} rows only in the {a} warehouse"
        funds = con.execute(
            "select value from dask.marts.indicators "
            "where indicator = 'civil_affairs_funds' and scope_code = 'luoxiao' and period = '2015-2017'"
        ).fetchone()[0]
    assert funds == pytest.approx(84e8, rel=0.01)


def test_dask_local_is_a_task_runner_choice():
    from prefect_dask import DaskTaskRunner

    from fupin.flows.nightly import task_runner_for

    assert isinstance(task_runner_for("local"), DaskTaskRunner)
    assert task_runner_for("tcp://127.0.0.1:8786").address == "tcp://127.0.0.1:8786"
    assert type(task_runner_for(None)).__name__ == "ThreadPoolTaskRunner"
