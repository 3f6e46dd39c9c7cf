"""Ingesting a registry: blocks read, checked and hashed on worker threads, written in file order."""

from __future__ import annotations

import csv
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from fupin.core.config import Limits
from fupin.core.messages import message, say
from fupin.core.raw import open_raw
from fupin.core.safe_text import mask_ids
from fupin.tasks.identity.hashing import backend, fingerprints, key_prints, keyed_hashes
from fupin.tasks.records import Rejection
from fupin.tasks.registry.checking import CountyCodes, check_block
from fupin.tasks.registry.reading import (
    BLOCK_SIZE,
    REGISTRY_COLUMNS,
    REQUIRED,
    is_headerless_registry,
    registry_columns,
    sniff_text_file,
)
from fupin.tasks.registry.repeats import Fingerprints
from fupin.tasks.registry.schema import (
    GOOD_SCHEMA,
    REJECTION_SCHEMA,
    WRITE_OPTIONS,
    RegistryError,
    RegistryResult,
    RowsAllRefused,
)

WORKERS = os.cpu_count() or 2


IN_FLIGHT = 2 * WORKERS


def ingest_registry(
    raw_path: str | Path | BinaryIO,
    province_code: str | None,
    year: int,
    key: bytes,
    out_dir: Path,
    submission_id: str,
) -> RegistryResult:
    """Stream a registry CSV into pseudonymised good rows and rejections (both Parquet) in ``out_dir``.

    ``raw_path`` is an archived file's path (read through ``fupin.core.raw.open_raw``: decompressed as it
    streams, its SHA-256 checked when the end is read) or an open binary file (an XLSX registry converted into
    a file without a name). The good rows are written in the lake's layout, so that a registry without
    repeated household ids goes to the lake by a rename (``finish_registry``).

    Arrow reads the file in blocks, numbering rows by position. A line it cannot place (a blank
    line, a line with too many or too few fields, a quote left open, bytes of another encoding)
    would shift every later row's number, so the file is then read again line by line: each such
    line is rejected with the line number the clerk sees in their file, and the rest loads.
    """
    if isinstance(raw_path, (str, Path)):  # archived: decompressed as it streams, its SHA-256 checked at the end
        with open_raw(raw_path) as file:
            return ingest_registry(file, province_code, year, key, out_dir, submission_id)
    source = raw_path
    encoding, delimiter, header = sniff_text_file(source)
    cols = registry_columns(header)
    if cols is None:
        if is_headerless_registry(header):
            raise RegistryError(
                message("registry_no_header")
            )  # never the "header" itself: it is a name and an ID number
        raise RegistryError(message("registry_not_recognised"))
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        names = "、".join(f"“{REGISTRY_COLUMNS[c][0]}”" for c in missing)
        raise RegistryError(message("missing_required_column.registry", columns=names))
    out_dir.mkdir(parents=True, exist_ok=True)
    read = _Reading(source, encoding, delimiter, header, cols)
    try:
        return _ingest(read.arrow_blocks(), province_code, year, key, out_dir, submission_id, header, cols)
    except _LineByLine:
        return _ingest(read.line_blocks(), province_code, year, key, out_dir, submission_id, header, cols)


class _LineByLine(Exception):
    """Arrow met a line it cannot place: the file is read again line by line."""


# a rejected line: its number only, never its text (a name and an ID number)
LINE_BLOCK_ROWS = 200_000


