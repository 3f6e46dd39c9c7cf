"""Checking a registry's rows: vectorised over a block (numpy on the column's bytes), no Python object per row."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fupin.core.messages import say
from fupin.core.reference import resolve_county
from fupin.core.safe_text import ID_PREFILTER, INVISIBLE, has_id, mask_ids
from fupin.tasks.identity.numbers import check_ids, normalise_ids
from fupin.tasks.normalise.columns import by_distinct
from fupin.tasks.registry.reading import REGISTRY_COLUMNS
from fupin.tasks.registry.schema import REJECTION_SCHEMA

STATUSES = ("已脱贫", "未脱贫", "返贫")


# check_ids' reason numbers → the catalogue's reason (its code the rejection's reason_code)
ID_REASONS = {1: "id_not_18_digits", 2: "id_check_digit", 3: "id_birth_date", 4: "id_division_code"}


def _digits_only(text: pa.Array, widths: tuple[int, int]) -> pa.Array:
    """True where the text is ASCII digits only, between widths[0] and widths[1] characters long."""
    length = pc.binary_length(text)
    return pc.and_(
        pc.and_(pc.greater_equal(length, widths[0]), pc.less_equal(length, widths[1])), pc.ascii_is_decimal(text)
    )


def _years(values: pa.Array) -> np.ndarray:
    """Years as floats (NaN where missing or not a year): 2017, 2017年, 2017-12-31."""
    text = pc.utf8_trim_whitespace(values.fill_null(""))
    plain = _digits_only(text, (4, 4))  # nearly every row: no regular expression for those
    years = pc.cast(pc.if_else(plain, text, "0"), pa.int32()).to_numpy(zero_copy_only=False).astype(float)
    years[~plain.to_numpy(zero_copy_only=False)] = np.nan
    other = np.flatnonzero(np.isnan(years) & (pc.binary_length(text).to_numpy(zero_copy_only=False) > 0))
    if len(other):
        written = pc.replace_substring_regex(pc.take(text, other), r"(年.*|-\d\d-\d\d|\.0+)$", "")
        ok = _digits_only(written, (4, 4)).to_numpy(zero_copy_only=False)
        years[other[ok]] = pc.cast(pc.filter(written, ok), pa.int32()).to_numpy(zero_copy_only=False)
    years[(years < 1900) | (years > 2099)] = np.nan
    return years


class CountyCodes:
    """County as submitted → current code (or the reason it has none), resolved once per distinct value."""

    def __init__(self, province_code: str | None):
        self.province_code = province_code
        self.known: dict[str, tuple[str | None, str | None]] = {}

    def resolve(self, values: pa.Array) -> tuple[pa.Array, pa.Array | None]:
        """Current codes (null where unknown) and, if any is unknown, the reason per row."""
        uniques = pc.unique(values)
        found = [self.known.get(v) or self._resolve(v) for v in uniques.to_pylist()]
        where = pc.index_in(values, value_set=uniques)
        codes = pc.take(pa.array([f[0] for f in found], type=pa.string()), where)
        if not codes.null_count:
            return codes, None
        return codes, pc.take(pa.array([f[1] or "" for f in found], type=pa.string()), where)

    def _resolve(self, value: str) -> tuple[str | None, str | None]:
        hit = resolve_county(value, self.province_code)
        self.known[value] = (hit.county_code, hit.reason)
        return self.known[value]


_ID_COLUMNS_CHECKED = ("household_id", "county", "township", "village", "members", "status")


REGISTRY_LABELS = {name: labels[0] for name, labels in REGISTRY_COLUMNS.items()}  # a column's usual header
ID_CODE = "id_in_non_id_column"


# fewer values than this (a block's few rejected ones) are gated in Python, once per distinct value: Arrow compiles
# the two regular expressions below on every call (~1 ms), which costs more than gating the values themselves
PYTHON_GATE_BELOW = 1_000


def gated_values(values: pa.Array) -> pa.Array:
    """``values`` through ``gate`` (IDs of any shape masked but their division code, invisible characters
    removed), in Python only where a value holds 15 digits or a format or control character."""
    values = values.cast(pa.string())
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if len(values) < PYTHON_GATE_BELOW:
        return pa.array(list(by_distinct(values.to_pylist(), mask_ids)), pa.string())
    maybe = pc.or_(
        pc.match_substring_regex(values, ID_PREFILTER), pc.match_substring_regex(values, INVISIBLE)
    ).fill_null(False)
    if not pc.any(maybe).as_py():
        return values
    where = pa.array(np.flatnonzero(maybe.to_numpy(zero_copy_only=False)))
    gated = pa.array([mask_ids(v) for v in pc.take(values, where).to_pylist()], pa.string())
    return pc.replace_with_mask(values, maybe, gated)


# a 15-digit number that may be an ID number of before 1999: a province's code, then yymmdd of a possible date
# (``has_id`` then checks the date exactly)
_PLAUSIBLE_15 = (
    r"^(1[1-5]|2[1-3]|3[1-7]|4[1-6]|5[0-4]|6[1-5]|71|8[12])[0-9]{6}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}$"
)


def holds_id(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Where a value holds a resident ID number in any shape (``has_id``), decided on Arrow for a value of ASCII
    digits alone (18 of them: an ID; 15: if plausible; any other count: none) and read in Python (once per
    distinct value) only where 15 digits of any width stand close together among other characters."""
    pure = pc.ascii_is_decimal(values).fill_null(False)
    length = pc.binary_length(values).fill_null(0)
    found = pc.and_(pure, pc.equal(length, 18)).to_numpy(zero_copy_only=False).copy()
    plausible = pc.and_(pc.and_(pure, pc.equal(length, 15)), pc.match_substring_regex(values, _PLAUSIBLE_15))
    maybe = plausible.fill_null(False).to_numpy(zero_copy_only=False)
    other = pc.and_(pc.invert(pure), pc.match_substring_regex(values, ID_PREFILTER)).fill_null(False)
    maybe |= other.to_numpy(zero_copy_only=False)
    where = np.flatnonzero(maybe)
    if len(where):
        cells = values.take(pa.array(where)).to_pylist()
        found[where] = np.fromiter(by_distinct(cells, has_id), bool, len(where))
    return found


