"""Numbers as clerks write them in provincial forms, read in one place.

Everything fupin knows about a number in a cell lives here: digits grouped by three (千分位), full-width
digits (１２３), a unit in the cell (万元, %, 人), the unit a column or the sheet states (万元 → yuan), rates
as percentages or fractions, the ways of writing 'none' (``values.is_missing``), the bounds beyond which a
cell is a typing error, and an Excel float as the text Excel shows (12345.600000000002 → '12345.6').

One grammar (``_SIGN``, ``_WHOLE``, ``_FRACTION``, ``_EXPONENT``, ``CELL_UNITS``) makes every pattern: the
scalar reader ``parse_number``, the parser's ``looks_numeric`` and the column reader ``plain_numbers``, which
settles a column's plain numbers ('1,234.5', '-7') on Arrow and numpy exactly as ``parse_number`` reads them;
its other cells are ``parse_number``'s, one call per distinct cell (``tasks.normalise.columns``).

Scalar functions raise ``CellError`` (a ``ValueError``) with a reason in Chinese that follows the submitter's
column header (“金额（元）”应为数字…) and a stable code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fupin.tasks.normalise.values import CellError, is_missing, to_halfwidth

# Bounds: a cell beyond them is a typing error, rejected with its row, never a crash further on.
# DECIMAL(18,2) holds 16 digits before the point; a count above China's population is no count.
MAX_NUMBER_CHARS = 64
MAX_SIGNIFICANT_DIGITS = 20
MAX_DIGITS_BEFORE_POINT = 16
MAX_COUNT = 2_000_000_000
CENT = Decimal("0.01")

_MONEY_FACTORS = {"元": 1, "千元": 1000, "万元": 10000, "亿元": 100000000}
# the units a cell may carry after its number
CELL_UNITS = ("万元", "亿元", "千元", "元", "%", "人", "户")

# the grammar: a sign, a whole part (plain or correctly grouped by three), decimals, an exponent, a unit
_SIGN = r"[+-]?"
_WHOLE = r"\d{1,3}(?:,\d{3})+|\d+"
_FRACTION = r"\.\d*"
_EXPONENT = r"[eE][+-]?\d+"
_UNIT = "|".join(CELL_UNITS)

_NUMBER = re.compile(
    rf"(?P<sign>{_SIGN})\s*(?P<digits>{_WHOLE}|(?=\.\d))(?P<fraction>{_FRACTION})?(?P<exponent>{_EXPONENT})?"
    rf"\s*(?P<unit>{_UNIT})?",
    re.ASCII,  # only ASCII digits (full-width ones are folded to them first), never Arabic-Indic or Devanagari
)
# what the parser takes for a number when it tells a header from data (any script's digits, as it always has)
_NUMERIC = re.compile(rf"{_SIGN}(?:{_WHOLE}|(?=\.\d))(?:{_FRACTION})?(?:{_EXPONENT})?\s*(?:{_UNIT})?")
# digits and commas that are no grouping by three: the clerk is told how to group
_BAD_GROUPING = re.compile(rf"{_SIGN}[\d,]+(?:{_FRACTION})?\s*(?:{_UNIT})?", re.ASCII)
# plain digits, within every bound (at most 19 significant digits, under 10^16): the common cell
_PLAIN_NUMBER = re.compile(r"\d{1,15}(?:\.\d{1,4})?", re.ASCII)
# a plain number on a column (Arrow's RE2, whose \d is ASCII): a minus, no unit, no space, no exponent
_PLAIN = rf"^(?P<sign>-?)(?P<whole>{_WHOLE})(?:\.(?P<fraction>\d*))?$"
_FEN_PLACES = 6  # decimals settled on the column: 万元 with six is yuan to the fen
_WHOLE_DIGITS = 15  # under 10^15 yuan (and within int64 in fen), well inside DECIMAL(18,2)
_COUNT_DIGITS = 9  # under 10^9: within MAX_COUNT, and within int32


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
        if "," in cleaned and _BAD_GROUPING.fullmatch(cleaned):
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


def looks_numeric(text: str | None) -> bool:
    """True for a cell that reads as a number (separators, %, a unit, full-width digits)."""
    if not text:
        return False
    return _NUMERIC.fullmatch(to_halfwidth(text).strip()) is not None


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


def money_factor(unit: str | None) -> int | None:
    """Yuan per unit of money (元 1, 千元 1000, 万元 10000, 亿元 100000000); None if not money."""
    if unit is None:
        return None
    return _MONEY_FACTORS.get(to_halfwidth(unit).strip())


def plain_factor(column_unit: str | None, default_unit: str | None) -> int | None:
    """Yuan per unit of an amount whose cell states no unit, as ``to_yuan`` reads it; None if that unit is no money."""
    unit = column_unit or default_unit
    return money_factor(unit) if unit else 1


def to_yuan(text: str | None, column_unit: str | None, default_unit: str | None) -> Decimal | None:
    """Money in yuan from a cell; the cell's own unit wins over the column's and the sheet's."""
    value, cell_unit = parse_number(text)
    if value is None:
        return None
    if cell_unit == "%":
        raise CellError(f"应为金额，填写的却是百分数「{text}」：请填写金额", "money_is_percent")
    unit = cell_unit or column_unit or default_unit
    factor = money_factor(unit) if unit else 1
    if factor is None:
        raise CellError(f"的金额单位「{unit}」无法识别：单位只能是 元、万元 或 亿元", "unknown_money_unit")
    return check_magnitude((value * factor).quantize(CENT), text)


