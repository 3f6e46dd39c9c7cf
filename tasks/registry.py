"""Household registries (建档立卡): streamed, validated with numpy, pseudonymised, never held whole.

A registry can have millions of rows, so it does not go through the form parser: the CSV is
read in blocks by pyarrow (decoding GBK/GB18030 on the way), every check is a vectorised
expression over a block, ID numbers become HMAC-SHA256 keys (tasks/hashing.py: one native call
per block, or its exact pure fallback) and names are dropped before anything is written. Blocks
are checked on worker threads and written in file order. Rejections are written as Parquet beside the good rows, so
millions of them cost no more than millions of good rows.
"""

from __future__ import annotations

import codecs
import os
import re
import shutil
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tasks.hashing import backend, fingerprints, keyed_hashes, string_buffers
from tasks.normalise.helpers import clean_label
from warehouse.reference import divisions, is_county_level, resolve_county

REGISTRY_COLUMNS: dict[str, tuple[str, ...]] = {
    "household_id": ("户编号", "户码", "家庭编号", "贫困户编号", "household_id"),
    "head_name": ("户主姓名", "姓名", "户主", "head_name"),
    "head_id": ("户主身份证号", "户主身份证号码", "身份证号", "身份证号码", "证件号码", "head_id_number", "head_id"),
    "county": ("县（市、区）", "县市区", "县", "区县", "county", "county_code", "行政区划代码"),
    "township": ("乡镇", "乡（镇）", "乡(镇)", "乡镇名称", "township"),
    "village": ("行政村", "村", "村名", "village"),
    "members": ("家庭人口数", "家庭人数", "人口数", "户人口数", "members"),
    "status": ("脱贫状态", "贫困户状态", "户状态", "状态", "status"),
    "registration_year": ("识别年度", "纳入年度", "建档年度", "registration_year"),
    "exit_year": ("脱贫年度", "脱贫年份", "exit_year"),
}
REQUIRED = ("household_id", "head_id", "county", "members", "status", "registration_year")
STATUSES = ("已脱贫", "未脱贫", "返贫")
WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK_CHARS = np.frombuffer(b"10X98765432", dtype=np.uint8)
MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)
BLOCK_SIZE = 4 << 20  # 4 MB blocks keep the peak low at little cost (measured.md)
DUCKDB_MEMORY = "256MB"  # for comparing repeated household ids: spill rather than pass the 1 GiB budget
WORKERS = os.cpu_count() or 2
IN_FLIGHT = 2 * WORKERS


# the lake's layout of a registry: core.fct_household reads these files where they lie
GOOD_SCHEMA = pa.schema(
    [
        ("household_id", pa.string()),
        ("household_key", pa.string()),
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
# Parquet options for the good rows. Pseudonyms are unique random hex: a dictionary would be tried
# and dropped, compression buys little for its cost, and min/max statistics prune nothing.
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
    ]
)


class RegistryError(ValueError):
    """The registry cannot be read at all (missing columns, unreadable file): the submission is rejected."""


class MissingKeyError(RuntimeError):
    """No pseudonymisation key: the run refuses the registry and leaves it to be received again."""


def registry_columns(header: list[str]) -> dict[str, int] | None:
    """Canonical registry column → position, or None when the header is not a registry's."""
    lookup = {clean_label(s)[0]: key for key, syns in REGISTRY_COLUMNS.items() for s in syns}
    found: dict[str, int] = {}
    for i, label in enumerate(header):
        key = lookup.get(clean_label(label or "")[0])
        if key and key not in found:
            found[key] = i
    return found if "head_id" in found and "household_id" in found else None


@cache
def known_division_codes() -> np.ndarray:
    """A lookup table over 0…999999: True for every county-level code that exists or existed.

    An ID keeps the code of where it was issued, so an abolished code is as good as a current one.
    """
    known = np.zeros(1_000_000, dtype=bool)
    known[[int(c) for c in divisions() if is_county_level(c)]] = True
    return known


def pii_key() -> bytes:
    """The pseudonymisation key: $FUPIN_PII_KEY, the file $FUPIN_PII_KEY_FILE, or a Prefect Secret block."""
    value = os.environ.get("FUPIN_PII_KEY")
    if not value and os.environ.get("FUPIN_PII_KEY_FILE"):
        key_file = Path(os.environ["FUPIN_PII_KEY_FILE"])
        value = key_file.read_text(encoding="utf-8").strip() if key_file.exists() else None
    if not value:
        value = _secret_key()
    if not value or len(value) < 16:
        raise MissingKeyError(
            "household registries carry ID numbers and need a pseudonymisation key: set FUPIN_PII_KEY "
            "(at least 16 characters) or create the Prefect Secret block 'fupin-pii-key'"
        )
    return value.encode()


