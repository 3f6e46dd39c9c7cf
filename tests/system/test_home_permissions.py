"""Issue 18, finding 6 (permissions) and finding 12 (a read-only home).

What a run writes may hold personal data — the warehouse, the lake, the raw archive, receipts, reports,
the ledger files, staging, exports — so it is the owner's alone: files 0600, folders 0700, whatever the
umask the run was started with. A home that cannot be written still answers `fupin query` and
`fupin indicators`; a run on it gives one Chinese line saying what to do, never a traceback.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fupin.cli import app
from fupin.demo import write_demo
from fupin.flows.nightly import nightly


def _open_to_others(home: Path) -> list[str]:
    """Every entry under ``home`` (and the home) that its group or others may read, write or enter."""
    entries = [home, *home.rglob("*")]
    return [f"{p} {stat.filemode(p.lstat().st_mode)}" for p in entries if p.lstat().st_mode & 0o077]


@pytest.mark.usefixtures("prefect_harness")
def test_a_run_started_with_an_open_umask_leaves_nothing_readable_by_others(tmp_path):
    inbox, home = tmp_path / "inbox", tmp_path / "home"
    write_demo(inbox)  # with registries (ID numbers in the raw archive) and forms with rejected rows
    previous = os.umask(0o022)  # as a login shell or a service manager usually starts a process
    try:
        home.mkdir(mode=0o755)
        home.chmod(0o755)  # a home made by hand, before fupin ever ran in it
        summary = nightly(inbox=str(inbox), home=str(home))
        export = CliRunner().invoke(
            app, ["export", "--home", str(home), "--table", "meta.submissions", "--format", "csv", "--out", "x.csv"]
        )
        exported = Path("x.csv")
    finally:
        os.umask(previous)
    try:
        assert summary["by_status"].get("loaded", 0) >= 2 and summary["failed_provinces"] == {}
        written = {p.relative_to(home).parts[0] for p in home.rglob("*")}
        # what must be checked is there: warehouse, lake, raw archive, receipts, report, ledger files, run records
        assert {"warehouse.duckdb", "lake", "raw", "receipts", "reports", "ledger", "runs"} <= written, written
        assert _open_to_others(home) == []
        assert export.exit_code == 0, export.output
        assert stat.S_IMODE(exported.stat().st_mode) == 0o600
    finally:
        Path("x.csv").unlink(missing_ok=True)


def _make_read_only(home: Path) -> list[Path]:
    """``chmod -R a-w`` the home; as root, which writes anyway, also make its folders immutable (chattr +i).

    Returns the folders to make mutable again; skips the test where the file system has no such flag.
    """
    for p in [home, *home.rglob("*")]:
        p.chmod(p.stat().st_mode & ~0o222)
    if os.geteuid() != 0:
        return []
    folders = [p for p in [home, *home.rglob("*")] if p.is_dir()]
    done = subprocess.run(["chattr", "+i", *map(str, folders)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        _make_writable(folders)
        pytest.skip(f"root writes a chmod -w home, and chattr +i is not available here: {done.stderr.strip()}")
    return folders


def _make_writable(folders: list[Path]) -> None:
    if folders:
        subprocess.run(["chattr", "-i", *map(str, folders)], check=False)


def test_a_read_only_home_answers_queries_and_refuses_a_run_in_one_line(demo_home_copy, tmp_path):
    home = demo_home_copy
    inbox = tmp_path / "inbox"
    (inbox / "jiangxi").mkdir(parents=True)
    (inbox / "jiangxi" / "a.csv").write_text("年度,县（市、区）\n2017,遂川县\n", encoding="utf-8")
    immutable = _make_read_only(home)
    fupin_script = str(Path(sys.executable).with_name("fupin"))
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}

    def fupin(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [fupin_script, *args, "--home", str(home)],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
            check=False,
            env=env,
        )

    try:
        query = fupin("query", "--csv", "select count(*) as n from meta.submissions")
        assert query.returncode == 0, query.stderr
        assert query.stdout.splitlines()[0] == "n" and int(query.stdout.splitlines()[1]) > 0
        indicators = fupin("indicators", "--json")
        assert indicators.returncode == 0, indicators.stderr
        assert '"indicator"' in indicators.stdout

        run = fupin("run", "--inbox", str(inbox))
        assert run.returncode == 1
        said = [line for line in (run.stdout + run.stderr).splitlines() if line.strip()]
        assert len(said) == 1 and "[home_not_writable]" in said[0] and "chmod u+w" in said[0], said
        doctor = fupin("doctor")
        assert "提示 [home_read_only]" in doctor.stdout, doctor.stdout + doctor.stderr
        assert "Traceback" not in doctor.stderr
    finally:
        _make_writable(immutable)
        for p in [home, *home.rglob("*")]:
            p.chmod(p.stat().st_mode | 0o200)
