"""Text from outside (file names, cell values) made safe to store, print and hand to a spreadsheet."""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from datetime import date
from typing import Any

# what Excel, LibreOffice and Google Sheets start a formula with (tab and CR too, per OWASP's CSV-injection advice)
FORMULA_STARTS = ("=", "+", "-", "@", "|", "\t", "\r")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\e"}
# control, format, surrogate and line/paragraph separators: the characters a terminal acts on or a store refuses
_HIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def printable(text: Any) -> str:
    """``text`` with control characters escaped (``\\n``, ``\\e``, ``\\u202e``) and undecodable bytes as ``\\xNN``.

    A file name whose bytes are not UTF-8 reaches Python with surrogate escapes; they become the
    bytes' hex, so the name can be stored as UTF-8 and shown without forging a line or a colour.
    """
    out = []
    for ch in str(text):
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's surrogateescape of an undecodable byte
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch in _NAMED:
            out.append(_NAMED[ch])
        elif unicodedata.category(ch) in _HIDDEN_CATEGORIES:
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    return "".join(out)


def neutralise(value: Any) -> Any:
    """A text cell that Excel would run as a formula gets a leading apostrophe; other values pass."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


# --- the gate: every piece of submitted text passes ``gate`` before it is stored outside raw/ or shown ---

# Provinces' two-digit codes (GB/T 2260): a resident ID number begins with one
PROVINCE_PREFIXES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)
_CHECK = "Xx\uff38\uff58"  # X, x, full-width Ｘ, ｘ
# what a clerk types between an ID number's digit groups: spaces of any width (NBSP, ideographic), dashes, dots
_SEP = r"[\ud800\s\-\.\u00a0\u2000-\u200a\u202f\u205f\u3000\u2010-\u2015\u2212\ufe58\ufe63\uff0d\uff0e_·・]"
# digit groups (any script's decimal digits, an X only at a group's end) joined by up to 3 separators
_RUN = re.compile(rf"\d+[{_CHECK}]?(?:{_SEP}{{1,3}}\d+[{_CHECK}]?)*")
_GROUP = re.compile(rf"\d+[{_CHECK}]?")
# a hash or UUID (32 or more hex characters, a letter among them) is not an ID number, whatever digits it holds
_HEX = re.compile(r"(?<![0-9A-Za-z])(?=[0-9A-Fa-f-]*[A-Fa-f])[0-9A-Fa-f](?:-?[0-9A-Fa-f]){31,}(?![0-9A-Za-z])")
_DIGIT = re.compile(r"\d")
_KEPT_CONTROLS = frozenset("\t\n\r")
# the same tests in RE2 (Arrow's compute functions) to pick the few cells of a column that ``gate`` may change:
# an ID number is 15 digits at least (any width), at most 3 other characters apart; without a format or control
# character nothing is invisible
ID_PREFILTER = r"\p{Nd}(?:[^\p{Nd}]{0,3}\p{Nd}){14}"
INVISIBLE = r"[\p{Cf}\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"


# where an invisible character was, while IDs are looked for: a separator between digit groups (a lone
# surrogate, which no decoded text holds)
_MARK = "\ud800"


@functools.cache
def _invisible(replacement: str | None = None) -> dict[int, str | None]:
    """str.translate's table replacing every format (Cf) and control (Cc) character but tab, CR and LF."""
    if replacement is not None:  # the same characters, found once (a pass over every code point)
        return dict.fromkeys(_invisible(), replacement)
    return {
        code: None
        for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)) in ("Cf", "Cc") and chr(code) not in _KEPT_CONTROLS
    }


def without_invisible(text: str) -> str:
    """``text`` without bidirectional overrides (RLO), zero-width joiners and spaces, BOMs and other Cf/Cc
    characters (tab, CR and LF are kept: showing them is ``printable``'s work)."""
    return text.translate(_invisible()) if text and not text.isprintable() else text


def _marked(text: str) -> str:
    """``text`` with each invisible character a separator mark: ``3608\u200b2719…`` splits into groups, and a
    number ending where an RLO stands does not run into the digits after it."""
    return text.translate(_invisible(_MARK)) if text and not text.isprintable() else text


