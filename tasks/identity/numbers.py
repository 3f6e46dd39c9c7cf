"""Resident ID numbers (GB 11643) checked as a column: length and characters, the ISO 7064 MOD 11-2 check
character, the birth date and the issuing division code — numpy over the column's bytes, no Python object per row.

Used by the registry's checks and by the forms that carry an ID to pseudonymise (tasks/normalise/pseudonyms.py);
imports neither, so both can.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fupin.core.reference import divisions, is_county_level
from fupin.tasks.identity.hashing import string_buffers

WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)


CHECK_CHARS = np.frombuffer(b"10X98765432", dtype=np.uint8)


MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)


@cache
def known_division_codes() -> np.ndarray:
    """A lookup table over 0…999999: True for every county-level code that exists or existed.

    An ID keeps the code of where it was issued, so an abolished code is as good as a current one.
    """
    known = np.zeros(1_000_000, dtype=bool)
    known[[int(c) for c in divisions() if is_county_level(c)]] = True
    return known


def normalise_ids(ids: pa.Array) -> pa.Array:
    """ID numbers as they are checked and hashed: trimmed, a lower-case check character 'x' made 'X'."""
    ids = pc.ascii_upper(pc.utf8_trim_whitespace(ids.fill_null("")))
    return ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids


def check_ids(ids: pa.Array, registration_year: np.ndarray) -> np.ndarray:
    """Reason code per ID (as normalise_ids gives them): 0 valid, 1 length/characters, 2 check digit,
    3 birth date, 4 division code.

    Works on the column's bytes as an (n, 18) array: no Python object per row.
    """
    n = len(ids)
    reasons = np.zeros(n, dtype=np.int8)
    good_len = pc.equal(pc.binary_length(ids), 18).to_numpy(zero_copy_only=False)
    if good_len.all():
        idx, fixed = slice(None), ids
    else:
        reasons[~good_len] = 1
        idx = np.flatnonzero(good_len)
        if not len(idx):
            return reasons
        fixed = pc.take(ids, pa.array(idx))
    offsets, data = string_buffers(fixed)
    raw = np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]].reshape(-1, 18)
    # one row per character position, contiguous: every sum below runs over whole rows
    digits = np.ascontiguousarray((raw - np.uint8(48)).T)  # characters below '0' wrap round to large values
    chars_ok = (digits[:17] <= 9).all(axis=0) & ((digits[17] <= 9) | (raw[:, 17] == ord("X")))
    sub = np.where(chars_ok, 0, 1).astype(np.int8)

    def number(positions: range, weights: Iterable[int]) -> np.ndarray:
        value = np.zeros(len(raw), dtype=np.int32)
        for i, w in zip(positions, weights, strict=True):
            value += digits[i] * np.int32(w)
        return value

    total = number(range(17), WEIGHTS)
    sub[(sub == 0) & (CHECK_CHARS[total % 11] != raw[:, 17])] = 2
    decimal = (1000, 100, 10, 1)
    year, month, day = (
        number(range(6, 10), decimal),
        number(range(10, 12), decimal[2:]),
        number(range(12, 14), decimal[2:]),
    )
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_days = MONTH_DAYS[np.clip(month - 1, 0, 11)] + ((month == 2) & leap)
    latest = np.minimum(registration_year[idx], date.today().year)
    date_ok = (year >= 1900) & (year <= latest) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days)
    sub[(sub == 0) & ~date_ok] = 3
    code = number(range(6), (100000, 10000, *decimal))
    sub[(sub == 0) & ~known_division_codes()[np.clip(code, 0, 999_999)]] = 4
    reasons[idx] = sub
    return reasons
