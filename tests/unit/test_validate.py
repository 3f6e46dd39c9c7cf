"""Business rules reject the offending row alone, with a reason a clerk can act on."""

from __future__ import annotations

from decimal import Decimal

from fupin.tasks.validate import validate_rows


def _poverty(row, county="360827", year=2017, rural=1000, poor=30, lifted=70, incidence=0.03):
    return dict(
        _row=row,
        county_code=county,
        year=year,
        rural_population=rural,
        poor_population=poor,
        lifted_population=lifted,
        declared_incidence=incidence,
    )


def test_poor_above_rural_rejects_that_row_only():
    good, rejected, _ = validate_rows("poverty_status", [_poverty(4), _poverty(5, county="360321", poor=2000)])
    assert [r["_row"] for r in good] == [4]
    assert len(rejected) == 1
    assert rejected[0].row_number == 5 and rejected[0].field == "poor_population"
    assert rejected[0].code == "exceeds_limit"
    assert rejected[0].reason.startswith("“未脱贫人口”（2000）不能大于“农业户籍人口”（1000）")


def test_incidence_over_100_percent_is_rejected():
    _, rejected, _ = validate_rows("poverty_status", [_poverty(7, incidence=1.3)])
    assert rejected[0].field == "incidence"
    assert rejected[0].code == "out_of_range"
    assert "“贫困发生率”须在 0% 到 100% 之间（读作 130.00%）" in rejected[0].reason


def test_same_county_and_year_twice_rejects_the_second():
    good, rejected, _ = validate_rows("poverty_status", [_poverty(4), _poverty(9)])
    assert [r["_row"] for r in good] == [4]
    assert rejected[0].row_number == 9 and rejected[0].code == "duplicate_row"
    assert "与第 4 行重复" in rejected[0].reason


def test_negative_amount_is_rejected():
    rows = [
        dict(
            _row=6,
            county_code="360827",
            year=2016,
            fund_type="civil_affairs",
            fund_level="central",
            amount_yuan=Decimal("-5.00"),
        )
    ]
    good, rejected, _ = validate_rows("fund_allocation", rows, {"amount_yuan": "金额（元）"})
    assert good == []
    assert rejected[0].field == "amount_yuan" and rejected[0].code == "negative_amount"
    assert rejected[0].reason.startswith("“金额（元）”不能为负数（折合 -5.00 元）")


def test_wide_form_row_goes_as_a_whole():
    base = dict(_row=6, county_code="360827", year=2016, fund_level="central")
    rows = [
        dict(base, fund_type="civil_affairs", amount_yuan=Decimal("10.00")),
        dict(base, fund_type="lottery_welfare", amount_yuan=Decimal("-1.00")),
    ]
    good, rejected, _ = validate_rows("fund_allocation", rows)
    assert good == [] and len(rejected) == 1


def test_declared_incidence_far_from_computed_is_a_warning_not_a_rejection():
    good, rejected, warnings = validate_rows("poverty_status", [_poverty(3, incidence=0.05)])
    assert len(good) == 1 and rejected == []
    assert "第 3 行：填报的贫困发生率 5.00% 与 未脱贫人口÷农业户籍人口 = 3.00% 不符" in warnings[0]


def test_trainees_poor_above_trainees_is_rejected():
    rows = [
        dict(
            _row=2,
            programme="养老护理",
            county_code="360827",
            year=2016,
            sessions=1,
            trainees=10,
            trainees_poor=11,
            employed=3,
        )
    ]
    _, rejected, _ = validate_rows("training", rows)
    assert rejected[0].field == "trainees_poor"
