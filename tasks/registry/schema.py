"""What a registry becomes: the lake's layout of its good rows and rejections, its result, its errors."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from fupin.core.messages import CodedError
from fupin.core.pseudonym import UUID_TYPE
from fupin.tasks.records import Rejection

# the lake's layout of a registry: core.fct_household reads these files where they lie
GOOD_SCHEMA = pa.schema(
    [
        ("household_id", pa.string()),
        ("household_key", UUID_TYPE),  # 16 bytes: a version 8 UUID (fupin/core/pseudonym.py)
        ("county_code", pa.string()),
        ("township", pa.string()),
        ("village", pa.string()),
        ("members", pa.int32()),
        ("status", pa.string()),
        ("registration_year", pa.int32()),
        ("exit_year", pa.int32()),
        ("source_row", pa.int64()),
        ("submission_id", pa.dictionary(pa.int32(), pa.string())),
    ]
)


# Parquet options for the good rows. Pseudonyms are unique random bytes: a dictionary would be tried
# and dropped, compression buys nothing, and min/max statistics prune nothing.
WRITE_OPTIONS = {
    "use_dictionary": ["county_code", "township", "village", "status", "submission_id"],
    "compression": {c: "none" if c == "household_key" else "zstd" for c in GOOD_SCHEMA.names},
    "write_statistics": [c for c in GOOD_SCHEMA.names if c not in ("household_key", "household_id")],
}


REJECTION_SCHEMA = pa.schema(
    [
        ("row_number", pa.int64()),
        ("field", pa.string()),
        ("value", pa.string()),
        ("reason", pa.string()),
        ("reason_code", pa.string()),
    ]
)


class RegistryError(CodedError, ValueError):
    """The registry cannot be read at all (missing columns, unreadable file): the submission is rejected."""


class RowsAllRefused(RegistryError):
    """The registry's first ``rows`` rows were all refused, each for the reason ``first`` gives (its code): refused as
    a file and read no further, as a form is (a registry sent in another province's folder, IDs Excel turned into
    numbers). The message, naming the file, is the caller's (``tasks.records.all_refused``)."""

    def __init__(self, first: Rejection, rows: int):
        super().__init__(f"the first {rows} rows were all refused [{first.code}]", "rows_all_refused")
        self.first, self.rows = first, rows


@dataclass
class RegistryResult:
    """Where the good rows and the rejections went, and how many of each."""

    good_path: str
    rejections_path: str
    rows_total: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    years: list[int] = field(default_factory=list)
    household_id_header: str | None = None  # the submitter's header of the household id, named in rejections
    # positions (in the good rows) whose household id fingerprint repeats: compared as text at the finish
    repeat_candidates: list[int] = field(default_factory=list)
    head_id_header: str | None = None  # the submitter's header of the head's ID number
    # positions whose head's pseudonym fingerprint repeats: one head in two households, compared at the finish
    head_repeat_candidates: list[int] = field(default_factory=list)
