"""Cell value parsers: 'none', widths, units in headers and years as clerks write them in provincial forms.

Numbers are read in ``tasks.normalise.numbers``. Pure functions on strings; errors are ``CellError`` (a
``ValueError``) with a reason a clerk can act on, in Chinese, worded to follow the submitter's column header
(“金额（元）”应为数字…), and a stable code.
"""

from __future__ import annotations

import datetime as dt
import re

MISSING = {"", "—", "–", "-", "/", "无", "－", "——", "N/A", "NA", "null", "None"}
_MISSING_FOLDED = {m.casefold() for m in MISSING}
_LONGEST_MISSING = max(map(len, _MISSING_FOLDED))
_DASHES = "-—–－"  # the dashes a run of which is missing, the full-width hyphen among them

# Units recognised in a header's brackets. 万人 is deliberately absent: counts are read as
# persons, so a "(万人)" column must stay visibly unmapped rather than be off by 10,000.
_HEADER_UNITS = {"元", "万元", "亿元", "千元", "%", "人", "户", "人次", "个", "期", "次", "名"}


class CellError(ValueError):
    """A cell its parser refuses: the reason (Chinese, to follow the column's header) and its stable code."""

    def __init__(self, reason: str, code: str):
        super().__init__(reason)
        self.code = code


_EXCEL_EPOCH = dt.date(1899, 12, 30)  # Excel's day 0, after its 1900 leap-year bug
_FULLWIDTH = {i: i - 0xFEE0 for i in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
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
