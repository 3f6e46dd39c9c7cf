"""A corpus nobody on the project wrote, beside the demo: each file refused or loaded with a code, the demo unchanged.

tests/fixtures/foreign holds spreadsheets, CSVs, JSON and text files from the public test suites of calamine,
csvkit, frictionless-py and CleverCSV (sources, licences and commits in its README.md): broken workbooks,
password-protected ones, UTF-16 and Latin-1 CSVs, null bytes, nested JSON, archives. Dropped into Fujian's
inbox (a province the demo does not use) beside the demo, the nightly flow must finish without a traceback,
give every one of them a ledger row with a status and a coded message, and publish the demo's figures exactly.
``pytest -s`` prints the files by status and by message code.
"""

from __future__ import annotations

import faulthandler
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.helpers import FIXTURES, open_warehouse, run_beside_the_demo

FOREIGN = FIXTURES / "foreign"
PROJECTS = ("calamine", "clevercsv", "csvkit", "frictionless")
# kept beside each project's files, never sent: its licence, and the corpus's README
NOT_SENT = {"LICENSE", "LICENSE.md", "LICENSE-MIT.md", "COPYING", "README.md"}
STATUSES = {"loaded", "partially_loaded", "rejected", "superseded", "duplicate", "held", "discarded"}
# a hang guard only: the flow over these files takes a minute or two; past this, dump every thread and stop
HANG_GUARD_SECONDS = 1200


def foreign_files() -> dict[str, Path]:
    """Every file of the corpus to send, by its path under tests/fixtures/foreign (project/…)."""
    return {
        path.relative_to(FOREIGN).as_posix(): path
        for path in sorted(FOREIGN.rglob("*"))
        if path.is_file() and path.name not in NOT_SENT
    }


def test_the_corpus_names_its_sources_and_keeps_their_licences():
    readme = (FOREIGN / "README.md").read_text(encoding="utf-8")
    for project in PROJECTS:
        assert any((FOREIGN / project / name).is_file() for name in NOT_SENT - {"README.md"}), project
    for repository in (
        "tafia/calamine",
        "wireservice/csvkit",
        "frictionlessdata/frictionless-py",
        "alan-turing-institute/CleverCSV",
    ):
        assert repository in readme
    files = foreign_files()
    assert len(files) >= 150
    assert {rel.split("/")[0] for rel in files} == set(PROJECTS)


def _code(message: str | None) -> str | None:
    """The ``[code]`` a message ends with, or None."""
    text = (message or "").rstrip()
    if text.endswith("]") and "[" in text:
        return text[text.rindex("[") + 1 : -1]
    return None


@pytest.mark.slow
def test_the_foreign_corpus_beside_the_demo_is_refused_or_loaded_with_codes_and_the_demo_figures_stay(
    demo_run, tmp_path, capfd, caplog
):
    files = foreign_files()
    home = tmp_path / "home"
    started = time.monotonic()
    faulthandler.dump_traceback_later(HANG_GUARD_SECONDS, exit=True)
    try:
        run_beside_the_demo(home, "35", files)
    finally:
        faulthandler.cancel_dump_traceback_later()
    took = time.monotonic() - started
    assert took < HANG_GUARD_SECONDS

    # (a) no traceback in what the run printed, logged or wrote for people to read
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err, (out + err)[-4000:]
    logged = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert not logged, [r.getMessage()[:500] for r in logged]
    for written in home.rglob("*"):
        if written.is_file() and written.suffix in (".json", ".txt", ".md", ".html", ".csv", ".log"):
            if {"raw", "inbox"} & set(written.relative_to(home).parts):
                continue
            text = written.read_text(encoding="utf-8", errors="replace")
            assert "Traceback" not in text, written

    # (b) every foreign file has a ledger row with a status, and a code for whatever was not loaded
    query = (
        "select s.source_path, s.status, s.message, s.message_code, s.rows_rejected, "
        "(select count(*) from meta.rejections r where r.submission_id = s.submission_id and r.reason_code is null) "
        "from meta.submissions s where s.province_code = '35'"
    )
    with open_warehouse(home) as con:
        ledger = {row[0]: row[1:] for row in con.execute(query).fetchall()}
        after = con.execute("select * from marts.indicators order by all").fetchall()
    assert sorted(ledger) == sorted(files)
    by_status: Counter = Counter()
    by_code: Counter = Counter()
    for rel, (status, message, message_code, rows_rejected, uncoded) in ledger.items():
        assert status in STATUSES, (rel, status)
        assert "Traceback" not in (message or ""), rel
        if status != "loaded":
            assert message and _code(message), (rel, status, message)
            assert message_code == _code(message), (rel, message, message_code)
        if rows_rejected:
            assert uncoded == 0, (rel, "rejections without a reason code")
        by_status[status] += 1
        by_code[message_code or "-"] += 1
    by_project = Counter(rel.split("/")[0] for rel in files)

    # (c) the demo's published figures, all of them and nothing else, as a demo-only run publishes them
    with open_warehouse(demo_run["home"]) as con:
        before = con.execute("select * from marts.indicators order by all").fetchall()
    assert before and after == before

    print(f"\nforeign corpus: {len(files)} files in {took:.0f} s")
    print("  by project: " + ", ".join(f"{k} {n}" for k, n in sorted(by_project.items())))
    print("  by status:  " + ", ".join(f"{k} {n}" for k, n in by_status.most_common()))
    print("  by code:    " + ", ".join(f"{k} {n}" for k, n in by_code.most_common()))