def money_unit_of(text: str | None, column_unit: str | None, default_unit: str | None) -> str | None:
    """The unit an amount was written in, as ``to_yuan`` reads it (the cell's own, else the column's, else the
    sheet's): '万元' for 2800 under 金额（万元）; None when none is stated (read as 元) or the cell is no number."""
    try:
        value, cell_unit = parse_number(text)
    except ValueError:
        return None
    if value is None:
        return None
    unit = cell_unit or column_unit or default_unit
    return to_halfwidth(unit).strip() if unit else None


def to_count(text: str | None) -> int | None:
    """A whole number of persons, sessions or households."""
    value, unit = parse_number(text)
    if value is None:
        return None
    if unit == "%":
        raise CellError(f"应为人数或次数，填写的却是百分数「{text}」：请填写整数", "count_is_percent")
    if value != value.to_integral_value():
        raise CellError(f"应为整数，填写的是「{text}」：人数、户数、次数不能有小数", "not_whole_number")
    return check_count(int(value), text)


def to_fraction(text: str | None, column_unit: str | None, default_unit: str | None) -> float | None:
    """A rate as a fraction: '3.17%', 3.17 under a (%) header, or 0.0317."""
    value, unit = parse_number(text)
    if value is None:
        return None
    percent = unit == "%" or column_unit == "%" or (default_unit is not None and "%" in default_unit)
    if percent or value > 1:
        value = value / 100
    return float(value)


def unitless_value(text: str | None) -> Decimal | None:
    """The number of a cell that states no unit of its own (None when it states one, or is empty)."""
    value, unit = parse_number(text)
    return value if unit is None else None


def format_decimal(value: Decimal) -> str:
    """A number as plain digits: no exponent, no trailing zeros, integers without '.0'."""
    if not value.is_finite() or abs(value.adjusted()) > 64:  # no cell holds this: left as written, rejected later
        return str(value)
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def format_float(value: float) -> str:
    """A float as Excel shows it: 15 significant digits, so 12345.600000000002 → '12345.6'."""
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return format_decimal(Decimal(f"{value:.15g}"))


class Plain(NamedTuple):
    """The plain numbers of a column (``plain``) and, where plain, their parts (0 elsewhere)."""

    plain: np.ndarray
    minus: np.ndarray
    whole: np.ndarray
    micros: np.ndarray  # the decimals in millionths
    places: np.ndarray  # how many decimals the cell wrote


