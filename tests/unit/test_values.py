"""Cell value parsers: explicit clerk-written cases and properties over generated numbers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fupin.core.reference import aliases, counties, provinces, resolve_county, stem
from fupin.tasks.normalise.helpers import clean_label
from fupin.tasks.normalise.numbers import money_factor, parse_number, to_fraction, to_yuan
from fupin.tasks.normalise.values import MISSING, CellError, is_missing, parse_year, to_halfwidth, unit_in_header

NAMES = {
    "—": "em-dash",
    "–": "en-dash",
    "－": "fullwidth-hyphen",
    "无": "wu",
    "\u3000": "ideographic-space",
}
FULLWIDTH = str.maketrans("0123456789.,%+-", "０１２３４５６７８９．，％＋－")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("１２３，４５６．７％", "123,456.7%", id="digits-comma-point-percent"),
        pytest.param("２０１７年", "2017年", id="year"),
        pytest.param("\u3000遂川县\u3000", " 遂川县 ", id="ideographic-space"),
        pytest.param("ＡＢＣ（万元）", "ABC(万元)", id="letters-and-parentheses"),
    ],
)
def test_to_halfwidth(text, expected):
    assert to_halfwidth(text) == expected


@pytest.mark.parametrize(
    "text",
    [None, *sorted(MISSING), " — ", "———", "n/a", "NULL", "\u3000"],
    ids=lambda t: "none" if t is None else "".join(NAMES.get(c, c) for c in t),
)
def test_missing(text):
    assert is_missing(text)
    assert parse_number(text) == (None, None)
    assert parse_year(text) is None


@pytest.mark.parametrize("text", ["0", "遂川县", "--5"], ids=["zero", "county", "double-dash-number"])
def test_not_missing(text):
    assert not is_missing(text)


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        pytest.param("1,234.5万元", "1234.5", "万元", id="separators-and-wan-yuan"),
        pytest.param("3.17%", "3.17", "%", id="percent"),
        pytest.param("３．１７％", "3.17", "%", id="fullwidth-percent"),
        pytest.param("12人", "12", "人", id="persons"),
        pytest.param("4 户", "4", "户", id="households-after-space"),
        pytest.param(" 68386 ", "68386", None, id="surrounding-spaces"),
        pytest.param("+5", "5", None, id="plus-sign"),
        pytest.param("-1,200", "-1200", None, id="negative-with-separator"),
        pytest.param("7.06亿元", "7.06", "亿元", id="yi-yuan"),
        pytest.param("5000元", "5000", "元", id="yuan"),
        pytest.param("１，０００", "1000", None, id="fullwidth-separator"),
        pytest.param(".5", "0.5", None, id="leading-point"),
        pytest.param("1.2E+05", "120000", None, id="exponent"),
    ],
)
def test_parse_number(text, value, unit):
    assert parse_number(text) == (Decimal(value), unit)


@pytest.mark.parametrize(
    ("text", "code", "reason"),
    [
        pytest.param("12a", "not_a_number", "应为数字，填写的是「12a」", id="trailing-letter"),
        pytest.param("1,23", "number_bad_grouping", "千位分隔符须每三位一组", id="bad-grouping"),
        pytest.param("%", "not_a_number", "填写的是「%」", id="percent-alone"),
        pytest.param("12 34", "not_a_number", "应为数字", id="space-inside"),
        pytest.param("5公斤", "not_a_number", "应为数字", id="unknown-unit"),
        pytest.param("NaN", "not_a_number", "应为数字", id="nan"),
    ],
)
def test_parse_number_refuses(text, code, reason):
    with pytest.raises(CellError, match=reason) as refused:
        parse_number(text)
    assert refused.value.code == code


@pytest.mark.parametrize(
    ("label", "base", "unit"),
    [
        pytest.param("金额（万元）", "金额", "万元", id="fullwidth-parentheses"),
        pytest.param("贫困发生率(%)", "贫困发生率", "%", id="halfwidth-percent"),
        pytest.param("贫困发生率（％）", "贫困发生率", "%", id="fullwidth-percent"),
        pytest.param("人口【人】", "人口", "人", id="lenticular-brackets"),
        pytest.param("资金[元]", "资金", "元", id="square-brackets"),
        pytest.param("落地资金（单位：万元）", "落地资金", "万元", id="danwei-prefix"),
        pytest.param("资金（中央）（万元）", "资金（中央）", "万元", id="last-bracket-is-the-unit"),
        pytest.param("县（市、区）", "县（市、区）", None, id="bracket-not-a-unit"),
        pytest.param("县名", "县名", None, id="no-bracket"),
        pytest.param("人口（万人）", "人口（万人）", None, id="ten-thousand-persons-not-a-unit"),
    ],
)
def test_unit_in_header(label, base, unit):
    assert unit_in_header(label) == (base, unit)


@pytest.mark.parametrize(
    ("unit", "factor"),
    [
        ("元", 1),
        ("千元", 1000),
        ("万元", 10000),
        ("亿元", 100000000),
        ("%", None),
        ("人", None),
        (None, None),
    ],
    ids=["yuan", "thousand-yuan", "wan-yuan", "yi-yuan", "percent", "persons", "none"],
)
def test_money_factor(unit, factor):
    assert money_factor(unit) == factor


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("2017", id="plain"),
        pytest.param("2017年", id="nian"),
        pytest.param("2017-12-31", id="iso-date"),
        pytest.param("2017年底", id="year-end"),
        pytest.param("2017.0", id="float-from-excel"),
        pytest.param("２０１７", id="fullwidth"),
        pytest.param("2017年度", id="niandu"),
        pytest.param("2017/12/31", id="slash-date"),
        pytest.param("2017年12月", id="year-month"),
        pytest.param("2017-12-31 00:00:00", id="datetime"),
    ],
)
def test_parse_year(text):
    assert parse_year(text) == 2017


@pytest.mark.parametrize(
    ("text", "code", "reason"),
    [
        pytest.param("1900", "year_out_of_range", "1949–2100", id="too-early"),
        pytest.param("2101年", "year_out_of_range", "1949–2100", id="too-late"),
        pytest.param("17年", "not_a_year", "应为年份", id="two-digits"),
        pytest.param("去年", "not_a_year", "应为年份", id="words"),
        pytest.param("43100", "year_excel_serial", r"Excel 日期序号（2017-12-31）.*如 2017", id="excel-serial"),
    ],
)
def test_parse_year_refuses(text, code, reason):
    with pytest.raises(CellError, match=reason) as refused:
        parse_year(text)
    assert refused.value.code == code


money = st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2, allow_nan=False)


@given(money)
def test_thousands_separators_parse_back(d):
    assert parse_number(f"{d:,}") == (d, None)


@given(money)
def test_fullwidth_parses_like_halfwidth(d):
    text = f"{d:,}"
    assert parse_number(text.translate(FULLWIDTH)) == parse_number(text)


@given(money.map(abs))
def test_percent_keeps_the_number(d):
    assert parse_number(f"{d}%") == (d, "%")


@given(money, st.sampled_from(["元", "万元", "亿元", "人", "户"]), st.sampled_from(["", " ", "\u3000"]))
def test_trailing_unit_and_spaces(d, unit, space):
    assert parse_number(f"{space}{d:,}{space}{unit}{space}") == (d, unit)


@given(
    st.integers(min_value=1949, max_value=2100),
    st.sampled_from(["{}", "{}年", "{}-12-31", "{}年底", "{}.0"]),
)
def test_year_forms(year, form):
    assert parse_year(form.format(year)) == year


# --- units: money in yuan, rates as fractions ----------------------------------------------------

FACTORS = {"元": 1, "千元": 1000, "万元": 10000, "亿元": 100000000}
money_units = st.sampled_from(sorted(FACTORS))
# amounts whose yuan fit DECIMAL(18,2) in every unit (1e7 亿元 = 1e15 元); beyond, test_poison.py
money_in_units = st.decimals(min_value=Decimal("-1e7"), max_value=Decimal("1e7"), places=2, allow_nan=False)


@given(money_in_units, money_units)
def test_cell_unit_gives_yuan(d, unit):
    assert to_yuan(f"{d:,}{unit}", None, None) == (d * FACTORS[unit]).quantize(Decimal("0.01"))


@given(money_in_units, money_units, money_units, money_units)
def test_cell_unit_wins_over_header_and_sheet(d, cell, header, sheet):
    assert to_yuan(f"{d}{cell}", header, sheet) == to_yuan(f"{d}", cell, None) == to_yuan(f"{d}", None, cell)


@given(money_in_units, money_units, money_units)
def test_header_unit_wins_over_sheet(d, header, sheet):
    assert to_yuan(str(d), header, sheet) == (d * FACTORS[header]).quantize(Decimal("0.01"))


@given(st.sampled_from(["金额", "落地资金", "下达资金", "贫困发生率", "人口"]), money_units | st.just("%"))
def test_header_label_with_a_unit_in_any_brackets(base, unit):
    for left, right in (("（", "）"), ("(", ")"), ("【", "】"), ("[", "]")):
        assert unit_in_header(f"{base}{left}{unit}{right}") == (base, unit)
        assert clean_label(f" {base}\n{left}{unit}{right} ") == (base, unit)


@given(st.decimals(min_value=0, max_value=100, places=2))
def test_rates_become_fractions_however_written(p):
    fraction = float(p / 100)
    assert to_fraction(f"{p}%", None, None) == pytest.approx(fraction)
    assert to_fraction(f"{p}".translate(FULLWIDTH) + "％", None, None) == pytest.approx(fraction)
    assert to_fraction(str(p), "%", None) == pytest.approx(fraction)


# --- counties: every current county resolves from its name, code and stem ----------------------

ALL_COUNTIES = sorted(counties().values(), key=lambda c: c.county_code)


def _round_trips(value: str, county) -> bool:
    hit = resolve_county(value, county.province_code)
    if hit.county_code == county.county_code:
        return True
    # two current counties of one province may share a name (桥西区 in 石家庄 and 张家口)
    return hit.county_code is None and hit.code == "county_ambiguous" and county.county_code in hit.reason


@given(st.sampled_from(ALL_COUNTIES))
@settings(deadline=None)  # the first call builds the alias table
def test_county_code_in_every_form_resolves_to_itself(county):
    code = county.county_code
    for form in (code, f"{code}.0", f" {code} ", f"{code}000000", int(code)):
        assert resolve_county(str(form), county.province_code).county_code == code


@given(st.sampled_from(ALL_COUNTIES))
@settings(deadline=None)  # the first call builds the alias table
def test_county_name_and_stem_resolve_within_their_province(county):
    assert _round_trips(county.county_name, county)
    short = stem(county.county_name)
    if len(short) >= 2:  # one-character stems (赵, 涉) are too ambiguous to accept
        assert _round_trips(short, county)


@given(st.sampled_from(ALL_COUNTIES), st.sampled_from(sorted(provinces())))
@settings(deadline=None)  # the first call builds the alias table
def test_county_of_another_province_is_refused_naming_its_province(county, province):
    if province == county.province_code:
        return
    hit = resolve_county(county.county_code, province)
    assert hit.county_code is None
    assert hit.code == "county_other_province"
    assert f"是{county.province_name}的" in hit.reason and county.county_code in hit.reason


@pytest.mark.parametrize(
    ("value", "code"),
    [
        pytest.param("赣县", "360704", id="old-name-now-a-district"),
        pytest.param("南康市", "360703", id="old-city-now-a-district"),
        pytest.param("360721", "360704", id="old-code"),
        pytest.param("360782", "360703", id="old-city-code"),
        pytest.param("遂川", "360827", id="name-without-suffix"),
        pytest.param("360827.0", "360827", id="code-as-a-float"),
        pytest.param("遂川 县", "360827", id="stray-space"),
    ],
)
def test_jiangxi_county_forms(value, code):
    assert resolve_county(value, "36").county_code == code


def test_every_former_county_code_resolves_to_a_current_county_of_its_province():
    for alias, hits in aliases().items():
        for county_code, province, kind in hits:
            if kind == "old_code":
                assert alias[:2] == province == county_code[:2]
                assert county_code in counties()
