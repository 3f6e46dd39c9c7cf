"""Ingesting a registry: blocks read, checked and hashed on worker threads, written in file order."""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tasks.registry.checking import CountyCodes, check_block
from tasks.registry.hashing import backend, fingerprints, keyed_hashes
from tasks.registry.reading import (
    BLOCK_SIZE,
    REGISTRY_COLUMNS,
    REQUIRED,
    batches,
    registry_columns,
    sniff_text_file,
    without_row,
)
from tasks.registry.repeats import repeated
from tasks.registry.schema import GOOD_SCHEMA, REJECTION_SCHEMA, WRITE_OPTIONS, RegistryError, RegistryResult

WORKERS = os.cpu_count() or 2


IN_FLIGHT = 2 * WORKERS


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
        raise RegistryError(
            "不是建档立卡名册：找不到“户编号”和“户主身份证号”列：请按名册模板报送 [registry_not_recognised]"
        )
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        names = "、".join(f"“{REGISTRY_COLUMNS[c][0]}”" for c in missing)
        raise RegistryError(f"建档立卡名册缺少必填列{names}：请按名册模板补上后重新报送 [missing_required_column]")
    out_dir.mkdir(parents=True, exist_ok=True)
    result = RegistryResult(str(out_dir / "registry_good.parquet"), str(out_dir / "registry_rejections.parquet"))
    result.household_id_header = header[cols["household_id"]]
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
        raise RegistryError(
            f"从第 2 行起无法读取（技术信息：{without_row(exc)}）：请检查后重新报送 [registry_unreadable]"
        ) from None
    counties = CountyCodes(province_code)
    submission = pa.array([submission_id], type=pa.string())
    backend()  # chosen (and said in the run's log) here: the worker threads below are outside the run's context

    def process(batch: pa.RecordBatch, first_row: int) -> _Block:
        rows = np.arange(first_row, first_row + batch.num_rows, dtype=np.int64)
        good, rejections = check_block(
            {k: batch.column(header[i]) for k, i in cols.items()},
            rows,
            counties,
            {k: header[i] for k, i in cols.items()},
        )
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

        for batch in batches(reader):
            pending.append(pool.submit(process, batch, next_row))
            next_row += batch.num_rows
            while len(pending) > IN_FLIGHT or (pending and pending[0].done()):
                write(pending.popleft().result())
        while pending:
            write(pending.popleft().result())
    result.repeat_candidates = repeated(np.concatenate(prints) if prints else np.empty(0, dtype=np.uint64))
    pa.default_memory_pool().release_unused()  # hand the blocks' memory back before DuckDB's turn
    result.rows_total = next_row - 2
    result.rows_loaded = result.rows_total - result.rows_rejected
    result.years = [year]
    return result


@dataclass
class _Block:
    """One block's outcome: rows read, good rows in the lake's layout, their household ids' fingerprints, rejections."""

    size: int
    rows: pa.Table | None
    fingerprints: np.ndarray
    rejections: list[pa.Table]
