"""Household registries (建档立卡): streamed, validated with numpy, pseudonymised, never held whole.

A registry can have millions of rows, so it does not go through the form parser: the CSV is
read in blocks by pyarrow (decoding GBK/GB18030 on the way), every check is a vectorised
expression over a block, ID numbers become HMAC-SHA256 keys and names are dropped before
anything is written. Rejections are written as Parquet beside the good rows, so millions of
them cost no more than millions of good rows.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
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
BLOCK_SIZE = 4 << 20  # 4 MB blocks keep the peak low at little cost (measured.md)
DUCKDB_MEMORY = "512MB"

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
    ]
)
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
    """Every county-level code that exists or existed: an ID keeps the code of where it was issued."""
    return np.array(sorted(int(c) for c in divisions() if is_county_level(c)), dtype=np.int64)


def pii_key() -> bytes:
    """The pseudonymisation key: $FUPIN_PII_KEY, the file $FUPIN_PII_KEY_FILE, or the Secret block 'fupin-pii-key'."""
    value = os.environ.get("FUPIN_PII_KEY")
    if not value and os.environ.get("FUPIN_PII_KEY_FILE"):
        key_file = Path(os.environ["FUPIN_PII_KEY_FILE"])
        value = key_file.read_text(encoding="utf-8").strip() if key_file.exists() else None
    if not value:
        try:
            from prefect.blocks.system import Secret

            value = Secret.load("fupin-pii-key").get()
        except Exception:
            value = None
    if not value or len(value) < 16:
        raise MissingKeyError(
            "household registries carry ID numbers and need a pseudonymisation key: set FUPIN_PII_KEY "
            "(at least 16 characters) or create the Prefect Secret block 'fupin-pii-key'"
        )
    return value.encode()


class KeyedHasher:
    """HMAC-SHA256 (RFC 2104) with the keyed inner and outer states computed once and copied per value."""

    def __init__(self, key: bytes):
        block = hashlib.sha256(key).digest() if len(key) > 64 else key
        block = block.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def hex(self, values: list[bytes]) -> list[str]:
        """Hex HMAC of each value; equal to hmac.new(key, value, 'sha256').hexdigest()."""
        inner, outer, out = self._inner, self._outer, []
        append = out.append
        for value in values:
            i = inner.copy()
            i.update(value)
            o = outer.copy()
            o.update(i.digest())
            append(o.hexdigest())
        return out


def check_ids(ids: pa.Array, registration_year: np.ndarray) -> np.ndarray:
    """Reason code per ID: 0 valid, 1 length/characters, 2 check digit, 3 birth date, 4 division code."""
    n = len(ids)
    reasons = np.zeros(n, dtype=np.int8)
    ids = pc.utf8_upper(pc.utf8_trim_whitespace(ids.fill_null("")))
    good_len = pc.equal(pc.binary_length(ids), 18).to_numpy(zero_copy_only=False)
    reasons[~good_len] = 1
    idx = np.flatnonzero(good_len)
    if not len(idx):
        return reasons
    fixed = (
        pc.take(ids, pa.array(idx)).combine_chunks()
        if isinstance(ids, pa.ChunkedArray)
        else pc.take(ids, pa.array(idx))
    )
    offsets = np.frombuffer(fixed.buffers()[1], dtype=np.int32)[fixed.offset : fixed.offset + len(fixed) + 1]
    data = np.frombuffer(fixed.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]].reshape(-1, 18)
    digits = data[:, :17].astype(np.int64) - 48
    last = data[:, 17]
    chars_ok = ((digits >= 0) & (digits <= 9)).all(axis=1) & (((last >= 48) & (last <= 57)) | (last == 88))
    sub = np.zeros(len(idx), dtype=np.int8)
    sub[~chars_ok] = 1
    checks = CHECK_CHARS[(np.where(chars_ok[:, None], digits, 0) * WEIGHTS).sum(axis=1) % 11]
    sub[(sub == 0) & (checks != last)] = 2
    year = digits[:, 6] * 1000 + digits[:, 7] * 100 + digits[:, 8] * 10 + digits[:, 9]
    month = digits[:, 10] * 10 + digits[:, 11]
    day = digits[:, 12] * 10 + digits[:, 13]
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(month - 1, 0, 11)]
    month_days = month_days + ((month == 2) & leap)
    latest = np.minimum(registration_year[idx], date.today().year)
    date_ok = (year >= 1900) & (year <= latest) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days)
    sub[(sub == 0) & ~date_ok] = 3
    code = (digits[:, :6] * np.array([100000, 10000, 1000, 100, 10, 1])).sum(axis=1)
    sub[(sub == 0) & ~np.isin(code, known_division_codes())] = 4
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


def _years(values: pa.Array) -> np.ndarray:
    """Years as floats (NaN where missing or not a year): 2017, 2017年, 2017-12-31."""
    text = pc.replace_substring_regex(pc.utf8_trim_whitespace(values.fill_null("")), r"(年.*|-\d\d-\d\d|\.0+)$", "")
    ok = pc.match_substring_regex(text, r"^(19|20)\d\d$")
    years = pc.cast(pc.if_else(ok, text, "0"), pa.int32()).to_numpy(zero_copy_only=False).astype(float)
    years[~ok.to_numpy(zero_copy_only=False)] = np.nan
    return years


def ingest_registry(raw_path: str | Path, province_code: str, year: int, key: bytes, out_dir: Path) -> RegistryResult:
    """Stream a registry CSV into pseudonymised good rows and rejections (both Parquet) in ``out_dir``."""
    raw_path = Path(raw_path)
    encoding, delimiter, header = sniff_text_file(raw_path)
    cols = registry_columns(header)
    if cols is None:
        raise RegistryError("not a household registry: no household id and ID number columns")
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise RegistryError(f"missing required columns for household_registry: {', '.join(missing)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    staged = out_dir / "registry_good.parquet"
    rejected_path = out_dir / "registry_rejections.parquet"
    hasher = KeyedHasher(key)
    county_cache: dict[str, tuple[str | None, str | None]] = {}
    reader = pacsv.open_csv(
        raw_path,
        read_options=pacsv.ReadOptions(encoding=encoding, block_size=BLOCK_SIZE, use_threads=True),
        parse_options=pacsv.ParseOptions(delimiter=delimiter),
        convert_options=pacsv.ConvertOptions(column_types={h: pa.string() for h in header}, strings_can_be_null=False),
    )
    result = RegistryResult(str(staged), str(rejected_path))
    next_row = 2  # the header is line 1
    with (
        pq.ParquetWriter(staged, GOOD_SCHEMA, compression="zstd") as good_out,
        pq.ParquetWriter(rejected_path, REJECTION_SCHEMA, compression="zstd") as bad_out,
    ):
        for batch in reader:
            n = batch.num_rows
            rows = np.arange(next_row, next_row + n, dtype=np.int64)
            next_row += n
            col = {k: batch.column(i) for k, i in cols.items()}
            problems: list[tuple[np.ndarray, str, pa.Array | None, str]] = []

            reg_year = _years(col["registration_year"])
            problems.append(
                (np.isnan(reg_year), "registration_year", col["registration_year"], "registration year is not a year")
            )
            exit_year = _years(col["exit_year"]) if "exit_year" in col else np.full(n, np.nan)
            bad_exit = ~np.isnan(exit_year) & ~np.isnan(reg_year) & (exit_year < reg_year)
            problems.append((bad_exit, "exit_year", col.get("exit_year"), "exit year is before the registration year"))

            id_reason = check_ids(col["head_id"], np.nan_to_num(reg_year, nan=date.today().year).astype(np.int64))
            for code, reason in ID_REASONS.items():
                problems.append((id_reason == code, "head_id", None, reason))  # never echo an ID number

            members_text = pc.utf8_trim_whitespace(col["members"])
            is_int = pc.match_substring_regex(members_text, r"^\d{1,3}$")
            members = pc.cast(pc.if_else(is_int, members_text, "0"), pa.int32()).to_numpy(zero_copy_only=False)
            bad_members = ~is_int.to_numpy(zero_copy_only=False) | (members < 1) | (members > 20)
            problems.append((bad_members, "members", col["members"], "members must be a whole number from 1 to 20"))

            status = pc.utf8_trim_whitespace(col["status"])
            bad_status = ~pc.is_in(status, value_set=pa.array(STATUSES)).to_numpy(zero_copy_only=False)
            problems.append((bad_status, "status", col["status"], f"status must be one of {'、'.join(STATUSES)}"))

            county_raw = pc.utf8_trim_whitespace(col["county"])
            uniques = pc.unique(county_raw).to_pylist()
            for value in uniques:
                if value not in county_cache:
                    hit = resolve_county(value, province_code)
                    county_cache[value] = (hit.county_code, hit.reason)
            codes = pa.array([county_cache[v][0] for v in uniques], type=pa.string())
            county_code = pc.take(codes, pc.index_in(county_raw, value_set=pa.array(uniques, type=pa.string())))
            bad_county = pc.is_null(county_code).to_numpy(zero_copy_only=False)
            if bad_county.any():
                reasons = pa.array([county_cache[v][1] or "" for v in uniques], type=pa.string())
                county_reason = pc.take(reasons, pc.index_in(county_raw, value_set=pa.array(uniques, type=pa.string())))
                problems.append((bad_county, "county", col["county"], county_reason))

            bad = np.zeros(n, dtype=bool)
            for mask, field_name, values, reason in problems:
                if not mask.any():
                    continue
                bad |= mask
                where = pa.array(np.flatnonzero(mask))
                reason_col = pc.take(reason, where) if isinstance(reason, pa.Array) else pa.array([reason] * len(where))
                bad_out.write_table(
                    pa.table(
                        {
                            "row_number": pa.array(rows[mask]),
                            "field": pa.array([field_name] * len(where), type=pa.string()),
                            "value": pc.take(values, where)
                            if values is not None
                            else pa.nulls(len(where), pa.string()),
                            "reason": reason_col.cast(pa.string()),
                        },
                        schema=REJECTION_SCHEMA,
                    )
                )
            keep = pa.array(~bad)
            result.rows_rejected += int(bad.sum())
            if not (~bad).any():
                continue
            ids = pc.filter(pc.utf8_upper(pc.utf8_trim_whitespace(col["head_id"])), keep)
            keys = hasher.hex([s.encode() for s in ids.to_pylist()])
            optional = {
                k: pc.filter(col[k], keep) if k in col else pa.nulls(int((~bad).sum()), pa.string())
                for k in ("township", "village")
            }
            good = pa.table(
                {
                    "household_id": pc.filter(pc.utf8_trim_whitespace(col["household_id"]), keep),
                    "household_key": pa.array(keys, type=pa.string()),
                    "county_code": pc.filter(county_code, keep),
                    "township": optional["township"],
                    "village": optional["village"],
                    "members": pa.array(members[~bad]),
                    "status": pc.filter(status, keep),
                    "registration_year": pa.array(reg_year[~bad].astype(np.int32)),
                    "exit_year": pa.array(exit_year[~bad], from_pandas=True).cast(pa.int32()),
                    "source_row": pa.array(rows[~bad]),
                },
                schema=GOOD_SCHEMA,
            )
            good_out.write_table(good)
        result.rows_total = next_row - 2
    result.rows_loaded = result.rows_total - result.rows_rejected
    result.years = [year]
    return result


def finish_registry(result: RegistryResult, lake_file: Path, submission_id: str) -> RegistryResult:
    """Reject repeated household ids (later rows), drop the id, write the lake file atomically."""
    con = duckdb.connect()
    try:
        con.execute("set preserve_insertion_order = false")
        con.execute(f"set memory_limit = '{DUCKDB_MEMORY}'")  # spill to disk rather than pass the 1 GiB budget
        dups = con.execute(
            "select count(*) from (select source_row, row_number() over "
            "(partition by household_id order by source_row) as k from read_parquet(?)) where k > 1",
            [result.good_path],
        ).fetchone()[0]
        if dups:
            target = _sql_path(dup_rejections_path(result))
            con.execute(
                f"copy (select source_row as row_number, 'household_id' as field, household_id as value, "
                f"'household id repeats row ' || first_row as reason from (select household_id, source_row, "
                f"min(source_row) over (partition by household_id) as first_row from read_parquet(?)) "
                f"where source_row > first_row) to '{target}' (format parquet)",
                [result.good_path],
            )
        lake_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = lake_file.with_name(f".{lake_file.name}.tmp")
        con.execute(
            f"copy (select * exclude (household_id, k), ? as submission_id from (select *, row_number() over "
            f"(partition by household_id order by source_row) as k from read_parquet(?)) where k = 1) "
            f"to '{_sql_path(tmp)}' (format parquet, compression zstd)",
            [submission_id, result.good_path],
        )
    finally:
        con.close()
    os.replace(tmp, lake_file)
    result.rows_loaded -= dups
    result.rows_rejected += dups
    return result


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
    """True when a delimited file's header is a household registry's (checked on its first line only)."""
    path = Path(path)
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
            from python_calamine import CalamineWorkbook

            rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).iter_rows()
            header = [str(v) for v in next(rows, [])]
        elif path.suffix.lower() in (".csv", ".txt", ".tsv"):
            _, _, header = sniff_text_file(path)
        else:
            return False
    except Exception:  # unreadable files are the form parser's to report
        return False
    return registry_columns(header) is not None


def xlsx_to_csv(path: Path, target: Path) -> Path:
    """A registry sent as XLSX, rewritten row by row as UTF-8 CSV so it streams like the others."""
    import csv

    from python_calamine import CalamineWorkbook

    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    with target.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        for row in sheet.iter_rows():
            writer.writerow(
                ["" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)) for v in row]
            )
    return target
