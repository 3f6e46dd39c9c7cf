"""Text from outside (file names, cell values) made safe to store, print and hand to a spreadsheet."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

# what Excel, LibreOffice and Google Sheets start a formula with (tab and CR too, per OWASP's CSV-injection advice)
FORMULA_STARTS = ("=", "+", "-", "@", "|", "\t", "\r")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\e"}
# control, format, surrogate and line/paragraph separators: the characters a terminal acts on or a store refuses
_HIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}
# a resident ID number's shape (18 characters, the last may be X), not inside a longer run of digits or letters
ID_SHAPE = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


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


def mask_ids(text: Any) -> Any:
    """Text with every ID-number-shaped token masked but its 6-digit division code: '360827************'."""
    if not isinstance(text, str):
        return text
    return ID_SHAPE.sub(lambda m: m.group()[:6] + "*" * 12, text)


def has_id(text: Any) -> bool:
    """True when ``text`` holds an ID-number-shaped token."""
    return isinstance(text, str) and ID_SHAPE.search(text) is not None