def _secret_key() -> str | None:
    """The Secret block named by $FUPIN_PII_KEY_BLOCK (default 'fupin-pii-key'; empty: never asked).

    Only asked where a Prefect API is at hand: inside a flow or task run, or with PREFECT_API_URL set.
    Elsewhere Prefect would start a temporary server (~10 s) just to find that there is no block.
    """
    name = os.environ.get("FUPIN_PII_KEY_BLOCK", "fupin-pii-key")
    if not name:
        return None
    from prefect.context import FlowRunContext, TaskRunContext
    from prefect.settings import PREFECT_API_URL

    if not (PREFECT_API_URL.value() or FlowRunContext.get() or TaskRunContext.get()):
        return None
    try:
        from prefect.blocks.system import Secret

        return Secret.load(name).get()
    except Exception:  # no such block, or the server cannot be reached: the caller says what to set
        return None


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


ID_REASONS = {
    1: "resident ID number is not 18 digits (the last may be X)",
    2: "resident ID number's check character does not match its digits",
    3: "resident ID number's birth date is not a real date before the registration year",
    4: "resident ID number's first six digits are not a division code that exists or existed",
}


@dataclass
class RegistryResult:
    """Where the good rows and the rejections went, and how many of each."""

    good_path: str
    rejections_path: str
    rows_total: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    years: list[int] = field(default_factory=list)
    # positions (in the good rows) whose household id fingerprint repeats: compared as text at the finish
    repeat_candidates: list[int] = field(default_factory=list)


def sniff_text_file(path: Path) -> tuple[str, str, list[str]]:
    """(pyarrow encoding, delimiter, header labels) of a delimited registry file."""
    head = path.open("rb").read(1 << 16)
    if not head:
        raise RegistryError("empty file")
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8"
        head = head[len(codecs.BOM_UTF8) :]
    else:
        try:
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
            encoding = "utf-8"
        except UnicodeDecodeError:
            encoding = "gb18030"
    first = head.split(b"\n", 1)[0].decode(encoding, errors="replace").strip("\r")
    delimiter = max([",", "\t", ";", "|"], key=first.count)
    return encoding, delimiter, [h.strip().strip('"') for h in first.split(delimiter)]


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


