"""fupin.core.formatting: the one place figures become text — the Ministry's units, separators, exact JSON."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from fupin.core.formatting import figure_text, json_value, number_text, wan_yuan, wan_yuan_text, yuan_text


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (8.4e9, "yuan", "84.00亿元"),
        (Decimal("8400000000.00"), "yuan", "84.00亿元"),
        (Decimal("183995600.00"), "yuan", "1.84亿元"),
        (54309000.0, "yuan", "5,430.9万元"),
        (0.2399999, "fraction", "24.00%"),
        (Decimal("0.257"), "fraction", "25.70%"),
        (1003, "persons", "1,003"),
        (48, "count", "48"),
        (False, "boolean", "否"),
        (Decimal("1"), "boolean", "是"),
        (None, "yuan", ""),
    ],
    ids=[
        "yi-yuan",
        "yi-yuan-decimal",
        "yi-yuan-small",
        "wan-yuan",
        "percent",
        "percent-decimal",
        "persons",
        "count",
        "boolean",
        "boolean-decimal",
        "missing",
    ],
)
def test_printed_figure_follows_the_ministry_convention(value, unit, text):
    assert figure_text(value, unit) == text


def test_a_count_carries_its_unit_name_when_given():
    assert figure_text(Decimal("8"), "count", "期") == "8期"


def test_money_conversions_are_exact():
    assert wan_yuan(Decimal("183995600.00")) == Decimal("18399.56")
    assert wan_yuan(0.1) == Decimal("0.00001")  # through the float's shortest text, not its binary expansion
    assert wan_yuan_text(Decimal("123456789.00")) == "12,345.68万元"
    assert yuan_text(Decimal("-99999999.99")) == "-10,000.0万元"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1234567, "1,234,567"),
        (Decimal("8400000000.00"), "8,400,000,000.00"),
        (0.2399999832880371, "0.2399999832880371"),
        (1.5e20, "150,000,000,000,000,000,000"),
        (-1234.5, "-1,234.5"),
    ],
    ids=["int", "decimal-scale-kept", "float-every-digit", "float-no-exponent", "negative"],
)
def test_number_text_groups_thousands_and_keeps_every_digit(value, text):
    assert number_text(value) == text


def test_json_keeps_decimals_as_numbers_with_their_digits():
    doc = {"a": Decimal("8400000000.00"), "b": Decimal("183995600.12"), "c": Decimal("0.2399999832880371")}
    back = json.loads(json.dumps(doc, default=json_value))
    assert back == {"a": 8400000000, "b": 183995600.12, "c": 0.2399999832880371}
    huge = Decimal("1234567890123456.78")  # more digits than a float keeps: text, not a changed number
    assert json.loads(json.dumps([huge], default=json_value)) == ["1234567890123456.78"]
