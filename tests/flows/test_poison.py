"""Issue 18, finding 8 and 12 (digits): poison values are rejections of their row or file, never a crash.

Every cell parser, fed arbitrary text, returns a value or raises ValueError; the recipes of the
finding (JSON nested 100,000 deep, a 10,000-digit number, 1e308, a 30-digit amount, 12345678901234567
yuan) end in the ledger as rejections while the run goes on.
"""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fupin.core.reference import resolve_county
from fupin.flows.nightly import nightly
from fupin.tasks.normalise import helpers, numbers
from fupin.tasks.normalise.numbers import money_factor, parse_number
from fupin.tasks.normalise.values import CellError, is_missing, parse_year, unit_in_header
from fupin.tasks.parse import ParseError
from fupin.tasks.parse.json_files import read_json
from fupin.warehouse.contracts import contracts

NUMBERISH = st.from_regex(r"\A[-+]?[0-9٠-٩०-९０-９,]{0,40}(\.[0-9]{0,30})?([eE][-+]?[0-9]{1,7})?(万元|亿元|%|人)?\Z")
TEXT = st.one_of(st.text(max_size=80), NUMBERISH)
PARSERS = {
    "parse_number": parse_number,
    "parse_year": parse_year,
    "is_missing": is_missing,
    "unit_in_header": unit_in_header,
    "money_factor": money_factor,
    "to_yuan": lambda t: numbers.to_yuan(t, "万元", None),
    "to_yuan_yi": lambda t: numbers.to_yuan(t, None, "亿元"),
    "to_count": numbers.to_count,
    "to_fraction": lambda t: numbers.to_fraction(t, "%", None),
    "fund_type_of": lambda t: helpers.code_of(t, contracts()["fund_allocation"].column("fund_type")),
    "fund_level_of": lambda t: helpers.fund_level_of(t, "civil_affairs", contracts()["fund_allocation"]),
    "clean_label": helpers.clean_label,
    "resolve_county": lambda t: resolve_county(t, "36"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", PARSERS)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXT)
def test_every_parser_returns_a_value_or_a_value_error(name, text):
    try:
        PARSERS[name](text)
    except ValueError:
        pass


@pytest.mark.parametrize(
    "text, code",
    [
        ("1" * 10_000, "number_too_long"),
        ("1e308", "number_out_of_range"),
        ("1" + "0" * 29, "number_too_many_digits"),
        ("12345678901234567", "number_out_of_range"),
    ],
    ids=["10000_digits", "1e308", "30_digits", "17_digit_yuan"],
)
def test_numbers_beyond_bounds_are_refused_with_a_code(text, code):
    with pytest.raises(CellError) as refused:
        numbers.to_yuan(text, "元", None)
    assert refused.value.code == code


def test_amounts_that_grow_out_of_decimal_18_2_with_their_unit_are_refused():
    assert numbers.to_yuan("9999999999999999.99", "元", None) == Decimal("9999999999999999.99")
    with pytest.raises(CellError, match="超出范围") as refused:
        numbers.to_yuan("1000000000000", "万元", None)
    assert refused.value.code == "number_out_of_range"


def test_counts_must_be_plausible():
    assert numbers.to_count("1,403,000,000") == 1_403_000_000
    with pytest.raises(CellError) as refused:
        numbers.to_count("100000000000000")
    assert refused.value.code == "count_out_of_range"


@pytest.mark.parametrize("text", ["٢٠١٧", "२०१७", "۲۰۱۷"], ids=["arabic_indic", "devanagari", "persian"])
def test_only_ascii_and_fullwidth_digits_are_numbers_years_or_county_codes(text):
    with pytest.raises(ValueError):
        parse_number(text)
    with pytest.raises(ValueError):
        parse_year(text)
    assert parse_year("２０１７") == 2017
    assert resolve_county(text.replace(text[:4], "٣٦٠٨٢٧"), "36").county_code is None


def test_json_nested_100000_deep_is_a_file_rejection_in_no_time():
    with pytest.raises(ParseError, match=r"\[json_too_deep\]"):
        read_json(b"[" * 100_000 + b"]" * 100_000, "deep.json")


def test_huge_json_numbers_become_cells_the_parsers_reject():
    doc = b'[{"county": "x", "a": 1' + b"0" * 10_000 + b', "b": 1e308, "c": "[[[{"}]'
    (table,) = read_json(doc, "big.json")
    _, a, b, c = table.rows[0]
    with pytest.raises(ValueError):
        parse_number(a)
    with pytest.raises(CellError) as refused:
        parse_number(b)
    assert refused.value.code == "number_out_of_range"
    assert c == "[[[{"  # brackets inside strings are not nesting


HEADER = "年度,行政区划代码,县市区,资金类别,资金级别,金额（元）\n"


@pytest.mark.usefixtures("prefect_harness")
def test_poison_files_end_in_the_ledger_and_the_run_goes_on(tmp_path):
    inbox = tmp_path / "inbox" / "hunan"
    inbox.mkdir(parents=True)
    (inbox / "deep.json").write_bytes(b'{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    (inbox / "湖南省民政资金2017更正.csv").write_text(
        HEADER
        + "2017,430224,茶陵县,民政事业费,中央,123456789012345678901234567890\n"
        + "2017,430225,炎陵县,民政事业费,中央,12345678901234567\n"
        + "2017,431022,宜章县,民政事业费,中央,1e308\n"
        + "2017,431026,汝城县,民政事业费,中央,1000.00\n",
        encoding="utf-8",
    )
    home = tmp_path / "home"
    summary = nightly(inbox=str(tmp_path / "inbox"), home=str(home))
    assert summary["failed_provinces"] == {}
    assert summary["exit_code"] == 3
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        ledger = dict(con.execute("select file_name, status from meta.submissions").fetchall())
        messages = dict(con.execute("select file_name, message from meta.submissions").fetchall())
        reasons = [
            r
            for r in con.execute(
                "select reason, reason_code from meta.rejections join meta.submissions using (submission_id) "
                "where file_name like '%.csv' order by row_number"
            ).fetchall()
        ]
        loaded = con.execute("select amount_yuan from core.fct_fund_allocation").fetchall()
    assert ledger == {"deep.json": "rejected", "湖南省民政资金2017更正.csv": "partially_loaded"}
    assert "[json_too_deep]" in messages["deep.json"]
    assert len(reasons) == 3
    assert [code for _, code in reasons] == ["number_too_many_digits", "number_out_of_range", "number_out_of_range"]
    assert all(reason.startswith("“金额（元）”的") for reason, _ in reasons)
    assert [float(r[0]) for r in loaded] == [1000.0]
