"""One way to read the warehouse: fupin.connect / fupin.indicators and fupin.warehouse.read."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from decimal import Decimal
from importlib import resources
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

import fupin
from fupin.cli import app
from fupin.core.formatting import figure_text
from fupin.warehouse import read
from tests.helpers import ROOT

# what an analyst may try on a read connection; each must fail and leave the warehouse file as it was
WRITES = [
    "insert into meta.submissions select * from meta.submissions limit 1",
    "delete from meta.submissions",
    "update marts.indicators set value = 0",
    "drop table marts.indicators",
    "create table core.mine (a integer)",
    "copy (select 1) to 'copied.csv'",
    "attach 'other.duckdb' as other",
    "set enable_external_access = true",
]
# as of a moment, the marts are rebuilt in the connection's own memory (a scratch copy the session may change);
# the warehouse file is attached read-only under fupin.warehouse.read.AS_OF_DATABASE
AS_OF_WRITES = [
    f"insert into {read.AS_OF_DATABASE}.meta.submissions select * from meta.submissions limit 1",
    f"delete from {read.AS_OF_DATABASE}.meta.submissions",
    f"drop table {read.AS_OF_DATABASE}.marts.indicators",
    f"create table {read.AS_OF_DATABASE}.core.mine (a integer)",
    "copy (select 1) to 'copied.csv'",
    "attach 'other.duckdb' as other",
    "set enable_external_access = true",
]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _figures(frame) -> dict[tuple[str, str, str], Decimal]:
    return {(r["indicator"], r["scope_code"], r["period"]): r["value"] for r in frame.to_dict("records")}


@pytest.mark.parametrize("as_of", [None, "2099-01-01"])
def test_connect_refuses_every_write(demo_home_copy, as_of):
    warehouse = demo_home_copy / "warehouse.duckdb"
    before = _digest(warehouse)
    with fupin.connect(demo_home_copy, as_of=as_of) as con:
        count = con.execute("select count(*) from meta.submissions").fetchone()[0]
        for sql in AS_OF_WRITES if as_of else WRITES:
            with pytest.raises(duckdb.Error):
                con.execute(sql)
        assert con.execute("select count(*) from meta.submissions").fetchone()[0] == count == 15
        # it reads every table: the households too
        assert con.execute("select count(*) from core.fct_household").fetchone()[0] > 0
    assert _digest(warehouse) == before
    assert not (demo_home_copy / "copied.csv").exists() and not Path("copied.csv").exists()


def test_connect_without_a_warehouse_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="fupin run"):
        fupin.connect(tmp_path)


def test_indicators_are_the_demos_figures(demo_run):
    rows = fupin.indicators(demo_run["home"])
    figures = _figures(rows)
    total = figures[("civil_affairs_funds", "luoxiao", "2015-2017")]
    assert total == Decimal("8400000000") and figure_text(total, "yuan") == "84.00亿元"
    assert round(figures[("civil_affairs_funds_growth", "luoxiao", "2015-2017")], 2) == Decimal("0.24")
    with fupin.connect(demo_run["home"]) as con:
        luoxiao = read.indicators(con, area="luoxiao", indicator="poverty_incidence")
    assert len({r["scope_code"] for r in luoxiao if r["scope_code"].isdigit()}) == 23
    assert {r["indicator"] for r in luoxiao} == {"poverty_incidence"}
    # the same rows, in the same order, as `fupin indicators --all --json` prints
    printed = CliRunner().invoke(app, ["indicators", "--all", "--json", "--home", str(demo_run["home"])])
    assert printed.exit_code == 0, printed.output
    assert [(r["indicator"], r["scope_code"], r["period"], r["value"]) for r in json.loads(printed.stdout)] == [
        (r["indicator"], r["scope_code"], r["period"], float(r["value"])) for r in rows.to_dict("records")
    ]


def test_indicators_as_of_show_the_figures_of_that_moment(demo_run):
    home = demo_run["home"]
    with fupin.connect(home) as con:
        (jiangxi_2017,) = con.execute(
            "select received_at from meta.submissions where province_code = '36' and dataset = 'fund_allocation' "
            "and file_name like '2017%'"
        ).fetchone()
        first = read.first_received(con)
    now = _figures(fupin.indicators(home))
    # the moment Jiangxi's 2017 funds arrived: everything received before, not that file
    then = _figures(fupin.indicators(home, as_of=jiangxi_2017))
    without = now[("civil_affairs_funds", "luoxiao", "2015-2017")] - now[("civil_affairs_funds", "luoxiao:36", "2017")]
    assert then[("civil_affairs_funds", "luoxiao", "2015-2017")] == without
    assert ("civil_affairs_funds", "luoxiao:36", "2017") not in then
    assert then[("civil_affairs_funds", "luoxiao:36", "2015-2016")] == (
        now[("civil_affairs_funds", "luoxiao:36", "2015")] + now[("civil_affairs_funds", "luoxiao:36", "2016")]
    )
    assert _figures(fupin.indicators(home, as_of="2099-01-01")) == now
    assert fupin.indicators(home, as_of=first).empty  # nothing had arrived yet
    assert fupin.indicators(home, as_of="2018-10-30").empty


# the write path opens the warehouse file itself (to check, copy, build and swap it); readers go through
# fupin.warehouse.read, which alone opens it read-only (the sandbox and the as-of view are defined below it)
OPENERS = re.compile(r"read_only\s*=\s*True|\(read_only\)|connect_readonly\(|connect_as_of\(")
MAY_OPEN = ("warehouse/read.py", "warehouse/read/", "fupin/core/readonly.py", "warehouse/asof.py")
WRITE_PATH = ("tasks/load.py", "tasks/load/", "tasks/archive.py", "warehouse/migrations.py", "warehouse/migrations/")


def test_one_way_to_open_the_warehouse_for_reading():
    sources = [p for folder in ("fupin", "tasks", "flows", "warehouse") for p in (ROOT / folder).rglob("*.py")]
    assert len(sources) > 50
    found = sorted(
        f"{p.relative_to(ROOT)}:{n}"
        for p in sources
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1)
        if OPENERS.search(line) and not str(p.relative_to(ROOT)).startswith(MAY_OPEN + WRITE_PATH)
    )
    assert found == []


def test_every_query_is_one_statement_and_packaged():
    folder = resources.files("fupin.warehouse").joinpath("queries")
    names = sorted(e.name.removesuffix(".sql") for e in folder.iterdir() if e.name.endswith(".sql"))
    assert {"headline", "indicators", "submission_status", "report_funds", "export_indicators"} <= set(names)
    for name in names:
        assert len(duckdb.extract_statements(read.query_sql(name))) == 1, name
    used = (ROOT / "warehouse" / "read.py").read_text(encoding="utf-8")
    named = {n for n in names if f'"{n}"' in used} | {f"catalog_{part}" for part in ("tables", "views", "columns")}
    named |= {f"names_{kind}" for kind in read.NAMES}
    assert sorted(set(names) - named) == []


def test_importing_fupin_stays_cheap():
    found = subprocess.run(
        [sys.executable, "-c", "import fupin, sys; print('duckdb' in sys.modules, callable(fupin.indicators))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout.split() == ["False", "True"]


def test_a_home_without_a_warehouse_is_told_in_chinese_with_its_code(tmp_path):
    with pytest.raises(FileNotFoundError) as refused:
        fupin.connect(tmp_path)
    assert "还没有仓库：请先运行 fupin run [no_warehouse]" in str(refused.value)
    assert str(tmp_path) in str(refused.value)
    printed = CliRunner().invoke(app, ["indicators", "--home", str(tmp_path)])
    assert printed.exit_code != 0
    assert "还没有仓库：请先运行 fupin run [no_warehouse]" in printed.output


def test_a_moment_that_is_not_a_date_is_refused_in_chinese_naming_the_option(tmp_path):
    with pytest.raises(ValueError, match=r"“昨天”不是日期（如 2018-10-30）.*\[moment_invalid\]"):
        read.moment_of("昨天")
    as_of = CliRunner().invoke(app, ["indicators", "--as-of", "昨天", "--home", str(tmp_path)])
    since = CliRunner().invoke(app, ["indicators", "--changes", "--since", "昨天", "--home", str(tmp_path)])
    assert as_of.exit_code != 0 and "--as-of 的值“昨天”不是日期" in as_of.output
    assert since.exit_code != 0 and "--since 的值“昨天”不是日期" in since.output
