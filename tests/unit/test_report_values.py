"""The report's page from its data, without a warehouse: DECIMAL and DOUBLE values print and download alike, and
every status and dataset reaches the reader in Chinese."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from html import unescape

from fupin.tasks.report import csv_cell, dataset_label, render_report, status_label


def _data(number) -> dict:
    """A small night: one area with two years of funds, two counties, one social-organisation row."""
    return {
        "headline": [
            {
                "indicator": "civil_affairs_funds",
                "scope_code": "east",
                "scope_name": "东片区",
                "period": "2016-2017",
                "value": number("1840000012.34"),
                "unit": "yuan",
            },
            {
                "indicator": "civil_affairs_funds_growth",
                "scope_code": "east",
                "scope_name": "东片区",
                "period": "2016-2017",
                "value": number("0.2399999832880371"),
                "unit": "fraction",
            },
        ],
        "areas": [{"area_code": "east", "area_name": "东片区", "show_counties": True}],
        "funds": [
            {
                "indicator": "civil_affairs_funds",
                "scope_code": "east",
                "scope_name": "东片区",
                "period": str(y),
                "value": number(v),
                "unit": "yuan",
                "unit_name": "元",
                "year": y,
            }
            for y, v in ((2016, "820000000.00"), (2017, "1020000012.34"))
        ],
        "growth": {"east": {"scope_code": "east", "period": "2016-2017", "value": number("0.2439024405")}},
        "incidence": [
            {
                "county_code": c,
                "county_name": n,
                "year": 2017,
                "incidence": number(i),
                "exit_threshold": number("0.02"),
                "below_exit_threshold": Decimal(i) < Decimal("0.02"),
                "designated": c == "360321",
            }
            for c, n, i in (("360321", "莲花县", "0.0284"), ("360881", "井冈山市", "0.0136"))
        ],
        "social": [
            {
                "county_code": "360321",
                "county_name": "莲花县",
                "year": 2018,
                "amount_yuan": Decimal("19649000.50"),
                "organisations": 33,
                "projects": 40,
            }
        ],
        "by_county": [
            {
                "area_code": "east",
                "indicator": "poverty_incidence",
                "indicator_name": "贫困发生率",
                "scope_code": c,
                "scope_name": n,
                "period": "2017",
                "value": number(i),
                "unit": "fraction",
                "unit_name": "比例",
            }
            for c, n, i in (("360321", "莲花县", "0.0284"), ("360881", "井冈山市", "0.0136"))
        ],
        "definitions": [
            {
                "indicator": "civil_affairs_funds",
                "name": "民政事业费",
                "unit_name": "元",
                "definition_zh": "中央＋省级",
            },
            {
                "indicator": "poverty_incidence",
                "name": "贫困发生率",
                "unit_name": "比例",
                "definition_zh": "未脱贫/农业",
            },
        ],
        "submissions": [
            {
                "submission_id": "36-a",
                "province_code": "36",
                "file_name": "a.xlsx",
                "dataset": "fund_allocation",
                "status": "partially_loaded",
                "rows_loaded": 3,
                "rows_rejected": 1,
                "message": "",
            },
            {
                "submission_id": "36-b",
                "province_code": "36",
                "file_name": "b.csv",
                "dataset": "household_registry",
                "status": "duplicate",
                "rows_loaded": 0,
                "rows_rejected": 0,
                "message": "",
            },
        ],
        "rejections": [
            {"file_name": "a.xlsx", "row_number": 7, "field": "amount_yuan", "value": "-5", "reason": "金额为负"}
        ],
        "rejection_count": [{"rejections": 1}],
        "ledger": [{"status": "duplicate", "n": 1}, {"status": "partially_loaded", "n": 1}],
        "held": [],
        "calendar": [
            {
                "province_code": "43",
                "province_name": "湖南省",
                "dataset": "social_org_project",
                "period": 2018,
                "due_date": date(2019, 3, 31),
                "status": "missing",
                "days_late": 12,
            }
        ],
        "failures": [],
    }


def _page(number) -> str:
    page = render_report(_data(number), date(2019, 4, 12), library_js="/* no library in this test */")
    return re.sub(r"生成时间 [0-9: -]+", "生成时间 -", page)


def _payload(page: str) -> dict:
    return json.loads(unescape(re.search(r'id="report-data">(.*?)</script>', page, re.S).group(1)))


def test_decimal_and_double_values_give_the_same_page_and_exact_csvs():
    from_double, from_decimal = _page(float), _page(Decimal)
    assert "18.40亿元" in from_decimal and "24.00%" in from_decimal and "2.84%" in from_decimal
    assert "东片区（2016-2017 年均增长 24.4%）" in from_decimal
    # the same figures, charts and tables; only the CSVs' text differs, each exact to its own type
    strip = re.compile(r'id="report-data">.*?</script>|data-value="[^"]*"|data-sort="[^"]*"', re.S)
    assert strip.sub("", from_double) == strip.sub("", from_decimal)
    decimal_payload, double_payload = _payload(from_decimal), _payload(from_double)
    assert decimal_payload["charts"] == double_payload["charts"]
    funds = decimal_payload["downloads"]["chart-funds-east"]
    assert funds["rows"][1] == [
        "civil_affairs_funds",
        "east",
        "东片区",
        "2017",
        "1020000012.34",
        "元",
    ]  # units in Chinese
    assert decimal_payload["charts"]["chart-funds-east"]["series"][0]["data"][1]["value"] == 10.2
    assert double_payload["downloads"]["chart-funds-east"]["rows"][1][4] == "1020000012.34"
    assert decimal_payload["downloads"]["chart-social"]["rows"] == [
        ["360321", "莲花县", "2018", "19649000.50", "33", "40"]
    ]
    assert 'data-value="0.0284"' in from_decimal


def test_statuses_datasets_and_columns_reach_the_reader_in_chinese():
    page = _page(Decimal)
    text = re.sub(r"<script.*?</script>|<style.*?</style>|<code.*?</code>|<[^>]+>", " ", page, flags=re.S)
    for word in (
        "部分入库",
        "重复报送",
        "资金下达",
        "建档立卡户名册",
        "未报",
        "湖南省",
        "社会组织扶贫项目",
        "金额",
    ):
        assert word in text, word
    for code in (
        "partially_loaded",
        "duplicate",
        "fund_allocation",
        "household_registry",
        "amount_yuan",
        "social_org_project",
    ):
        assert not re.search(rf"\b{code}\b", text), code
    assert 'class="status-missing">未报</td>' in page  # the calendar's word ("missing" stays in an English heading)


def test_label_lookups():
    assert status_label("partially_loaded") == "部分入库" and status_label("held") == "暂缓入库，待确认"
    assert status_label("held", "calendar") == "待确认" and status_label("late", "calendar") == "迟报"
    assert status_label("something_new") == "something_new" and status_label(None) == ""
    assert dataset_label("poverty_status") == "贫困人口" and dataset_label(None) == ""


def test_csv_cells_are_exact():
    assert csv_cell(Decimal("183995600.00")) == "183995600.00"
    assert csv_cell(0.2399999832880371) == "0.2399999832880371" and float(csv_cell(0.1 + 0.2)) == 0.1 + 0.2
    assert csv_cell(True) == "是" and csv_cell(None) == "" and csv_cell(1003) == "1003"
