"""Stable machine codes beside the Chinese messages clerks read.

A file-level message (``meta.submissions.message``) ends its clause with its code in brackets,
``…请在 Excel 中另存为 .xlsx 后重新报送 [not_a_workbook]``; ``message_code`` is the first such code,
stored beside the message for engineers and tests. Row rejections carry theirs in ``Rejection.code``;
older reasons that embed a bracketed code get it the same way.
"""

from __future__ import annotations

import re

_CODE = re.compile(r"\[([a-z][a-z0-9_]*)(?::[^\]]*)?\]")
CODE_SQL = r"nullif(regexp_extract({}, '\[([a-z][a-z0-9_]*)', 1), '')"  # the same, inside DuckDB


def code_in(text: str | None) -> str | None:
    """The first bracketed machine code in a message (``[empty_file]`` → ``empty_file``), or None."""
    match = _CODE.search(text or "")
    return match[1] if match else None
