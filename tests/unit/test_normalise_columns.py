"""The cell converter's column fast paths against the per-cell converter they stand in for: value for value, refusal
too."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fupin.core.safe_text import has_id
from fupin.tasks.normalise.columns import (
    FAILED,
    MAYBE_MISSING,
    by_distinct,
    by_distinct_pairs,
    count_column,
    money_column,
    text_column,
)
from fupin.tasks.normalise.numbers import number_sum, parse_number, plain_factor, to_count, to_yuan
from fupin.tasks.normalise.values import _MISSING_FOLDED, MISSING, is_missing, to_halfwidth
from fupin.tasks.registry.checking import holds_id

NUMBERS = [
    # plain, grouped, signed, decimals of every length
    *["0", "7", "007", "1234", "1234.", "1234.5", "1234.56", "1234.567", "1234.5678", "0.000001", "0.0000001"],
    *["1,234", "12,345.6", "1,234,567.891", "-5", "-0", "-0.00", "-1,234.5", "+5", "999999999999999", "1e3"],
    # half to even at the fen, in 元 and in 万元 (0.0000005 万元 = 0.005 元)
    *["0.005", "0.015", "0.025", "0.0050001", "-0.005", "-0.015", "2.675", "0.0000005", "0.0000015", "0.0000025"],
    # digits: the whole part's and the total's bounds (20 significant digits at most)
    *["123456789012345", "1234567890123456", "123456789012345.12345", "123456789012345.123456"],
    *["12345678901234567890", "123456789012345678901", "00000000000000000001.5", "9999999999999999.99"],
    *["99999999.99", "99999999.999999", "100000000", "1" + "0" * 64, "1." + "0" * 30],
    # units in the cell, full width, numerals, 'none', blanks, junk
    *["12万元", "3亿元", "5 元", "4千元", "2.5%", "12人", "１２３", "１,２３４.５", "一百", "-", "—", "——", "无"],
    *["N/A", "null", "", None, "abc", "1.2.3", "1,23", "12,34.5", "1 234", ".5", "-.5", "1,234.", "- 5", "5-"],
]
UNITS = [(None, None), ("元", None), ("万元", None), ("亿元", None), ("千元", None), (None, "万元"), ("%", None)]
UNITS += [("美元", None), (None, "万")]


def slow_money(cells, column_unit, default_unit):
    return by_distinct(cells, lambda v: to_yuan(v, column_unit, default_unit))


def assert_same(parsed, expected, arrow_type):
    assert parsed.refused.tolist() == [v == FAILED for v in expected]
    assert parsed.values.type == arrow_type
    assert parsed.values.to_pylist() == pa.array([None if v == FAILED else v for v in expected], arrow_type).to_pylist()


@pytest.mark.parametrize(("column_unit", "default_unit"), UNITS, ids=[f"{c}-{d}" for c, d in UNITS])
def test_money_column_is_to_yuan_of_each_cell(column_unit, default_unit):
    called = []

    def slow(value):
        called.append(value)
        return to_yuan(value, column_unit, default_unit)

    parsed = money_column(NUMBERS, plain_factor(column_unit, default_unit), slow)
    assert_same(parsed, slow_money(NUMBERS, column_unit, default_unit), pa.decimal128(18, 2))
    if plain_factor(column_unit, default_unit) is not None:  # the plain cells never reach the scalar parser
        assert not {"1234.5", "1,234,567.891", "-5", "0.025", "0.000001"} & set(called)


def test_money_column_keeps_what_to_yuan_makes_of_fen_and_unknown_units():
    parsed = money_column(["0.005", "0.015", "1,234.5", "-0.025", "2.675"], plain_factor("元", None), None)
    expected = ["0.00", "0.02", "1234.50", "-0.02", "2.68"]
    assert parsed.values.to_pylist() == [Decimal(v) for v in expected]
    in_wan = money_column(["0.000001", "1,234.5678", "-0.01"], plain_factor("万元", None), None)
    assert in_wan.values.to_pylist() == [Decimal("0.01"), Decimal("12345678.00"), Decimal("-100.00")]
    refused = money_column(["1", "2万元"], plain_factor("美元", None), lambda v: FAILED if v == "1" else 1)
    assert refused.refused.tolist() == [True, False]


amounts = st.decimals(min_value=-(10**12), max_value=10**12, places=7, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(amounts, min_size=1, max_size=30), unit=st.sampled_from(["元", "千元", "万元", "亿元"]))
def test_any_plain_amount_reads_as_to_yuan_reads_it(values, unit):
    cells = []
    for k, value in enumerate(values):
        text = format(value.normalize() if k % 3 else value, "f")
        if k % 2:  # grouped by three, as clerks' spreadsheets write them
            whole, _, fraction = text.lstrip("-").partition(".")
            text = ("-" if value < 0 else "") + f"{int(whole):,}" + (f".{fraction}" if fraction else "")
        cells.append(text)
    parsed = money_column(cells, plain_factor(unit, None), lambda v: to_yuan(v, unit, None))
    assert_same(parsed, slow_money(cells, unit, None), pa.decimal128(18, 2))


COUNTS = ["0", "12", "-3", "1,234", "12.0", "12.", "12.000000", "12.0000000", "12.5", "0.0", "999999999"]
COUNTS += ["1000000000", "2000000000", "2000000001", "12人", "１２", "3%", "", None, "-", "无", "x", "1,2"]


@pytest.mark.parametrize("arrow_type", [pa.int32(), pa.int64()], ids=str)
def test_count_column_is_to_count_of_each_cell(arrow_type):
    parsed = count_column(COUNTS, arrow_type, to_count)
    assert_same(parsed, by_distinct(COUNTS, to_count), arrow_type)


TEXTS = [*MISSING, *(m.upper() for m in MISSING), *(to_halfwidth(m) for m in MISSING), "ｎｕｌｌ", "Ｎ／Ａ", "ＮＯＮＥ"]
TEXTS += ["---", "-—–", "－－", "- -", "n a", "无锡县", "遂川县", "None of it", "项目000001", "", None]
TEXTS += ["　", "\u3000无\u3000", "\xa0N/A"]


def test_text_column_is_the_text_or_none():
    def read(value):
        return None if is_missing(value) else value

    parsed = text_column(TEXTS, read)
    assert_same(parsed, by_distinct(TEXTS, read), pa.string())


def test_every_character_of_a_missing_word_or_a_space_may_be_missing():
    """MAYBE_MISSING lists every character that can be part of a cell is_missing reads as 'none'."""
    folded = set("".join(_MISSING_FOLDED)) | set("-—–")
    everything = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    maybe = pc.match_substring_regex(pa.array(everything), MAYBE_MISSING).to_pylist()
    left_out = [
        c
        for c, listed in zip(everything, maybe, strict=True)
        if not listed and (c.isspace() or set(to_halfwidth(c).casefold()) <= folded)
    ]
    assert left_out == []


def test_id_numbers_are_found_on_the_column_where_has_id_finds_them():
    cells = ["110101199003077777", "身份证110101199003077777号", "11010119900307777X", "a110101199003077777"]
    cells += ["1101011990030777771", "１１０１０１１９９００３０７７７７", "110101 199003077777", "项目000001"]
    cells += [None, ""]
    found = holds_id(pa.chunked_array([cells[:4], cells[4:]]))
    assert found.tolist() == [has_id(c) for c in cells]
    assert found.tolist()[:4] == [True, True, True, True]  # a word may touch it, a letter too (issue 24)


def summed_one_by_one(cells):
    values = [v for v in by_distinct(cells, lambda c: parse_number(c)[0]) if v is not None and v != FAILED]
    return sum(values, Decimal(0)), len(values)


SUMS = {
    "plain": ["1,234.5", "7", "0.25", "-3", "1234."],
    "decimals-of-every-length": ["0.000001", "1.5", "2.50", "3"],
    "blanks-dashes-and-junk-left-out": ["12.5", None, "", "-", "无", "abc", "1,23", "1" * 30, "3"],
    "units-and-full-width-summed-too": ["12.5", "3万元", "１２", "4%", "7"],
    "negative-zeros": ["-0", "-0.0", "0"],
    "nothing-to-sum": [None, "-", "x"],
    "large": ["999999999999999.9", "999999999999999.9", "-0.1"],
    "every-corpus-cell": NUMBERS,
}


@pytest.mark.parametrize("cells", list(SUMS.values()), ids=list(SUMS))
def test_number_sum_is_the_sum_of_parse_numbers_values(cells):
    total, n = number_sum(cells)
    expected, count = summed_one_by_one(cells)
    assert (str(total), n) == (str(expected), count)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.decimals(min_value=-(10**14), max_value=10**14, places=6, allow_nan=False), max_size=40))
def test_any_plain_numbers_sum_as_parse_number_sums_them(values):
    cells = [format(v.normalize() if k % 2 else v, "f") for k, v in enumerate(values)]
    total, n = number_sum(cells)
    expected, count = summed_one_by_one(cells)
    assert (str(total), n) == (str(expected), count)


def test_pairs_are_looked_up_once_each_as_by_distinct_looks_up_tuples():
    codes = ["360827", None, "360827", "36082", None, "430224", "360827"] * 3
    names = ["遂川县", "遂川县", None, "遂川县", None, "茶陵县", "遂川县"] * 3
    calls = []

    def resolve(pair):
        calls.append(pair)
        if pair == (None, None) or pair[0] == "36082":
            raise ValueError("refused")
        return pair[0] or pair[1]

    found = by_distinct_pairs(codes, names, resolve)
    assert found == by_distinct(list(zip(codes, names, strict=True)), resolve)
    assert found[:6] == ["360827", "遂川县", "360827", FAILED, FAILED, "430224"]
    assert len(calls) == 2 * len(set(zip(codes, names, strict=True)))  # once here, once by by_distinct
