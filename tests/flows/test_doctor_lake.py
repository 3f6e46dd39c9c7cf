"""`fupin doctor` checks the lake partitions the warehouse's facts came from: a rebuild or a recovery reads them
again, so a deleted one is named (partition, dataset, province, year, a file) with what to do."""

from __future__ import annotations

import shutil

import duckdb
import pytest
from typer.testing import CliRunner

from fupin.cli import app


def doctor(home):
    return CliRunner().invoke(app, ["doctor", "--home", str(home)])


@pytest.fixture()
def home(demo_home_copy):
    (demo_home_copy / "warehouse.duckdb").chmod(0o600)
    demo_home_copy.chmod(0o700)
    return demo_home_copy


def _lake_file(home, dataset: str, province: str, year: int) -> str:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        table = "core.household_registry_history" if dataset == "household_registry" else f"core.fct_{dataset}_history"
        (sid,) = con.execute(
            f"select min(submission_id) from {table} where province_code = ? and year = ?", [province, year]
        ).fetchone()
    return f"{sid}.parquet"


def test_a_healthy_homes_lake_has_every_partition(home):
    result = doctor(home)
    assert result.exit_code == 0, result.output
    assert "lake_partition_missing" not in result.output


def test_a_deleted_fund_partition_is_named_with_what_to_do(home):
    name = _lake_file(home, "fund_allocation", "36", 2016)
    shutil.rmtree(home / "lake" / "fund_allocation" / "province=36" / "year=2016")
    result = doctor(home)
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if "[lake_partition_missing]" in line]
    assert lines == [
        "错误 [lake_partition_missing] 湖分区 lake/fund_allocation/province=36/year=2016（资金下达，江西省 2016 年）"
        f"缺少 1 个报送的文件（如 {name}）：仓库里的这些数据只剩这一份，重建仓库（rebuild-warehouse）或仓库损坏后的"
        '恢复会丢失它们；请从备份恢复该目录，或运行 backfill（provinces=["36"]，years=[2016]）从原始档案重新处理'
    ]


def test_a_deleted_registry_and_a_ministry_partition_are_each_named(home):
    registry = home / "lake" / "household_registry" / "province=36" / "year=2017"
    removed = sorted(registry.glob("*.parquet"))[0]
    removed.unlink()
    shutil.rmtree(home / "lake" / "social_service_project" / "province=00")
    result = doctor(home)
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if "[lake_partition_missing]" in line]
    assert len(lines) == 3  # the registry's 2017, the Ministry's projects of 2017 and of 2018
    assert "lake/household_registry/province=36/year=2017（建档立卡户名册，江西省 2017 年）" in lines[0]
    assert f"如 {removed.name}" in lines[0]
    ministry = (
        "lake/social_service_project/province=00/year=2017（中央财政支持社会组织参与社会服务项目，民政部 2017 年）"  # noqa: E501
    )
    assert ministry in lines[1]
    assert 'backfill（provinces=["00"]，years=[2018]）' in lines[2]
    # the households are in the warehouse: still read, whatever the lake holds
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from core.fct_household").fetchone()[0] == 27744
