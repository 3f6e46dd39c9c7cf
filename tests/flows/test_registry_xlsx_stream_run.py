"""A nightly run with an XLSX registry whose sheets are read row by row (the streaming reader's threshold lowered)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import xlsxwriter

from fupin.flows.nightly import nightly
from fupin.tasks.registry import reading
from tests.helpers import open_warehouse


def _registry_workbook(tmp_path: Path, target: Path) -> int:
    """莲花's registry (300 lifted, 200 poor persons): a note sheet, then two sheets, the second's columns reversed."""
    from fupin.demo.registry import county_registry

    source = tmp_path / "lianhua.csv"
    county_registry(source, "360321", "莲花县", lifted=300, poor=200, year=2017, seed=5)
    with open(source, encoding="utf-8", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    target.parent.mkdir(parents=True, exist_ok=True)
    with xlsxwriter.Workbook(str(target)) as book:  # text as shared strings, as Excel and WPS write it
        book.add_worksheet("填表说明").write(0, 0, "本表由乡镇扶贫办填报")
        first, second = book.add_worksheet("户1"), book.add_worksheet("户2")
        first.write_row(0, 0, header)
        for i, row in enumerate(rows[:100], start=1):
            first.write_row(i, 0, row)
        flipped = list(reversed(range(len(header))))
        second.write_row(0, 0, [header[j] for j in flipped])
        for i, row in enumerate(rows[100:], start=1):
            second.write_row(i, 0, [row[j] for j in flipped])
    return len(rows)


@pytest.mark.usefixtures("prefect_harness")
def test_a_streamed_xlsx_registry_loads_every_sheet(tmp_path, monkeypatch):
    monkeypatch.setenv("FUPIN_PII_KEY", "a-test-key-not-a-secret-0123456789")
    monkeypatch.setattr(reading, "STREAM_ROWS", 50)  # both registry sheets stream, the note sheet is calamine's
    inbox = tmp_path / "inbox"
    households = _registry_workbook(tmp_path, inbox / "jiangxi" / "莲花县建档立卡贫困户2017.xlsx")

    summary = nightly(inbox=str(inbox), home=str(tmp_path / "home"))
    assert summary["by_status"] == {"loaded": 1}
    con = open_warehouse(tmp_path / "home")
    rows_loaded, message = con.execute("select rows_loaded, message from meta.submissions").fetchone()
    assert rows_loaded == households
    assert "工作表「户2」接续名册：回执中的行号按各表连续计算，该表第 2 行记为第 102 行" in message
    assert "已跳过工作表「填表说明」：没有名册表头" in message
    persons = dict(con.execute("select status, sum(members) from core.fct_household group by 1").fetchall())
    assert persons == {"已脱贫": 300, "未脱贫": 200}