def _real_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _plausible(digits: str) -> bool:
    """An ID number's body that could have been issued: a province's code first, a real birth date after the
    6-digit division code (yyyymmdd in the 18-digit form, 1900-2099; yymmdd in the 15-digit form, 19yy)."""
    if digits[:2] not in PROVINCE_PREFIXES:
        return False
    if len(digits) == 18:
        year = int(digits[6:10])
        return 1900 <= year <= 2099 and _real_date(year, int(digits[10:12]), int(digits[12:14]))
    return _real_date(1900 + int(digits[6:8]), int(digits[8:10]), int(digits[10:12]))


def _folded(group: str) -> str:
    """A digit group in ASCII: full-width or other scripts' digits as 0-9, a check character as X."""
    if group.isascii():
        return group.upper()
    return "".join("X" if ch in _CHECK else str(unicodedata.digit(ch)) for ch in group)


def _id_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, digits) of every resident ID number in ``text`` (invisible characters already removed).

    Width and separators are normalised first: full-width digits and Ｘ count as ASCII, and digit groups
    joined by spaces, dashes or dots (``3608 2719 9001 0112 34``) are read as one number. An ID is a
    whole group or a run of whole groups — never part of a longer run of digits — that is:
    - 18 characters typed as one group (17 digits and a digit or X, check character valid or not): an ID,
      as ever; a word may touch it (``身份证3608…``, ``张三3608…``);
    - 18 characters over several groups, or 15 digits (the pre-1999 form: division code, yymmdd,
      3-digit sequence): an ID when plausible — a province's code first and a real birth date — so that
      ordinary long numbers (amounts, phone numbers, years side by side) are not masked.
    Digits inside a hash or UUID (32+ hex characters) are never an ID.
    """
    if len(_DIGIT.findall(text)) < 15:  # the cheap test nearly every text stops at
        return []
    hexes: list[tuple[int, int]] | None = None
    spans = []
    for run in _RUN.finditer(text):
        size = run.end() - run.start()
        if size < 15:
            continue
        if size > 18 and run.group().isdigit():  # one long group of digits (an account, a household number)
            continue
        groups = [
            (m.start() + run.start(), m.end() + run.start(), _folded(m.group())) for m in _GROUP.finditer(run.group())
        ]
        i = 0
        while i < len(groups):
            found = None
            digits = ""
            for j in range(i, len(groups)):
                digits += groups[j][2]
                if len(digits) > 18 or ("X" in digits[:-1]):
                    break
                one = i == j
                if (len(digits) == 18 and (one or _plausible(digits))) or (
                    len(digits) == 15 and "X" not in digits and _plausible(digits)
                ):
                    found = (groups[i][0], groups[j][1], digits)
                    if len(digits) == 18:
                        break
            if found and hexes is None:
                hexes = [m.span() for m in _HEX.finditer(text)]
            if found and not any(s < found[1] and found[0] < e for s, e in hexes or ()):
                spans.append(found)
                while i < len(groups) and groups[i][0] < found[1]:
                    i += 1
            else:
                i += 1
    return spans


def gate(text: Any) -> str:
    """Submitted text as it may be stored outside the raw archive or shown: invisible characters removed and
    every resident ID number (any width, grouping or form, see ``_id_spans``) masked but its 6-digit
    division code: ``张三３６０８２７ １９９０…`` → ``张三360827************``."""
    text = _marked(str(text))
    spans = _id_spans(text)
    if spans:
        out, at = [], 0
        for start, end, digits in spans:
            out += [text[at:start], digits[:6], "*" * (len(digits) - 6)]
            at = end
        text = "".join([*out, text[at:]])
    return text.replace(_MARK, "") if _MARK in text else text


def mask_ids(text: Any) -> Any:
    """``gate`` for text; any other value passes as it is."""
    return gate(text) if isinstance(text, str) else text


def has_id(text: Any) -> bool:
    """True when ``text`` holds a resident ID number in any shape ``gate`` masks."""
    return isinstance(text, str) and bool(_id_spans(_marked(text)))


def shown_name(text: Any) -> str:
    """A submitted file name or path as fupin stores and shows it: ``gate``'d, then ``printable`` (tab, CR, LF and
    undecodable bytes escaped). Idempotent: a name read back from the ledger maps to itself."""
    return printable(gate(text))
