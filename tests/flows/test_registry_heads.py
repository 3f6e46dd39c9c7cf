"""Issue 24: one head's ID number in two households — the later rows are rejected, naming the first household."""

from __future__ import annotations

import pytest

from fupin.flows.nightly import nightly
from tests.helpers import REGISTRY_HEADER, open_warehouse, valid_id

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_a_head_in_two_households_rejects_the_later_rows_naming_the_first_household(tmp_path):
    one, other = valid_id("43022419700101001"), valid_id("43022419800202002")
    rows = [
        f"4302240000001,王伟,{one},茶陵县,城关镇,东村,3,已脱贫,2014,2016",
        f"4302240000002,李娜,{other},茶陵县,城关镇,西村,2,未脱贫,2015,",
        f"4302240000003,王伟,{one},茶陵县,城关镇,南村,4,未脱贫,2015,",  # the same head, another household
        f"4302240000004,王伟,{one.lower()},茶陵县,城关镇,北村,1,未脱贫,2015,",  # and again, a lower-case x or not
        f"4302240000002,李娜,{other},茶陵县,城关镇,西村,2,未脱贫,2015,",  # a repeated household: its own reason
    ]
    inbox = tmp_path / "inbox" / "hunan"
    inbox.mkdir(parents=True)
    (inbox / "茶陵县建档立卡贫困户2017.csv").write_text(
        REGISTRY_HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    home = tmp_path / "home"
    summary = nightly(inbox=str(tmp_path / "inbox"), home=str(home))
    assert summary["failed_provinces"] == {}
    with open_warehouse(home) as con:
        rejected = con.execute(
            "select row_number, field, value, reason, reason_code from meta.rejections order by 1"
        ).fetchall()
        households = sorted(h for (h,) in con.execute("select household_id from core.fct_household").fetchall())
        status = con.execute("select status, rows_loaded, rows_rejected from meta.submissions").fetchone()
    assert households == ["4302240000001", "4302240000002"]
    assert status == ("partially_loaded", 2, 3)
    reason = "“户主身份证号码”与第 2 行（户编号 4302240000001）的户主相同：一人只能是一户的户主，请核对身份证号或户编号"
    assert rejected == [
        (4, "head_id", None, reason, "duplicate_head"),
        (5, "head_id", None, reason, "duplicate_head"),
        (6, "household_id", "4302240000002", rejected[2][3], "duplicate_household"),
    ]
    assert one not in repr(rejected) and one[:17] not in repr(rejected)
