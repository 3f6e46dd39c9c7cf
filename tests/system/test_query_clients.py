"""Analysts' clients open the warehouse: SQLAlchemy through duckdb-engine, and the duckdb CLI."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SQL = (
    "select value from marts.indicators "
    "where indicator = 'civil_affairs_funds' and scope_code = 'luoxiao' and period = '2015-2017'"
)


def test_sqlalchemy_with_duckdb_engine_reads_the_indicators(demo_run):
    sqlalchemy = pytest.importorskip("sqlalchemy")
    pytest.importorskip("duckdb_engine")
    engine = sqlalchemy.create_engine(
        f"duckdb:///{demo_run['home'] / 'warehouse.duckdb'}", connect_args={"read_only": True}
    )
    try:
        with engine.connect() as con:
            assert con.execute(sqlalchemy.text(SQL)).scalar() == pytest.approx(8.4e9)
            assert "indicators" in sqlalchemy.inspect(con).get_table_names(schema="marts")
    finally:
        engine.dispose()


def test_duckdb_cli_reads_the_indicators(demo_run):
    cli = shutil.which("duckdb") or str(Path(sys.executable).with_name("duckdb"))
    assert Path(cli).exists(), "the duckdb CLI (PyPI duckdb-cli, in the dev extra) is not installed"
    proc = subprocess.run(
        [cli, "-readonly", "-csv", "-noheader", str(demo_run["home"] / "warehouse.duckdb"), "-c", SQL],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout.strip()) == pytest.approx(8.4e9)
