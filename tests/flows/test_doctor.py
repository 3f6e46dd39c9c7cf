"""Issue 18, findings 11 and 12 (last item): `fupin doctor` says what is wrong with a home, one line each;
a damaged warehouse or a stale WAL gives one-line errors, never a traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys

import duckdb
import pytest
from typer.testing import CliRunner

from fupin.cli import app
from tests.helpers import ROOT


def doctor(home):
    return CliRunner().invoke(app, ["doctor", "--home", str(home)])


@pytest.fixture()
def home(demo_home_copy):
    (demo_home_copy / "warehouse.duckdb").chmod(0o600)
    demo_home_copy.chmod(0o700)
    return demo_home_copy


def test_a_healthy_home_is_ok(home):
    result = doctor(home)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "一切正常 [ok]"


def test_permissions_of_the_raw_archive_and_the_key(home):
    (home / "raw" / "43").mkdir(parents=True)
    (home / "raw" / "43" / "abc.csv").write_text("身份证号\n")
    (home / "raw" / "43" / "abc.csv").chmod(0o644)
    (home / ".pii_key").write_text("k" * 32)
    (home / ".pii_key").chmod(0o644)
    (home / "warehouse.duckdb").chmod(0o644)
    result = doctor(home)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(line.startswith("错误 [raw_readable_by_others]") for line in lines)
    assert any(line.startswith("提示 [warehouse_readable_by_others]") for line in lines)
    # the key comes from the environment in the tests; the home's key file is checked when it is the one used
    assert not any("key_readable_by_others" in line for line in lines)


def test_a_key_file_readable_by_others_is_an_error(home, monkeypatch):
    monkeypatch.delenv("FUPIN_PII_KEY")
    (home / ".pii_key").write_text("k" * 32)
    (home / ".pii_key").chmod(0o644)
    assert "错误 [key_readable_by_others]" in doctor(home).output
    (home / ".pii_key").chmod(0o600)
    assert doctor(home).exit_code == 0


def test_a_lake_file_the_warehouse_lists_is_missing(home):
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    con.execute(
        "insert into core.household_registry_history select * replace (? as lake_file) "
        "from core.household_registry_history limit 1",
        [str(home / "lake" / "gone.parquet")],
    )
    con.close()
    result = doctor(home)
    assert result.exit_code == 1
    assert "错误 [lake_partition_missing]" in result.output and "gone.parquet" in result.output


def test_a_stale_wal_from_a_killed_session_is_named(home):
    # an analyst's read-write session killed before its checkpoint leaves warehouse.duckdb.wal behind
    script = (
        "import duckdb, os, sys; con = duckdb.connect(sys.argv[1]); "
        "con.execute(\"set checkpoint_threshold = '10GB'\"); con.execute('create table main.mine as select 1 as x'); "
        "os._exit(9)"
    )
    subprocess.run([sys.executable, "-c", script, str(home / "warehouse.duckdb")], check=False, timeout=60)
    assert (home / "warehouse.duckdb.wal").exists()
    result = doctor(home)
    assert result.exit_code == 1
    assert "错误 [stale_wal]" in result.output
    # analysts can still read: the sandbox attaches read-only and replays the WAL in memory, writing nothing
    query = CliRunner().invoke(app, ["query", "--home", str(home), "--csv", "select count(*) from meta.submissions"])
    assert query.exit_code == 0, query.output
    assert (home / "warehouse.duckdb.wal").exists()


@pytest.mark.parametrize("where", [0.4, 0.9], ids=["at_40_percent", "at_90_percent"])
def test_a_damaged_warehouse_gives_one_line_errors(home, where):
    target = home / "warehouse.duckdb"
    data = bytearray(target.read_bytes())
    start = int(len(data) * where)
    data[start : start + 64 * 1024] = bytes(range(256)) * 256
    data[:4096] = bytes(4096)  # and its header, so that no open can succeed
    target.write_bytes(bytes(data))
    result = doctor(home)
    assert result.exit_code == 1
    assert "错误 [warehouse_unreadable]" in result.output and "Traceback" not in result.output
    query = CliRunner().invoke(app, ["query", "--home", str(home), "select count(*) from meta.submissions"])
    assert query.exit_code == 1
    lines = [line for line in query.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "[warehouse_unreadable]" in lines[0], query.output


@pytest.mark.parametrize(
    "command",
    [
        ["indicators"],
        ["indicators", "--changes"],
        ["submissions"],
        ["status"],
        ["report"],
        ["docs"],
        ["export", "--indicators", "--format", "csv", "--out", "indicators.csv"],
    ],
    ids=lambda c: "_".join(a.strip("-") for a in c[:2]),
)
def test_every_reading_command_on_a_damaged_warehouse_says_one_line(home, command, tmp_path, monkeypatch):
    """Issue 18, finding 12 (tracebacks for a corrupt warehouse): each command that reads the warehouse."""
    target = home / "warehouse.duckdb"
    data = bytearray(target.read_bytes())
    data[:4096] = bytes(4096)
    target.write_bytes(bytes(data))
    monkeypatch.chdir(tmp_path)
    (home / "config").mkdir(exist_ok=True)  # `fupin status` reads the reporting calendar first
    shutil.copyfile(ROOT / "warehouse" / "seeds" / "calendar.demo.yaml", home / "config" / "calendar.yaml")
    result = CliRunner().invoke(app, [*command, "--home", str(home)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "[warehouse_unreadable]" in lines[0], result.output


# the lake partitions the warehouse's facts came from: a rebuild or a recovery reads them again, so a deleted one
# is named (partition, dataset, province, year, a file) with what to do


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