def plain_numbers(cells: Sequence[str | None]) -> Plain:
    """Which cells are plain numbers of at most ``_WHOLE_DIGITS`` whole and ``_FEN_PLACES`` decimal digits (within
    MAX_SIGNIFICANT_DIGITS), the numbers ``parse_number`` reads with no unit, and their parts."""
    parts = pc.extract_regex(pa.array(cells, pa.string()), _PLAIN)
    whole = pc.replace_substring(parts.field("whole"), ",", "")
    fraction = parts.field("fraction")
    places = pc.utf8_length(fraction)
    plain = pc.and_(
        parts.is_valid(),
        pc.and_(
            pc.and_(pc.less_equal(pc.utf8_length(whole), _WHOLE_DIGITS), pc.less_equal(places, _FEN_PLACES)),
            pc.less_equal(pc.add(pc.utf8_length(whole), places), MAX_SIGNIFICANT_DIGITS),
        ),
    ).fill_null(False)
    # out of bounds: '0', so the casts below cannot overflow; those cells are the scalar parser's
    whole = pc.if_else(plain, whole, "0")
    micros = pc.if_else(plain, pc.utf8_rpad(fraction, _FEN_PLACES, "0"), "0")
    return Plain(
        plain.to_numpy(zero_copy_only=False),
        pc.equal(parts.field("sign"), "-").to_numpy(zero_copy_only=False),
        pc.cast(whole, pa.int64()).to_numpy(zero_copy_only=False),
        pc.cast(micros, pa.int64()).to_numpy(zero_copy_only=False),
        pc.if_else(plain, places, 0).to_numpy(zero_copy_only=False),
    )


def plain_sum(cells: Sequence[str | None]) -> tuple[Decimal, int] | None:
    """The sum of the cells' plain numbers and how many there are, the Decimal that summing ``parse_number``'s
    values from Decimal(0) gives, to its last written decimal; None when some other cell holds a number too
    (a unit in it, full-width digits …), which only ``parse_number`` reads."""
    plain, minus, whole, micros, places = plain_numbers(cells)
    others = {cells[i] for i in np.flatnonzero(~plain).tolist()}
    for cell in others:
        try:
            if parse_number(cell)[0] is not None:
                return None
        except ValueError:
            continue
    signed = np.where(minus, -1, 1)
    # in Python integers: 100,000 amounts of 15 digits overflow int64
    micros_total = sum((whole * signed).tolist()) * 10**_FEN_PLACES + sum((micros * signed).tolist())
    exponent = -int(places.max(initial=0))  # a sum of Decimals keeps the most decimals any of them wrote
    total = Decimal(micros_total).scaleb(-_FEN_PLACES).quantize(Decimal(1).scaleb(exponent))
    return total, int(plain.sum())


def number_sum(cells: Sequence[str | None]) -> tuple[Decimal, int]:
    """The sum of the cells' numbers and how many there are (``parse_number``'s; empty and refused cells left out)."""
    found = plain_sum(cells)
    if found is not None:
        return found
    memo: dict[str | None, Decimal | None] = {}
    for cell in dict.fromkeys(cells):
        try:
            memo[cell] = parse_number(cell)[0]
        except ValueError:
            memo[cell] = None
    values = [memo[c] for c in cells if memo[c] is not None]
    return sum(values, Decimal(0)), len(values)


def plain_yuan(cells: Sequence[str | None], factor: int) -> tuple[np.ndarray, pa.Array]:
    """(where settled, yuan as DECIMAL(18,2)) of a column's plain numbers × ``factor`` (yuan per unit of the
    column), in integer fen, rounded half to even as ``to_yuan``'s Decimal.quantize rounds; 0 where not settled."""
    plain, minus, whole, micros, _ = plain_numbers(cells)
    settled = plain & (whole < 10**_WHOLE_DIGITS // factor)
    per_unit = factor * 100  # fen per unit
    scale = 10**_FEN_PLACES
    fen, rest = np.divmod(np.where(settled, micros, 0) * per_unit, scale)
    fen += np.where(settled, whole, 0) * per_unit
    fen += (2 * rest > scale) | ((2 * rest == scale) & (fen % 2 == 1))
    return settled, _yuan_of_fen(np.where(minus, -fen, fen))


def _yuan_of_fen(fen: np.ndarray) -> pa.Array:
    """Fen as DECIMAL(18,2) yuan: a decimal's stored integer is its value in hundredths, little-endian in 128 bits."""
    words = np.empty((len(fen), 2), np.int64)
    words[:, 0], words[:, 1] = fen, fen >> 63
    return pa.Array.from_buffers(pa.decimal128(18, 2), len(fen), [None, pa.py_buffer(words)])


def plain_counts(cells: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """(where settled, the whole numbers) of a column's plain integers ('1,234', '12.0'), as ``to_count`` reads
    them; 0 where not settled."""
    plain, minus, whole, micros, _ = plain_numbers(cells)
    settled = plain & (whole < 10**_COUNT_DIGITS) & (micros == 0)
    return settled, np.where(settled, np.where(minus, -whole, whole), 0)
