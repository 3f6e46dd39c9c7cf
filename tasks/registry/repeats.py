"""Repeated household ids and heads: found from fingerprints on the way in, compared as text at the finish, the later
rejected."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from fupin.tasks.registry.checking import gated_values
from fupin.tasks.registry.schema import GOOD_SCHEMA, REJECTION_SCHEMA, WRITE_OPTIONS, RegistryResult

DUCKDB_MEMORY = "256MB"  # for comparing repeated household ids: spill rather than pass the 1 GiB budget


# fingerprints are spread over this many files by their remainder (they are uniform hashes) as the blocks are
# written, and compared one file at a time: a 30-million-row registry's part is ~470,000 fingerprints (7 MiB)
PARTS = 64
FLUSH_ROWS = 500_000  # records held before they are appended to their files (8 MiB)
_RECORD = np.dtype([("print", "<u8"), ("position", "<i8")])


class Fingerprints:
    """A registry's 64-bit fingerprints with their row positions, spilled to files as the blocks are written.

    Repeats are found at the finish one part at a time, so memory stays the same whatever the file's size.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        folder.mkdir(parents=True, exist_ok=True)
        self._pending: list[np.ndarray] = []  # records not yet appended to their files (at most FLUSH_ROWS)
        self._pending_rows = 0

    def add(self, prints: np.ndarray) -> None:
        records = np.empty(len(prints), _RECORD)
        records["print"] = prints
        records["position"] = np.arange(self.count, self.count + len(prints))
        self.count += len(prints)
        self._pending.append(records)
        self._pending_rows += len(records)
        if self._pending_rows >= FLUSH_ROWS:
            self._flush()

    def _flush(self) -> None:
        """Append the pending records to their parts' files (opened only for this: a run ingests many at once)."""
        if not self._pending:
            return
        records = np.concatenate(self._pending)
        self._pending, self._pending_rows = [], 0
        parts = (records["print"] % np.uint64(PARTS)).astype(np.uint8)  # one byte: numpy's stable sort is a radix
        records = records[np.argsort(parts, kind="stable")]
        bounds = np.cumsum(np.bincount(parts, minlength=PARTS))
        for part, (start, end) in enumerate(zip(np.r_[0, bounds[:-1]], bounds, strict=True)):
            if end > start:
                with open(self.folder / f"{part:02d}", "ab") as file:
                    file.write(records[start:end].tobytes())

    def close(self) -> None:
        """Remove the spill files (a failed ingest)."""
        shutil.rmtree(self.folder, ignore_errors=True)

    def repeated(self) -> list[int]:
        """Positions (in row order) whose fingerprint occurs more than once; the spill files are removed."""
        self._flush()
        try:
            found = []
            for part in range(PARTS):
                spilled = self.folder / f"{part:02d}"
                records = np.fromfile(spilled, dtype=_RECORD) if spilled.exists() else np.empty(0, _RECORD)
                found.append(records["position"][np.isin(records["print"], _twice(records["print"]))])
            return np.sort(np.concatenate(found)).tolist()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def _twice(prints: np.ndarray) -> np.ndarray:
    """The fingerprints that occur more than once: one sort, no hash table."""
    ordered = np.sort(prints)
    return np.unique(ordered[1:][ordered[1:] == ordered[:-1]])


def finish_registry(result: RegistryResult, lake_file: Path) -> RegistryResult:
    """Reject repeated household ids and heads named in two households (the later rows), then move the good rows
    into the lake, atomically.

    Without repeats, the common case, this is a rename: the ingest already compared fingerprints.
    """
    staged, target = Path(result.good_path), Path(lake_file)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    dups = _reject_repeats(result, staged, tmp) if result.repeat_candidates or result.head_repeat_candidates else 0
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
    """Compare the candidates as text: a household id repeated, or a head's pseudonym (the keyed hash of the ID
    number) in another household; write the later rows as rejections and the rest to ``out``."""
    con = duckdb.connect()
    try:
        con.execute(f"set memory_limit = '{DUCKDB_MEMORY}'")
        con.execute(
            "create temp table candidates as select household_id, household_key, source_row from read_parquet(?, "
            "file_row_number = true) where file_row_number in (select unnest(?::bigint[]))",
            [str(staged), sorted(set(result.repeat_candidates) | set(result.head_repeat_candidates))],
        )
        households = con.sql(
            "select c.source_row, c.household_id, f.first_row from candidates c join (select household_id, "
            "min(source_row) as first_row from candidates group by household_id having count(*) > 1) f "
            "using (household_id) where c.source_row > f.first_row order by c.source_row"
        ).to_arrow_table()
        con.execute("create temp table repeated_households as select source_row from households")
        # of the rows left, a head (by pseudonym) whose first household is another: the later rows, naming the first
        heads = con.sql(
            "with kept as (select * from candidates where source_row not in (select source_row from "
            "repeated_households)), firsts as (select household_key, arg_min(household_id, source_row) as first_id, "
            "min(source_row) as first_row from kept group by household_key having count(*) > 1) "
            "select k.source_row, f.first_row, f.first_id from kept k join firsts f using (household_key) "
            "where k.source_row > f.first_row and k.household_id <> f.first_id order by k.source_row"
        ).to_arrow_table()
    finally:
        con.close()
    if not households.num_rows and not heads.num_rows:
        return 0  # equal fingerprints, different ids
    n, m = households.num_rows, heads.num_rows
    head_header = result.head_id_header or "户主身份证号"
    rejections = pa.concat_tables(
        [
            pa.table(
                {
                    "row_number": households["source_row"],
                    "field": pa.array(["household_id"] * n, type=pa.string()),
                    "value": households["household_id"],
                    "reason": pc.binary_join_element_wise(
                        f"“{result.household_id_header or '户编号'}”与第",
                        pc.cast(households["first_row"], pa.string()),
                        "行重复：一户只能填一行，请删去或合并重复的行",
                        " ",
                    ),
                    "reason_code": pa.array(["duplicate_household"] * n, pa.string()),
                },
                schema=REJECTION_SCHEMA,
            ),
            pa.table(  # the head's ID number is never echoed: the first household's number is named instead
                {
                    "row_number": heads["source_row"],
                    "field": pa.array(["head_id"] * m, type=pa.string()),
                    "value": pa.nulls(m, pa.string()),
                    "reason": gated_values(
                        pc.binary_join_element_wise(
                            f"“{head_header}”与第 ",
                            pc.cast(heads["first_row"], pa.string()),
                            " 行（户编号 ",
                            pc.cast(heads["first_id"], pa.string()),
                            "）的户主相同：一人只能是一户的户主，请核对身份证号或户编号",
                            "",
                        )
                    ),
                    "reason_code": pa.array(["duplicate_head"] * m, pa.string()),
                },
                schema=REJECTION_SCHEMA,
            ),
        ]
    ).sort_by("row_number")
    pq.write_table(rejections, dup_rejections_path(result))
    drop = rejections["row_number"].combine_chunks()
    with pq.ParquetWriter(out, GOOD_SCHEMA, **WRITE_OPTIONS) as writer:  # streamed, in file order
        for batch in pq.ParquetFile(staged).iter_batches():
            keep = pc.invert(pc.is_in(batch.column("source_row"), value_set=drop))
            writer.write_table(pa.Table.from_batches([batch]).filter(keep).cast(GOOD_SCHEMA))
    return rejections.num_rows


def dup_rejections_path(result: RegistryResult) -> Path:
    """Where the rejections of repeated household ids go (beside the other rejections)."""
    return Path(result.rejections_path).with_suffix(".dups.parquet")