def check_block(
    col: dict[str, pa.Array], rows: np.ndarray, counties: CountyCodes, headers: dict[str, str] | None = None
) -> tuple[dict[str, pa.Array] | None, list[pa.Table]]:
    """One block's good rows (IDs still in clear under 'household_key', to be hashed) and its rejections.

    Each reason begins with the submitter's own header of the column (``headers``: canonical → header).
    """
    n = len(rows)
    problems: list[tuple[np.ndarray, str, pa.Array | None, str | pa.Array, str]] = []

    def h(name: str) -> str:
        return f"“{(headers or {}).get(name) or REGISTRY_LABELS.get(name, name)}”"

    reg_year = _years(col["registration_year"])
    problems.append(
        (
            np.isnan(reg_year),
            "registration_year",
            col["registration_year"],
            say("not_a_year.registry", header=h("registration_year")),
            "not_a_year",
        )
    )
    exit_year = _years(col["exit_year"]) if "exit_year" in col else np.full(n, np.nan)
    bad_exit = ~np.isnan(exit_year) & ~np.isnan(reg_year) & (exit_year < reg_year)
    problems.append(
        (
            bad_exit,
            "exit_year",
            col.get("exit_year"),
            say("exit_before_registration", header=h("exit_year"), registration=h("registration_year")),
            "exit_before_registration",
        )
    )

    head_id = normalise_ids(col["head_id"])  # once: checked here, hashed by the caller
    id_reason = check_ids(head_id, np.nan_to_num(reg_year, nan=date.today().year).astype(np.int64))
    for number, key in ID_REASONS.items():  # never echo an ID
        problems.append((id_reason == number, "head_id", None, say(key, header=h("head_id")), key))

    members_text = pc.utf8_trim_whitespace(col["members"])
    is_int = _digits_only(members_text, (1, 3))
    members = pc.cast(pc.if_else(is_int, members_text, "0"), pa.int32()).to_numpy(zero_copy_only=False)
    bad_members = ~is_int.to_numpy(zero_copy_only=False) | (members < 1) | (members > 20)
    problems.append(
        (
            bad_members,
            "members",
            col["members"],
            say("members_out_of_range", header=h("members")),
            "members_out_of_range",
        )
    )

    status = pc.utf8_trim_whitespace(col["status"])
    bad_status = ~pc.is_in(status, value_set=pa.array(STATUSES)).to_numpy(zero_copy_only=False)
    problems.append(
        (
            bad_status,
            "status",
            col["status"],
            say("unknown_status", header=h("status"), accepted="、".join(STATUSES)),
            "unknown_status",
        )
    )

    county_code, county_reason = counties.resolve(pc.utf8_trim_whitespace(col["county"]))
    if county_reason is not None:
        reasons = pc.binary_join_element_wise(pa.scalar(f"{h('county')}："), county_reason, "")
        problems.append(
            (pc.is_null(county_code).to_numpy(zero_copy_only=False), "county", col["county"], reasons, "unknown_county")
        )

    for name in _ID_COLUMNS_CHECKED:
        # counting digits costs ~90 ms per million rows and column; the longest value's length ~5 ms, and
        # rules it out (an ID number has 15 characters at least)
        if name in col and (pc.max(pc.binary_length(col[name])).as_py() or 0) >= 15:
            reason = say("id_in_non_id_column.registry", header=h(name))
            problems.append((holds_id(col[name]), name, col[name], reason, ID_CODE))

    bad = np.zeros(n, dtype=bool)
    rejections = []
    for mask, field_name, values, reason, reason_code in problems:
        if not mask.any():
            continue
        bad |= mask
        where = pa.array(np.flatnonzero(mask))
        # a value or reason may quote an ID number typed into the wrong column: masked before it is stored
        rejections.append(
            pa.table(
                {
                    "row_number": pa.array(rows[mask]),
                    "field": pa.array([field_name] * len(where), type=pa.string()),
                    "value": gated_values(pc.take(values, where).cast(pa.string()))
                    if values is not None
                    else pa.nulls(len(where), pa.string()),
                    "reason": gated_values(
                        (
                            pc.take(reason, where) if isinstance(reason, pa.Array) else pa.array([reason] * len(where))
                        ).cast(pa.string())
                    ),
                    "reason_code": pa.array([reason_code] * len(where), pa.string()),
                },
                schema=REJECTION_SCHEMA,
            )
        )
    if bad.all():
        return None, rejections
    good = ~bad
    keep = None if not bad.any() else pa.array(good)

    def kept(values: pa.Array) -> pa.Array:
        return values if keep is None else pc.filter(values, keep)

    def kept_text(values: pa.Array) -> pa.Array:  # free text as submitted: kept without invisible characters
        values = kept(values)
        # every invisible character is unprintable: the regular expression only for a block with one (twice as fast)
        if (
            not pc.all(pc.utf8_is_printable(values)).as_py()
            and pc.any(pc.match_substring_regex(values, INVISIBLE)).as_py()
        ):
            values = pc.replace_substring_regex(values, INVISIBLE, "")
        return values

    # the ID numbers passed check_ids (digits and X only), the statuses matched one of STATUSES and the county
    # codes are the reference's: only the free text needs its invisible characters removed
    return {
        "household_id": kept_text(pc.utf8_trim_whitespace(col["household_id"])),
        "household_key": kept(head_id),
        "county_code": kept(county_code),
        "township": kept_text(col["township"]) if "township" in col else pa.nulls(int(good.sum()), pa.string()),
        "village": kept_text(col["village"]) if "village" in col else pa.nulls(int(good.sum()), pa.string()),
        "members": pa.array(members[good]),
        "status": kept(status),
        "registration_year": pa.array(reg_year[good].astype(np.int32)),
        "exit_year": pa.array(exit_year[good], from_pandas=True).cast(pa.int32()),
        "source_row": pa.array(rows[good]),
    }, rejections
