"""Traditional characters and variant forms read as simplified, for matching (OpenCC's t2s conversion).

Headers, titles, county names and coded cells (fund type, fund level) are matched on their
simplified form; the text a form submits (organisation and project names) is stored as written.
The converter is made once; each distinct text is converted once (the normaliser works on distinct
values, so a big file costs one conversion per county name, not one per row).
"""

from __future__ import annotations

from functools import cache, lru_cache

import opencc


@cache
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


@cache
def _to_traditional() -> opencc.OpenCC:
    return opencc.OpenCC("s2t")


def traditional(text: str) -> str:
    """``text`` in traditional characters (a fixed word list's other written form: 监督电话 → 監督電話)."""
    return _to_traditional().convert(text)


@lru_cache(maxsize=65536)
def simplified(text: str) -> str:
    """``text`` in simplified characters: 吉安市省級民政事業費 → 吉安市省级民政事业费 (ASCII unchanged, quickly)."""
    if not text or text.isascii():
        return text
    return _converter().convert(text)
