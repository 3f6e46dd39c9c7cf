"""Synthetic household registries (建档立卡): the demo's two designated counties, and N households for benchmarks.

Names and ID numbers are invented (valid check characters, real division codes, real dates);
they exist to prove that none of them gets past the raw archive.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import xlsxwriter

from fupin.core.reference import PROVINCE_PINYIN, counties
from fupin.tasks.identity.numbers import CHECK_CHARS, WEIGHTS

HEADER = [
    "户编号",
    "户主姓名",
    "户主身份证号码",
    "县（市、区）",
    "乡镇",
    "行政村",
    "家庭人口数",
    "脱贫状态",
    "识别年度",
    "脱贫年度",
]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国玉兰春梅海燕德福金凤红梅志强")


BIRTH_DAYS = 60 * 365  # heads born 1940-1999
# a step coprime with BIRTH_DAYS: spreads a county's n-th head over the birth dates, one to one
_DAY_STEP = 7919


def _ids(rng: np.random.Generator, codes: np.ndarray, ordinals: np.ndarray | None = None) -> np.ndarray:
    """Valid 18-character resident ID numbers for the given division codes, no two alike.

    Random birth dates and sequence numbers (a repeat given the next free number), or, with ``ordinals``
    (each head's number within its division code, unique per code), the date and sequence that number
    stands for: unique across chunks of a registry of any size without remembering the IDs already made.
    """
    n = len(codes)
    if ordinals is None:
        days, seqs = rng.integers(0, BIRTH_DAYS, n), rng.integers(0, 1000, n)
    else:
        days, seqs = (ordinals // 1000 * _DAY_STEP) % BIRTH_DAYS, ordinals % 1000
    births = np.datetime64("1940-01-01") + days.astype("timedelta64[D]")
    ymd = np.char.replace(np.datetime_as_string(births, unit="D"), "-", "")
    seq = np.char.zfill(seqs.astype(str), 3)
    body = np.char.add(np.char.add(codes.astype(str), ymd), seq)
    body = _unique(body) if ordinals is None else body
    digits = np.frombuffer(body.astype("S17").tobytes(), dtype=np.uint8).reshape(n, 17).astype(np.int64) - 48
    check = CHECK_CHARS[(digits * WEIGHTS).sum(axis=1) % 11].view("S1").astype(str)
    return np.char.add(body, check)


def _ordinals(groups: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Each row's number within its group, continuing ``counts`` (updated in place): 0, 1, 2 … per group."""
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    first = np.searchsorted(sorted_groups, sorted_groups)  # where each row's group starts in the sorted rows
    ranks = np.empty(len(groups), dtype=np.int64)
    ranks[order] = np.arange(len(groups)) - first
    out = counts[groups] + ranks
    counts += np.bincount(groups, minlength=len(counts))
    return out


def _unique(bodies: np.ndarray) -> np.ndarray:
    """The bodies, a repeated one given the next free sequence number: one person heads one household."""
    seen: set[str] = set()
    out = bodies.tolist()
    for i, body in enumerate(out):
        while body in seen:
            body = f"{body[:14]}{(int(body[14:]) + 1) % 1000:03d}"
        seen.add(body)
        out[i] = body
    return np.array(out)


def _names(rng: np.random.Generator, n: int) -> np.ndarray:
    surnames = np.array(SURNAMES)[rng.integers(0, len(SURNAMES), n)]
    given = np.char.add(
        np.array(GIVEN)[rng.integers(0, len(GIVEN), n)], np.array(GIVEN)[rng.integers(0, len(GIVEN), n)]
    )
    return np.char.add(surnames, given)


def _members_summing_to(rng: np.random.Generator, total: int) -> np.ndarray:
    """Household sizes 1–8 that add up exactly to ``total`` persons."""
    sizes = rng.integers(1, 9, total // 2 + 8)
    cum = np.cumsum(sizes)
    k = int(np.searchsorted(cum, total))
    sizes = sizes[: k + 1].copy()
    sizes[-1] -= int(cum[k] - total)
    if sizes[-1] == 0:
        sizes = sizes[:-1]
    return sizes


def county_registry(
    path: Path,
    county_code: str,
    county_name: str,
    lifted: int,
    poor: int,
    year: int,
    old_code: str | None = None,
    seed: int = 2017,
    encoding: str = "utf-8",
) -> int:
    """A county's registry at the end of ``year`` whose members sum to ``lifted`` and ``poor`` persons."""
    table = county_households(county_code, county_name, lifted, poor, year, old_code, seed)
    _write(table, path, encoding)
    return table.num_rows


def county_households(
    county_code: str,
    county_name: str,
    lifted: int,
    poor: int,
    year: int,
    old_code: str | None = None,
    seed: int = 2017,
) -> pa.Table:
    """The households of ``county_registry``, with the registry's Chinese column names (the grant lists pick from them).

    Villages are numbered 1–40 within each of 19 townships, so that a village holds enough households for the
    “十百千” lists (ten households in each of ten villages of a township).
    """
    rng = np.random.default_rng(seed)
    lifted_sizes = _members_summing_to(rng, lifted)
    poor_sizes = _members_summing_to(rng, poor)
    n = len(lifted_sizes) + len(poor_sizes)
    members = np.concatenate([lifted_sizes, poor_sizes])
    status = np.array(["已脱贫"] * len(lifted_sizes) + ["未脱贫"] * len(poor_sizes))
    registered = rng.integers(2014, 2017, n)
    exits = np.where(status == "已脱贫", np.minimum(registered + rng.integers(0, 3, n), year), 0)
    codes = np.full(n, int(county_code))
    if old_code:  # people whose ID was issued before the county's code changed keep the old code
        codes[rng.random(n) < 0.3] = int(old_code)
    table = pa.table(
        {
            "户编号": [f"{county_code}{i:07d}" for i in range(1, n + 1)],
            "户主姓名": _names(rng, n),
            "户主身份证号码": _ids(rng, codes),
            "县（市、区）": [county_name] * n,
            "乡镇": np.char.add(np.array([county_name[:2]] * n), np.char.add(rng.integers(1, 20, n).astype(str), "镇")),
            "行政村": np.char.add(rng.integers(1, 41, n).astype(str), np.array(["村"] * n)),
            "家庭人口数": members,
            "脱贫状态": status,
            "识别年度": registered,
            "脱贫年度": [str(e) if e else "" for e in exits],
        }
    )
    return table


def synthetic_registry(
    path: Path, households: int, seed: int = 7, chunk: int = 1_000_000, province_code: str | None = None
) -> Path:
    """``households`` rows over many counties (of one province, or all); about 1 in 10,000 IDs bad on purpose."""
    rng = np.random.default_rng(seed)
    codes = np.array(sorted(int(c) for c in counties() if province_code is None or c.startswith(province_code)))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        out.write((",".join(HEADER) + "\n").encode())
        heads = np.zeros(len(codes), dtype=np.int64)  # heads numbered so far per county: IDs unique over chunks
        for start in range(0, households, chunk):
            n = min(chunk, households - start)
            which = rng.integers(0, len(codes), n)
            county = codes[which]
            ids = _ids(rng, county, _ordinals(which, heads))
            ids[rng.random(n) < 0.0001] = "360827197001011235"  # a wrong check character
            registered = rng.integers(2014, 2018, n)
            lifted = rng.random(n) < 0.7
            table = pa.table(
                {
                    "户编号": np.char.add("H", np.arange(start, start + n).astype(str)),
                    "户主姓名": _names(rng, n),
                    "户主身份证号码": ids,
                    "县（市、区）": county.astype(str),
                    "乡镇": np.char.add("第", np.char.add(rng.integers(1, 30, n).astype(str), "镇")),
                    "行政村": np.char.add(rng.integers(1, 300, n).astype(str), "村"),
                    "家庭人口数": rng.integers(1, 9, n),
                    "脱贫状态": np.where(lifted, "已脱贫", "未脱贫"),
                    "识别年度": registered,
                    "脱贫年度": np.where(lifted, (registered + 1).astype(str), ""),
                }
            )
            pacsv.write_csv(table, out, pacsv.WriteOptions(include_header=False))
    return path


def _write(table: pa.Table, path: Path, encoding: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".xlsx":
        with xlsxwriter.Workbook(str(path), {"constant_memory": True}) as book:
            book.set_properties({"created": datetime(2018, 1, 15)})  # same bytes every time: same sha256
            sheet = book.add_worksheet("建档立卡")
            sheet.write_row(0, 0, table.column_names)
            for i, row in enumerate(zip(*(c.to_pylist() for c in table.columns), strict=True), start=1):
                sheet.write_row(i, 0, [str(v) for v in row])  # IDs and codes as text, as registries keep them
        return
    if encoding == "utf-8":
        pacsv.write_csv(table, str(path))
        return
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink)
    path.write_bytes(sink.getvalue().to_pybytes().decode("utf-8").encode(encoding))


def synthetic_inbox(inbox: Path, households: int) -> list[Path]:
    """``households`` spread over every province: one registry file per province folder (named by pinyin)."""
    provinces = sorted(PROVINCE_PINYIN)
    share, extra = divmod(households, len(provinces))
    written = []
    for i, code in enumerate(provinces):
        n = share + (1 if i < extra else 0)
        if n:
            target = inbox / PROVINCE_PINYIN[code] / f"建档立卡贫困户2017_{n}.csv"
            written.append(synthetic_registry(target, n, seed=i, province_code=code))
    return written