@dataclass
class _Reading:
    """A registry file's blocks: Arrow's fast reader, or line by line with each line's own number."""

    source: BinaryIO
    encoding: str
    delimiter: str
    header: list[str]
    cols: dict[str, int]

    def arrow_blocks(self) -> Iterator[tuple[dict[str, pa.Array], np.ndarray, pa.Table | None]]:
        """Arrow's blocks, rows numbered from line 2; _LineByLine at the first line Arrow cannot place."""
        self.source.seek(0)
        try:  # opening reads the first block already
            reader = pacsv.open_csv(
                pa.PythonFile(self.source, mode="r"),
                read_options=pacsv.ReadOptions(encoding=self.encoding, block_size=BLOCK_SIZE, use_threads=True),
                # a blank line is kept as a (short, so invalid) row: skipped silently it would shift the numbers
                parse_options=pacsv.ParseOptions(delimiter=self.delimiter, ignore_empty_lines=False),
                convert_options=pacsv.ConvertOptions(
                    column_types={h: pa.string() for h in self.header},
                    include_columns=[self.header[i] for i in self.cols.values()],  # names are never even converted
                    strings_can_be_null=False,
                ),
            )
        except (pa.ArrowInvalid, UnicodeDecodeError):
            raise _LineByLine from None
        next_row = 2  # the header is line 1
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except (pa.ArrowInvalid, UnicodeDecodeError):
                raise _LineByLine from None
            rows = np.arange(next_row, next_row + batch.num_rows, dtype=np.int64)
            next_row += batch.num_rows
            columns = {k: batch.column(self.header[i]) for k, i in self.cols.items()}
            if pc.any(pc.equal(pc.binary_length(columns["household_id"]), 0)).as_py():
                columns, rows = _without_blank_rows(columns, rows)
            yield columns, rows, None

    def line_blocks(self) -> Iterator[tuple[dict[str, pa.Array], np.ndarray, pa.Table | None]]:
        """The file line by line: good lines in blocks with their line numbers, each other line a rejection."""
        width = len(self.header)
        values: dict[str, list[str]] = {k: [] for k in self.cols}
        rows: list[int] = []
        bad: list[tuple[int, str]] = []

        def block() -> tuple[dict[str, pa.Array], np.ndarray, pa.Table | None]:
            out = ({k: pa.array(v, pa.string()) for k, v in values.items()}, np.array(rows, dtype=np.int64), None)
            rejected = pa.table(
                {
                    "row_number": pa.array([b[0] for b in bad], pa.int64()),
                    "field": pa.nulls(len(bad), pa.string()),
                    "value": pa.nulls(len(bad), pa.string()),
                    "reason": pa.array([b[1] for b in bad], pa.string()),
                    "reason_code": pa.array(["malformed_line"] * len(bad), pa.string()),
                },
                schema=REJECTION_SCHEMA,
            )
            for v in values.values():
                v.clear()
            rows.clear()
            bad.clear()
            return out[0], out[1], rejected if rejected.num_rows else None

        file = self.source
        file.seek(0)
        file.readline()  # the header, line 1
        for number, raw in enumerate(file, start=2):
            try:
                text = raw.decode(self.encoding).rstrip("\r\n")
            except UnicodeDecodeError:
                bad.append((number, say("malformed_line.undecodable", encoding=self.encoding.upper())))
                continue
            if text.count('"') % 2:
                bad.append((number, say("malformed_line.open_quote")))
                continue
            fields = next(csv.reader((text,), delimiter=self.delimiter), [])
            if not any(f.strip() for f in fields):
                continue  # a blank line (or one of empty fields, as spreadsheets export) is no household
            if len(fields) != width:
                bad.append((number, say("malformed_line", found=len(fields), width=width)))
                continue
            rows.append(number)
            for k, i in self.cols.items():
                values[k].append(fields[i])
            if len(rows) >= LINE_BLOCK_ROWS:
                yield block()
        if rows or bad:
            yield block()


def _without_blank_rows(columns: dict[str, pa.Array], rows: np.ndarray) -> tuple[dict[str, pa.Array], np.ndarray]:
    """A block without its blank lines (Arrow reads one as a row of empty fields, keeping the lines' numbers)."""
    blank = None
    for values in columns.values():
        empty = pc.equal(pc.binary_length(pc.utf8_trim_whitespace(values)), 0)
        blank = empty if blank is None else pc.and_(blank, empty)
    keep = pc.invert(blank)
    return {k: pc.filter(v, keep) for k, v in columns.items()}, rows[keep.to_numpy(zero_copy_only=False)]


