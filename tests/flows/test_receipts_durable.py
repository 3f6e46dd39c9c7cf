"""Issue 18, finding 4 (receipts): receipts a run did not write (killed after its warehouse swap) are
written by the next run from the ledger, even when it has nothing new to load."""

from __future__ import annotations

import csv

import pytest

from fupin.flows.nightly import nightly
from fupin.tasks.receipt import HEADERS

HEADER = "年度,行政区划代码,县市区,资金类别,资金级别,金额（元）\n"


@pytest.mark.usefixtures("prefect_harness")
def test_missing_receipts_are_written_again_from_the_ledger(tmp_path):
    inbox = tmp_path / "inbox" / "hunan"
    inbox.mkdir(parents=True)
    for n, (code, county) in enumerate([("430224", "茶陵县"), ("430225", "炎陵县"), ("431022", "宜章县")]):
        (inbox / f"湖南省民政资金2017更正{n}.csv").write_text(
            HEADER + f"2017,{code},{county},民政事业费,中央,1000.00\n2017,999999,不存在县,民政事业费,中央,5.00\n",
            encoding="utf-8",
        )
    home = tmp_path / "home"
    first = nightly(inbox=str(tmp_path / "inbox"), home=str(home))
    assert first["received"] == 3 and first["rows_rejected"] == 3
    receipts = home / "receipts" / "43"
    written = {p.name: p.read_bytes() for p in receipts.glob("*.csv")}
    assert len(written) == 3

    # what a SIGKILL right after the swap leaves: the ledger complete, two of the three receipts never written
    kept = sorted(receipts.iterdir())[:2]
    for p in receipts.iterdir():
        if p not in kept:
            p.unlink()

    second = nightly(inbox=str(tmp_path / "inbox"), home=str(home))
    assert second["received"] == 0
    assert sorted(p.name for p in receipts.glob("*.csv")) == sorted(written)
    for name in written:
        with open(receipts / name, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
        assert rows[0] == list(HEADERS)
        assert [r[1] for r in rows[1:]] == ["3"] and "999999" in rows[1][3]
        assert rows[1][2] == "行政区划代码" and rows[1][5] == "county_unknown"  # the clerk's header, the code
        assert (receipts / name).read_bytes() == written[name]  # written again as it was first written
    assert len(list(receipts.glob("*.xlsx"))) == 3