def ingest_registry(
    raw_path: str | Path, province_code: str | None, year: int, key: bytes, out_dir: Path, submission_id: str
) -> RegistryResult:
    """Stream a registry CSV into pseudonymised good rows and rejections (both Parquet) in ``out_dir``.

    The good rows are written in the lake's layout, so that a registry without repeated household
    ids goes to the lake by a rename (``finish_registry``).
    """
    raw_path = Path(raw_path)
    encoding, delimiter, header = sniff_text_file(raw_path)
    cols = registry_columns(header)
    if cols is None:
        raise RegistryError("not a household registry: no household id and ID number columns")
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise RegistryError(f"missing required columns for household_registry: {', '.join(missing)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    result = RegistryResult(str(out_dir / "registry_good.parquet"), str(out_dir / "registry_rejections.parquet"))
    try:  # opening reads the first block already
        reader = pacsv.open_csv(
            raw_path,
            read_options=pacsv.ReadOptions(encoding=encoding, block_size=BLOCK_SIZE, use_threads=True),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header},
                include_columns=[header[i] for i in cols.values()],  # names are never even converted
                strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise RegistryError(f"unreadable from line 2 on: {_without_row(exc)}") from None
    counties = _CountyCodes(province_code)
    submission = pa.array([submission_id], type=pa.string())
    backend()  # chosen (and said in the run's log) here: the worker threads below are outside the run's context

    def process(batch: pa.RecordBatch, first_row: int) -> _Block:
        rows = np.arange(first_row, first_row + batch.num_rows, dtype=np.int64)
        good, rejections = _check_block({k: batch.column(header[i]) for k, i in cols.items()}, rows, counties)
        if good is None:
            return _Block(batch.num_rows, None, np.empty(0, dtype=np.uint64), rejections)
        good["household_key"] = keyed_hashes(key, good["household_key"])
        good["submission_id"] = pa.DictionaryArray.from_arrays(
            pa.array(np.zeros(len(good["source_row"]), np.int32)), submission
        )
        rows_out = pa.table(good, schema=GOOD_SCHEMA)
        return _Block(batch.num_rows, rows_out, fingerprints(good["household_id"]), rejections)

    next_row = 2  # the header is line 1
    prints: list[np.ndarray] = []
    with (
        pq.ParquetWriter(result.good_path, GOOD_SCHEMA, **WRITE_OPTIONS) as good,
        pq.ParquetWriter(result.rejections_path, REJECTION_SCHEMA, compression="zstd") as bad,
        ThreadPoolExecutor(WORKERS, thread_name_prefix="registry") as pool,
    ):
        # blocks are checked and hashed on worker threads (arrow, numpy and the HMAC release the GIL)
        # and written here in file order; a few blocks in flight bound the memory
        pending: deque[Future[_Block]] = deque()

        def write(block: _Block) -> None:
            for rejected in block.rejections:  # one record per problem: a row may have several
                bad.write_table(rejected)
            result.rows_rejected += block.size - (block.rows.num_rows if block.rows is not None else 0)
            if block.rows is not None:
                good.write_table(block.rows)
                prints.append(block.fingerprints)

        for batch in _batches(reader):
            pending.append(pool.submit(process, batch, next_row))
            next_row += batch.num_rows
            while len(pending) > IN_FLIGHT or (pending and pending[0].done()):
                write(pending.popleft().result())
        while pending:
            write(pending.popleft().result())
    result.repeat_candidates = _repeated(np.concatenate(prints) if prints else np.empty(0, dtype=np.uint64))
    pa.default_memory_pool().release_unused()  # hand the blocks' memory back before DuckDB's turn
    result.rows_total = next_row - 2
    result.rows_loaded = result.rows_total - result.rows_rejected
    result.years = [year]
    return result


def _batches(reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    """The reader's blocks; a file that breaks off or mixes encodings is rejected with where, never with what."""
    line = 2  # the header is line 1
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid as exc:
            raise RegistryError(f"unreadable from line {line} on: {_without_row(exc)}") from None
        line += batch.num_rows
        yield batch


def _without_row(exc: Exception) -> str:
    """Arrow's message without the line it quotes, which would put a name and an ID number in the logs.

    "CSV parse error: Expected 10 columns, got 12: H1,张三,3608…" → "CSV parse error: Expected 10 columns, got 12"
    """
    return ": ".join(str(exc).split(": ")[:2])


@dataclass
class _Block:
    """One block's outcome: rows read, good rows in the lake's layout, their household ids' fingerprints, rejections."""

    size: int
    rows: pa.Table | None
    fingerprints: np.ndarray
    rejections: list[pa.Table]


def _repeated(prints: np.ndarray) -> list[int]:
    """Positions whose fingerprint occurs more than once: one sort of 8 bytes a row, no hash table of ids."""
    ordered = np.sort(prints)
    twice = ordered[1:][ordered[1:] == ordered[:-1]]
    return np.flatnonzero(np.isin(prints, twice)).tolist() if len(twice) else []


class _CountyCodes:
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


# an ID number's shape in any other column (RE2 has no lookbehind: the neighbours are matched and kept)
_ID_ELSEWHERE = r"(^|[^0-9A-Za-z])([0-9]{6})[0-9]{11}[0-9Xx]($|[^0-9A-Za-z])"
_ID_COLUMNS_CHECKED = ("household_id", "county", "township", "village", "members", "status")
ID_ELSEWHERE_REASON = "疑似身份证号，已屏蔽；身份证号只能填在户主身份证号列 [id_in_non_id_column]"


def masked_ids(values: pa.Array) -> pa.Array:
    """``values`` with every ID-number-shaped token masked but its division code (twice: adjacent IDs)."""
    for _ in range(2):
        values = pc.replace_substring_regex(values, _ID_ELSEWHERE, r"\1\2************\3")
    return values


def _check_block(
    col: dict[str, pa.Array], rows: np.ndarray, counties: _CountyCodes
) -> tuple[dict[str, pa.Array] | None, list[pa.Table]]:
    """One block's good rows (IDs still in clear under 'household_key', to be hashed) and its rejections."""
    n = len(rows)
    problems: list[tuple[np.ndarray, str, pa.Array | None, str | pa.Array]] = []

    reg_year = _years(col["registration_year"])
    problems.append(
        (np.isnan(reg_year), "registration_year", col["registration_year"], "registration year is not a year")
    )
    exit_year = _years(col["exit_year"]) if "exit_year" in col else np.full(n, np.nan)
    bad_exit = ~np.isnan(exit_year) & ~np.isnan(reg_year) & (exit_year < reg_year)
    problems.append((bad_exit, "exit_year", col.get("exit_year"), "exit year is before the registration year"))

    head_id = normalise_ids(col["head_id"])  # once: checked here, hashed by the caller
    id_reason = check_ids(head_id, np.nan_to_num(reg_year, nan=date.today().year).astype(np.int64))
    for code, reason in ID_REASONS.items():
        problems.append((id_reason == code, "head_id", None, reason))  # never echo an ID number

    members_text = pc.utf8_trim_whitespace(col["members"])
    is_int = _digits_only(members_text, (1, 3))
    members = pc.cast(pc.if_else(is_int, members_text, "0"), pa.int32()).to_numpy(zero_copy_only=False)
    bad_members = ~is_int.to_numpy(zero_copy_only=False) | (members < 1) | (members > 20)
    problems.append((bad_members, "members", col["members"], "members must be a whole number from 1 to 20"))

    status = pc.utf8_trim_whitespace(col["status"])
    bad_status = ~pc.is_in(status, value_set=pa.array(STATUSES)).to_numpy(zero_copy_only=False)
    problems.append((bad_status, "status", col["status"], f"status must be one of {'、'.join(STATUSES)}"))

    county_code, county_reason = counties.resolve(pc.utf8_trim_whitespace(col["county"]))
    if county_reason is not None:
        problems.append(
            (pc.is_null(county_code).to_numpy(zero_copy_only=False), "county", col["county"], county_reason)
        )

    for name in _ID_COLUMNS_CHECKED:
        # the regex costs ~90 ms per million rows and column; the longest value's length ~5 ms, and rules it out
        if name in col and (pc.max(pc.binary_length(col[name])).as_py() or 0) >= 18:
            holds_id = pc.fill_null(pc.match_substring_regex(col[name], _ID_ELSEWHERE), False)
            problems.append((holds_id.to_numpy(zero_copy_only=False), name, col[name], ID_ELSEWHERE_REASON))

    bad = np.zeros(n, dtype=bool)
    rejections = []
    for mask, field_name, values, reason in problems:
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
                    "value": masked_ids(pc.take(values, where).cast(pa.string()))
                    if values is not None
                    else pa.nulls(len(where), pa.string()),
                    "reason": masked_ids(
                        (
                            pc.take(reason, where) if isinstance(reason, pa.Array) else pa.array([reason] * len(where))
                        ).cast(pa.string())
                    ),
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

    return {
        "household_id": kept(pc.utf8_trim_whitespace(col["household_id"])),
        "household_key": kept(head_id),
        "county_code": kept(county_code),
        "township": kept(col["township"]) if "township" in col else pa.nulls(int(good.sum()), pa.string()),
        "village": kept(col["village"]) if "village" in col else pa.nulls(int(good.sum()), pa.string()),
        "members": pa.array(members[good]),
        "status": kept(status),
        "registration_year": pa.array(reg_year[good].astype(np.int32)),
        "exit_year": pa.array(exit_year[good], from_pandas=True).cast(pa.int32()),
        "source_row": pa.array(rows[good]),
    }, rejections


def finish_registry(result: RegistryResult, lake_file: Path) -> RegistryResult:
    """Reject repeated household ids (the later rows) and move the good rows into the lake, atomically.

    Without repeats, the common case, this is a rename: the ingest already compared fingerprints.
    """
    staged, target = Path(result.good_path), Path(lake_file)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    dups = _reject_repeats(result, staged, tmp) if result.repeat_candidates else 0
    if dups:
        staged.unlink()
        staged = tmp
    try:
        os.replace(staged, target)
    except OSError:  # staging on another file system: copy beside the target, then rename
        shutil.copyfile(staged, tmp)
        os.replace(tmp, target)
        staged.unlink()
    result.good_path = str(target)
    result.rows_loaded -= dups
    result.rows_rejected += dups
    return result


def _reject_repeats(result: RegistryResult, staged: Path, out: Path) -> int:
    """Compare the candidates' household ids as text; write the later repeats as rejections and the rest to ``out``."""
    con = duckdb.connect()
    try:
        con.execute(f"set memory_limit = '{DUCKDB_MEMORY}'")
        con.execute(
            "create temp table candidates as select household_id, source_row from read_parquet(?, file_row_number = "
            "true) where file_row_number in (select unnest(?::bigint[]))",
            [str(staged), result.repeat_candidates],
        )
        later = con.sql(
            "select c.source_row, c.household_id, f.first_row from candidates c join (select household_id, "
            "min(source_row) as first_row from candidates group by household_id having count(*) > 1) f "
            "using (household_id) where c.source_row > f.first_row order by c.source_row"
        ).to_arrow_table()
    finally:
        con.close()
    if not later.num_rows:
        return 0  # equal fingerprints, different ids
    pq.write_table(
        pa.table(
            {
                "row_number": later["source_row"],
                "field": pa.array(["household_id"] * later.num_rows, type=pa.string()),
                "value": later["household_id"],
                "reason": pc.binary_join_element_wise(
                    "household id repeats row", pc.cast(later["first_row"], pa.string()), " "
                ),
            },
            schema=REJECTION_SCHEMA,
        ),
        dup_rejections_path(result),
    )
    drop = later["source_row"].combine_chunks()
    with pq.ParquetWriter(out, GOOD_SCHEMA, **WRITE_OPTIONS) as writer:  # streamed, in file order
        for batch in pq.ParquetFile(staged).iter_batches():
            keep = pc.invert(pc.is_in(batch.column("source_row"), value_set=drop))
            writer.write_table(pa.Table.from_batches([batch]).filter(keep).cast(GOOD_SCHEMA))
    return later.num_rows


def dup_rejections_path(result: RegistryResult) -> Path:
    """Where the rejections of repeated household ids go (beside the other rejections)."""
    return Path(result.rejections_path).with_suffix(".dups.parquet")


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def registry_year(file_name: str) -> int | None:
    """The year a registry describes, from its file name (…2017… or 2017年)."""
    years = set(re.findall(r"(?<!\d)(20\d{2})(?!\d)", file_name))
    return int(years.pop()) if len(years) == 1 else None


def is_registry_file(path: str | Path) -> bool:
    """True when a file's header is a household registry's: a CSV's first line, or any sheet's first row."""
    path = Path(path)
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
            from python_calamine import CalamineWorkbook

            book = CalamineWorkbook.from_path(str(path))
            headers = ([str(v) for v in next(book.get_sheet_by_name(n).iter_rows(), [])] for n in book.sheet_names)
            return any(registry_columns(header) is not None for header in headers)
        if path.suffix.lower() in (".csv", ".txt", ".tsv"):
            return registry_columns(sniff_text_file(path)[2]) is not None
    except Exception:  # unreadable files are the form parser's to report
        return False
    return False


def xlsx_to_csv(path: Path, target: Path) -> tuple[Path, list[str]]:
    """A registry sent as XLSX, rewritten as UTF-8 CSV so it streams like the others; notes for the receipt.

    A sheet holds at most 1,048,576 rows, so a large registry comes as several sheets with the
    same header: they are written one after the other (a sheet with its columns in another
    order is put in the first one's). Sheets without a registry header (notes) are skipped.
    Names are left out; the ID numbers are still in clear, so the file is the owner's alone and
    the caller deletes it once read.
    """
    import csv

    from python_calamine import CalamineWorkbook

    def text(v: object) -> str:
        return "" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))

    book = CalamineWorkbook.from_path(str(path))
    notes: list[str] = []
    order: list[str] | None = None
    line = 1
    with open(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        for name in book.sheet_names:
            rows = book.get_sheet_by_name(name).iter_rows()
            header = [text(v) for v in next(rows, [])]
            cols = registry_columns(header)
            if cols is None:
                notes.append(f"sheet '{name}' has no registry header: skipped")
                continue
            if order is None:
                order = [k for k in REGISTRY_COLUMNS if k in cols and k != "head_name"]
                writer.writerow([header[cols[k]] for k in order])
            elif not set(order) <= set(cols):
                notes.append(f"sheet '{name}' has other columns than the first registry sheet: skipped")
                continue
            else:
                notes.append(f"sheet '{name}' continues the registry: its row 2 is line {line + 1}")
            for row in rows:
                values = [text(v) for v in row]
                writer.writerow([values[cols[k]] if cols[k] < len(values) else "" for k in order])
                line += 1
    return target, notes
