"""Links and strangers in the folders the warehouse reads (issue 24): a hard or symbolic link planted in lake/ or
runs/ is never readable through `fupin query`, a recovery does not read it, and `fupin doctor` names it, as it
names files fupin does not write in lake/, runs/ and ledger/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fupin.cli import app

SECRET = "raw-archive-content-never-shown"


def _cli(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.fixture()
def home(demo_home_copy) -> Path:
    (demo_home_copy / "warehouse.duckdb").chmod(0o600)
    demo_home_copy.chmod(0o700)
    raw = demo_home_copy / "raw" / "36"
    raw.mkdir(parents=True, mode=0o700)
    (raw / "a.csv").write_text(f"col\n{SECRET}\n", encoding="utf-8")
    (raw / "a.csv").chmod(0o600)
    return demo_home_copy


def _lines(home: Path, code: str) -> list[str]:
    result = _cli("doctor", "--home", str(home))
    return [line for line in result.output.splitlines() if f"[{code}]" in line]


@pytest.mark.parametrize("as_written", ["lake/evil.csv", "{home}/lake/evil.csv"])
def test_a_hard_link_in_the_lake_to_a_raw_file_is_not_readable_and_doctor_names_it(home, as_written):
    os.link(home / "raw" / "36" / "a.csv", home / "lake" / "evil.csv")
    path = as_written.format(home=home)
    result = _cli("query", f"select * from read_csv('{path}')", "--home", str(home))
    assert SECRET not in result.output
    assert result.exit_code == 1 and "[access_denied]" in result.output
    (line,) = _lines(home, "linked_file")
    assert line.startswith("错误 [linked_file] lake/ 中有 1 个链接（符号链接或硬链接，如 lake/evil.csv）")


def test_a_symbolic_link_in_the_lake_is_not_followed(home):
    (home / "lake" / "archive").symlink_to(home / "raw")
    result = _cli("query", "select * from read_csv('lake/archive/36/a.csv')", "--home", str(home))
    assert SECRET not in result.output and "[access_denied]" in result.output
    (line,) = _lines(home, "linked_file")
    assert "lake/archive" in line


def test_a_hard_link_in_the_run_records_closes_them_to_queries(home):
    os.link(home / "raw" / "36" / "a.csv", home / "runs" / "evil.json")
    result = _cli("query", "select * from read_csv('runs/evil.json')", "--home", str(home))
    assert SECRET not in result.output and "[access_denied]" in result.output
    assert "runs/evil.json" in _lines(home, "linked_file")[0]


def test_the_households_lake_files_stay_readable(home):
    result = _cli("query", "select count(*) as n from core.fct_household", "--home", str(home), "--csv")
    assert result.exit_code == 0, result.output
    assert int(result.output.splitlines()[1]) > 0


def test_files_fupin_does_not_write_are_named_folder_by_folder(home):
    (home / "lake" / "fund_allocation" / "说明.txt").write_text("x", encoding="utf-8")
    (home / "runs" / "notes.txt").write_text("x", encoding="utf-8")
    (home / "ledger").mkdir()
    (home / "ledger" / "copy.csv").write_text("x", encoding="utf-8")
    (home / "ledger" / ".meta.submissions.parquet.tmp").write_text("x", encoding="utf-8")  # a killed write's
    lines = _lines(home, "unexpected_file")
    assert [line.split(" 中有")[0] for line in lines] == [
        "错误 [unexpected_file] lake/",
        "错误 [unexpected_file] runs/",
        "错误 [unexpected_file] ledger/",
    ]
    assert "lake/fund_allocation/说明.txt" in lines[0] and "1 个" in lines[2]


def test_a_recovery_does_not_read_a_linked_lake_file(home):
    from fupin.core.config import Paths
    from fupin.tasks.archive import ledger_outcome_records

    lake_file = next((home / "lake" / "fund_allocation").rglob("*.parquet"))
    plain = {o.submission_id: o.lake_files for o in ledger_outcome_records(Paths(home))}
    os.link(lake_file, home / "lake-copy.parquet")  # the lake file now has a second name: a link
    linked = {o.submission_id: o.lake_files for o in ledger_outcome_records(Paths(home))}
    assert str(lake_file) in plain[lake_file.stem] and str(lake_file) not in linked[lake_file.stem]
