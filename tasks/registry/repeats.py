"""Repeated household ids: found from fingerprints on the way in, compared as text at the finish, the later rejected."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tasks.registry.schema import GOOD_SCHEMA, REJECTION_SCHEMA, WRITE_OPTIONS, RegistryResult

DUCKDB_MEMORY = "256MB"  # for comparing repeated household ids: spill rather than pass the 1 GiB budget


def repeated(prints: np.ndarray) -> list[int]:
    """Positions whose fingerprint occurs more than once: one sort of 8 bytes a row, no hash table of ids."""
    ordered = np.sort(prints)
    twice = ordered[1:][ordered[1:] == ordered[:-1]]
    return np.flatnonzero(np.isin(prints, twice)).tolist() if len(twice) else []


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
                    f"“{result.household_id_header or '户编号'}”与第",
                    pc.cast(later["first_row"], pa.string()),
                    "行重复：一户只能填一行，请删去或合并重复的行",
                    " ",
                ),
                "reason_code": pa.array(["duplicate_household"] * later.num_rows, pa.string()),
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