def _ingest(
    blocks: Iterator[tuple[dict[str, pa.Array], np.ndarray, pa.Table | None]],
    province_code: str | None,
    year: int,
    key: bytes,
    out_dir: Path,
    submission_id: str,
    header: list[str],
    cols: dict[str, int],
) -> RegistryResult:
    result = RegistryResult(str(out_dir / "registry_good.parquet"), str(out_dir / "registry_rejections.parquet"))
    # the submitter's headers, named in the reasons of repeats: gated, as every submitted word
    result.household_id_header = mask_ids(header[cols["household_id"]])
    result.head_id_header = mask_ids(header[cols["head_id"]]) if "head_id" in cols else None
    counties = CountyCodes(province_code)
    submission = pa.array([submission_id], type=pa.string())
    backend()  # chosen (and said in the run's log) here: the worker threads below are outside the run's context

    def process(columns: dict[str, pa.Array], rows: np.ndarray, unread: pa.Table | None) -> _Block:
        size = len(rows) + (unread.num_rows if unread is not None else 0)
        extra = [unread] if unread is not None else []
        if not len(rows):
            return _Block(size, None, _NO_PRINTS, _NO_PRINTS, extra)
        good, rejections = check_block(columns, rows, counties, {k: header[i] for k, i in cols.items()})
        rejections = extra + rejections
        if good is None:
            return _Block(size, None, _NO_PRINTS, _NO_PRINTS, rejections)
        good["household_key"] = keyed_hashes(key, good["household_key"])
        good["submission_id"] = pa.DictionaryArray.from_arrays(
            pa.array(np.zeros(len(good["source_row"]), np.int32)), submission
        )
        rows_out = pa.table(good, schema=GOOD_SCHEMA)
        # fingerprints of the household ids and of the heads' pseudonyms: repeats of either are compared at the finish
        prints = fingerprints(good["household_id"]), key_prints(rows_out["household_key"])
        return _Block(size, rows_out, *prints, rejections)

    refusals = _FirstRows(Limits.from_env().same_reason_rows)
    # fingerprints of household ids and of heads' pseudonyms, spilled beside the rows: memory stays flat
    prints = Fingerprints(out_dir / "household_id_prints")
    head_prints = Fingerprints(out_dir / "head_prints")
    try:
        total = 0
        with (
            pq.ParquetWriter(result.good_path, GOOD_SCHEMA, **WRITE_OPTIONS) as good,
            pq.ParquetWriter(result.rejections_path, REJECTION_SCHEMA, compression="zstd") as bad,
            ThreadPoolExecutor(WORKERS, thread_name_prefix="registry") as pool,
            ThreadPoolExecutor(1, thread_name_prefix="registry-writer") as writer,
        ):
            # blocks are read here, checked and hashed on worker threads (arrow, numpy and the HMAC release the
            # GIL) and written by one writer thread in file order, while the next blocks are read: reading,
            # checking and writing overlap. A few blocks in flight bound the memory.
            pending: deque[Future[None]] = deque()

            def write(block: _Block) -> None:
                refusals.see(block)  # RowsAllRefused: the file stops here
                for rejected in block.rejections:  # one record per problem: a row may have several
                    bad.write_table(rejected)
                result.rows_rejected += block.size - (block.rows.num_rows if block.rows is not None else 0)
                if block.rows is not None:
                    good.write_table(block.rows)
                    prints.add(block.fingerprints)
                    head_prints.add(block.head_fingerprints)

            def written(block: Future[_Block]) -> None:  # on the writer thread, one block after the other
                write(block.result())

            for columns, rows, unread in blocks:
                pending.append(writer.submit(written, pool.submit(process, columns, rows, unread)))
                total += len(rows) + (unread.num_rows if unread is not None else 0)
                while len(pending) > IN_FLIGHT or (pending and pending[0].done()):
                    pending.popleft().result()
            while pending:
                pending.popleft().result()
    except BaseException:  # (a line Arrow cannot place: the file is read again, line by line)
        prints.close()
        head_prints.close()
        raise
    result.repeat_candidates = prints.repeated()
    result.head_repeat_candidates = head_prints.repeated()
    pa.default_memory_pool().release_unused()  # hand the blocks' memory back before DuckDB's turn
    result.rows_total = total
    result.rows_loaded = result.rows_total - result.rows_rejected
    result.years = [year]
    return result


_NO_PRINTS = np.empty(0, dtype=np.uint64)


_CHECKS_PER_ROW = 16  # more than check_block's checks of one row


class _FirstRows:
    """Watches a registry's first rows, block after block in file order: when the first ``stop`` rows are all
    refused and one reason code is among the reasons of every one of them, RowsAllRefused (the file is refused
    with one message, as a form is, and read no further). A loaded row before that ends the watch."""

    def __init__(self, stop: int):
        self.stop, self.rows = stop, 0
        self.watching = stop > 0
        self.codes: set[str] | None = None  # the reason codes every refused row so far has
        self.first: dict[str, Rejection] = {}  # each code's first rejection

    def see(self, block: _Block) -> None:
        if not self.watching:
            return
        good = block.rows["source_row"] if block.rows is not None and block.rows.num_rows else None
        first_good = pc.min(good).as_py() if good is not None else None
        refused = [t for t in block.rejections if t.num_rows]
        table = pa.concat_tables(refused) if refused else REJECTION_SCHEMA.empty_table()
        table = table.filter(pc.is_valid(table["row_number"]))
        if first_good is not None:
            table = table.filter(pc.less(table["row_number"], first_good))
        # a row has at most one rejection per check: this many records hold the rows still to watch
        table = table.sort_by("row_number").slice(0, (self.stop - self.rows) * _CHECKS_PER_ROW)
        for _, same_row in groupby(table.to_pylist(), key=itemgetter("row_number")):
            if self.rows >= self.stop:
                break
            found = set()
            for r in same_row:
                found.add(r["reason_code"])
                self.first.setdefault(
                    r["reason_code"], Rejection(r["row_number"], r["field"], r["value"], r["reason"], r["reason_code"])
                )
            self.codes = found if self.codes is None else self.codes & found
            self.rows += 1
            if not self.codes:
                self.watching = False
                return
        if self.rows >= self.stop and self.codes:
            code = min(self.codes, key=lambda c: (self.first[c].row_number or 0, c))
            raise RowsAllRefused(self.first[code], self.stop)
        if first_good is not None:
            self.watching = False


@dataclass
class _Block:
    """One block's outcome: rows read, good rows in the lake's layout, their household ids' fingerprints, rejections."""

    size: int
    rows: pa.Table | None
    fingerprints: np.ndarray
    head_fingerprints: np.ndarray
    rejections: list[pa.Table]
