"""Cell value parsers: numbers, units and years as clerks write them in provincial forms.

Pure functions on strings; errors are ``CellError`` (a ``ValueError``) with a reason a clerk can act on,
in Chinese, worded to follow the submitter's column header (“金额（元）”应为数字…), and a stable code.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

MISSING = {"", "—", "–", "-", "/", "无", "－", "——", "N/A", "NA", "null", "None"}
_MISSING_FOLDED = {m.casefold() for m in MISSING}
_LONGEST_MISSING = max(map(len, _MISSING_FOLDED))
_DASHES = "-—–－"  # the dashes a run of which is missing, the full-width hyphen among them

# Units recognised in a header's brackets. 万人 is deliberately absent: counts are read as
# persons, so a "(万人)" column must stay visibly unmapped rather than be off by 10,000.
_HEADER_UNITS = {"元", "万元", "亿元", "千元", "%", "人", "户", "人次", "个", "期", "次", "名"}
_MONEY_FACTORS = {"元": 1, "千元": 1000, "万元": 10000, "亿元": 100000000}

# Bounds: a cell beyond them is a typing error, rejected with its row, never a crash further on.
# DECIMAL(18,2) holds 16 digits before the point; a count above China's population is no count.
MAX_NUMBER_CHARS = 64
MAX_SIGNIFICANT_DIGITS = 20
MAX_DIGITS_BEFORE_POINT = 16
MAX_COUNT = 2_000_000_000


class CellError(ValueError):
    """A cell its parser refuses: the reason (Chinese, to follow the column's header) and its stable code."""

    def __init__(self, reason: str, code: str):
        super().__init__(reason)
        self.code = code


_EXCEL_EPOCH = dt.date(1899, 12, 30)  # Excel's day 0, after its 1900 leap-year bug
_FULLWIDTH = {i: i - 0xFEE0 for i in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_NUMBER = re.compile(
    r"""
    (?P<sign>[+-]?)\s*
    (?P<digits>\d{1,3}(?:,\d{3})+|\d+|(?=\.\d))   # plain or correctly grouped integer part
    (?P<fraction>\.\d*)?
    (?P<exponent>[eE][+-]?\d+)?
    \s*(?P<unit>万元|亿元|千元|元|%|人|户)?
    """,
    re.VERBOSE | re.ASCII,
)
# plain digits, within every bound (at most 19 significant digits, under 10^16): the common cell
_PLAIN_NUMBER = re.compile(r"\d{1,15}(?:\.\d{1,4})?", re.ASCII)
_HEADER_UNIT = re.compile(
    r"^(?P<base>.*?)\s*[(（\[【]\s*(?:单位\s*[:：]\s*)?(?P<unit>[^()（）\[\]【】]+?)\s*[)）\]】]\s*$"
)
# re.ASCII: only ASCII digits (full-width ones are folded to them first), never Arabic-Indic or Devanagari
_YEAR_FORMS = (
    re.compile(r"^(?P<y>\d{4})(?:\.0+)?$", re.ASCII),
    re.compile(r"^(?P<y>\d{4})\s*年\s*(?:度|底|末|初|中)?$", re.ASCII),
    re.compile(
        r"^(?P<y>\d{4})\s*[-/.年]\s*\d{1,2}\s*(?:[-/.月]\s*\d{1,2}\s*日?|月(?:底|末|份)?)?"
        r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$",
        re.ASCII,
    ),
)


def to_halfwidth(text: str) -> str:
    """Full-width digits, letters and punctuation as ASCII; the ideographic space as a space."""
    return text.translate(_FULLWIDTH)


def is_missing(text: str | None) -> bool:
    """True for an empty cell or a clerk's way of writing 'none' (—, -, /, 无, N/A …)."""
    if text is None:
        return True
    core = str(text).strip()
    if len(core) > _LONGEST_MISSING and core.strip(_DASHES):
        return False  # longer than every word for 'none', and not a run of dashes: most cells, decided cheaply
    folded = to_halfwidth(str(text)).strip().casefold()
    return folded in _MISSING_FOLDED or re.fullmatch(r"[-—–]+", folded) is not None


def parse_number(text: str | None) -> tuple[Decimal | None, str | None]:
    """(value, unit) of a cell like '1,234.5万元', '３.１７％' or '12人'; missing → (None, None)."""
    if type(text) is str and _PLAIN_NUMBER.fullmatch(text):
        return Decimal(text), None  # what the full path below gives for plain digits, without its steps
    if is_missing(text):
        return None, None
    assert text is not None
    cleaned = to_halfwidth(str(text)).strip().replace("\u00a0", " ")
    if len(cleaned) > MAX_NUMBER_CHARS:
        raise CellError(
            f"数值过长（{len(cleaned)} 个字符，最多 {MAX_NUMBER_CHARS} 个），开头是「{cleaned[:24]}…」："
            "请只填写一个数字",
            "number_too_long",
        )
    match = _NUMBER.fullmatch(cleaned)
    if match is None:
        if "," in cleaned and re.fullmatch(r"[+-]?[\d,]+(\.\d*)?\s*(?:万元|亿元|千元|元|%|人|户)?", cleaned, re.ASCII):
            raise CellError(
                f"应为数字，填写的是「{text}」：千位分隔符须每三位一组（如 1,234,567），或不用分隔符",
                "number_bad_grouping",
            )
        raise CellError(f"应为数字，填写的是「{text}」：请只填写数字（如 1234.56），单位写在表头", "not_a_number")
    literal = (
        match["sign"]
        + (match["digits"] or "0").replace(",", "")
        + (match["fraction"] or "")
        + (match["exponent"] or "")
    )
    try:
        value = Decimal(literal)
    except InvalidOperation:  # pragma: no cover - the pattern only admits valid literals
        raise CellError(f"应为数字，填写的是「{text}」", "not_a_number") from None
    if len(value.as_tuple().digits) > MAX_SIGNIFICANT_DIGITS:
        raise CellError(
            f"的有效数字过多（最多 {MAX_SIGNIFICANT_DIGITS} 位），填写的是「{text}」：请核对数值",
            "number_too_many_digits",
        )
    return check_magnitude(value, text), match["unit"]


def check_magnitude(value: Decimal, text: object = None) -> Decimal:
    """``value`` if it fits DECIMAL(18,2) (under 10^16 in absolute value); otherwise a ValueError naming the cell."""
    # by the exponent, not abs(): 1E+1000000 would overflow the arithmetic context
    if value and value.adjusted() >= MAX_DIGITS_BEFORE_POINT:
        shown = value if text is None else text
        raise CellError(
            f"的数值超出范围（绝对值须小于 10^16），填写的是「{shown}」：请核对数值和单位", "number_out_of_range"
        )
    return value


def check_count(value: int, text: object = None) -> int:
    """``value`` unless it is more persons, households or sessions than China has (negatives: tasks.validate)."""
    if value > MAX_COUNT:
        shown = value if text is None else text
        raise CellError(
            f"的人数或次数过大（最多 {MAX_COUNT:,}），填写的是「{shown}」：请核对数值", "count_out_of_range"
        )
    return value


def unit_in_header(label: str) -> tuple[str, str | None]:
    """Split a unit in brackets off a header label: '金额（万元）' → ('金额', '万元')."""
    stripped = label.strip()
    match = _HEADER_UNIT.match(stripped)
    if match:
        unit = to_halfwidth(match["unit"]).strip()
        if unit in _HEADER_UNITS and match["base"].strip():
            return match["base"].strip(), unit
    half = to_halfwidth(stripped)
    if half.endswith("%") and len(half) > 1:
        return stripped[:-1].rstrip(), "%"
    return stripped, None


def money_factor(unit: str | None) -> int | None:
    """Yuan per unit of money (元 1, 千元 1000, 万元 10000, 亿元 100000000); None if not money."""
    if unit is None:
        return None
    return _MONEY_FACTORS.get(to_halfwidth(unit).strip())


def parse_year(text: str | None) -> int | None:
    """The year of '2017', '2017年底', '2017-12-31', '2017.0' or '２０１７'; missing → None."""
    if is_missing(text):
        return None
    assert text is not None
    cleaned = to_halfwidth(str(text)).strip()
    for form in _YEAR_FORMS:
        match = form.match(cleaned)
        if match:
            year = int(match["y"])
            if not 1949 <= year <= 2100:
                raise CellError(
                    f"的年份须在 1949–2100 之间，填写的是「{text}」：请填写四位数的年份，如 2017", "year_out_of_range"
                )
            return year
    serial = re.fullmatch(r"(?P<days>\d{5})(?:\.0+)?", cleaned, re.ASCII)
    if serial and 36526 <= int(serial["days"]) <= 73415:  # 2000-01-01 … 2100-12-31 as Excel counts days
        day = _EXCEL_EPOCH + dt.timedelta(days=int(serial["days"]))
        raise CellError(
            f"应为年份，填写的「{text}」像是丢了日期格式的 Excel 日期序号（{day.isoformat()}）："
            f"请直接填写年份，如 {day.year}",
            "year_excel_serial",
        )
    raise CellError(f"应为年份，填写的是「{text}」：请填写四位数的年份，如 2017", "not_a_year")
