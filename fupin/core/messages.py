"""Stable machine codes beside the Chinese messages clerks read.

A file-level message (``meta.submissions.message``) ends its clause with its code in brackets,
``…请在 Excel 中另存为 .xlsx 后重新报送 [not_a_workbook]``; ``message_code`` is the first such code,
stored beside the message for engineers and tests. Row rejections carry theirs in ``Rejection.code``;
older reasons that embed a bracketed code get it the same way.

A message also quotes what was submitted (a file name, a header, a sheet name), which may hold brackets of its
own (``[table].csv``): a code is only one that stands as a word, after a space or a closing parenthesis and before a
space, clause punctuation or the end (``重新报送 [not_a_workbook]``, ``（本文件 9,074）[limit_…]``).
"""

from __future__ import annotations

import re

_BEFORE = r"[\s）)]"
_AFTER = r"(?:$|[\s；：。，;:,)）])"
_BRACKETED = r"\[([a-z][a-z0-9_]*)(?::[^\]]*)?\]"
_CODE = re.compile(_BEFORE + _BRACKETED + _AFTER)
CODE_SQL = "nullif(regexp_extract({}, '" + _BEFORE + _BRACKETED + _AFTER + "', 1), '')"  # the same, inside DuckDB


def code_in(text: str | None) -> str | None:
    """The first bracketed machine code in a message (``[empty_file]`` → ``empty_file``), or None."""
    match = _CODE.search(text or "")
    return match[1] if match else None
