"""Resident ID numbers in a form (a grant list's 户主身份证号码): checked as the registry checks them and replaced
by the registry's pseudonym, so that a grant joins ``core.fct_household`` and no ID number is ever stored.

The pseudonym is the registry's exactly: the same normalisation (trimmed, 'x' made 'X'), the same key and
the same HMAC-SHA256 as a version 8 UUID (``tasks.identity.hashing.keyed_hashes``), so one household has one
``household_key`` in its registry and in every grant list. A refused number is never echoed: its rejection shows
its six-digit division code and asterisks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from uuid import UUID

import numpy as np
import pyarrow as pa

from fupin.tasks.identity.hashing import keyed_hashes, pii_key
from fupin.tasks.identity.numbers import check_ids, normalise_ids
from fupin.tasks.normalise.columns import FAILED, Looked, RowError
from fupin.tasks.normalise.values import is_missing

_KEY: ContextVar[bytes | None] = ContextVar("fupin_pii_key", default=None)

# check_ids' reason numbers, worded for the clerk; the code beside each is the rejection's reason_code
ID_REFUSED = {
    1: ("身份证号码不是18位（末位可为X）", "id_number_malformed"),
    2: ("身份证号码校验位不符", "id_number_check_failed"),
    3: ("身份证号码中的出生日期无效", "id_number_birth_date"),
    4: ("身份证号码前六位不是存在过的行政区划代码", "id_number_division_unknown"),
}


class IdRefused(ValueError):
    """An ID number that is not a valid resident ID number: the reason and its code, never the number."""

    def __init__(self, reason: str, code: str):
        super().__init__(reason)
        self.code = code


@contextmanager
def pseudonym_key() -> Iterator[None]:
    """Fetch the PII key once for a table's pseudonyms (MissingKeyError when none is set)."""
    token = _KEY.set(pii_key())
    try:
        yield
    finally:
        _KEY.reset(token)


def masked(text: str | None) -> str | None:
    """A submitted ID number as a rejection may show it: its first six characters, the rest asterisks."""
    if text is None:
        return None
    text = str(text).strip()
    return text[:6] + "*" * max(len(text) - 6, 0)


def _refusal(reason: int) -> IdRefused:
    refused, code = ID_REFUSED.get(reason, ("身份证号码无效", "id_number_invalid"))
    return IdRefused(f"{refused}：请核对后重新报送 [{code}]", code)


def _key() -> bytes:
    key = _KEY.get()
    return pii_key() if key is None else key


def pseudonym_of(text: str | None) -> UUID | None:
    """The registry's household_key for a head's ID number as a form gives it (a UUID); None for an empty cell."""
    if is_missing(text):
        return None
    ids = normalise_ids(pa.array([str(text)], pa.string()))
    reason = int(check_ids(ids, np.array([date.today().year], dtype=np.int64))[0])
    if reason:
        raise _refusal(reason)
    return keyed_hashes(_key(), ids)[0].as_py()


def pseudonym_column(cells: Sequence[str | None], field: str) -> Looked:
    """``pseudonym_of`` of every cell of a column, checked and hashed in one call for its distinct numbers (a grant
    list of half a million heads: a second, where a call per cell took minutes). A refused number is FAILED, its
    RowError (the field, the number masked, the reason and its code) kept as ``by_distinct`` keeps it."""
    distinct = [cell for cell in dict.fromkeys(cells) if not is_missing(cell)]
    found: dict[str | None, object] = dict.fromkeys(cells)  # None: an empty cell
    refusals: dict[str | None, Exception] = {}
    if distinct:
        ids = normalise_ids(pa.array([str(cell) for cell in distinct], pa.string()))
        reasons = check_ids(ids, np.full(len(distinct), date.today().year, dtype=np.int64))
        valid = reasons == 0
        hashed = iter(keyed_hashes(_key(), ids.filter(pa.array(valid))).to_pylist() if valid.any() else ())
        for cell, reason in zip(distinct, reasons.tolist(), strict=True):
            if reason:
                refusal = _refusal(reason)
                found[cell], refusals[cell] = FAILED, RowError(field, masked(cell), str(refusal), refusal.code)
            else:
                found[cell] = next(hashed)
    return Looked([found[cell] for cell in cells], cells, refusals)
