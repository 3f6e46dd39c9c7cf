"""Write lake: good rows → Parquet, hive-partitioned by province and year, written atomically."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from prefect import task
from prefect.cache_policies import NO_CACHE

from fupin.core.config import Paths
from fupin.core.faults import fault_point
from fupin.core.files import atomic_write
from fupin.core.messages import say
from fupin.core.progress import report
from fupin.core.pseudonym import UUID_TYPE, from_legacy_hex, is_legacy
from fupin.core.raw import RawArchiveError
from fupin.tasks.identity.hashing import MissingKeyError
from fupin.tasks.normalise.columns import SHEET, UNIT
from fupin.tasks.partitions import partition_path
from fupin.tasks.records import Outcome, Rejection, rows_phrase
from fupin.tasks.registry import registry_outcome
from fupin.tasks.staging import read_arrow
from fupin.warehouse.contracts import contracts

MONEY = pa.decimal128(18, 2)
# the lake's columns saying where a row came from → the staging columns the normaliser wrote them in
SOURCE = {"source_sheet": SHEET, "source_unit": UNIT}


def write_parquet_atomic(table: pa.Table, target: Path) -> None:
    """Write next to the target and rename, so a reader never sees half a file."""
    with atomic_write(target, fsync=True) as tmp:
        pq.write_table(table, tmp, compression="zstd")
        fault_point("lake")


def lake_table(dataset: str, records: pa.Table, submission_id: str) -> pa.Table:
    """A staging table's records in the lake file's schema: source_row from ``_row``, source_sheet and source_unit
    from ``_sheet`` and ``_unit``, the submission's id."""
    schema = contracts()[dataset].arrow_schema()
    columns = []
    for f in schema:
        if f.name == "source_row":
            columns.append(records["_row"].cast(f.type))
        elif f.name in SOURCE:  # the sheet and the unit as submitted: a staging file without them gives nulls
            found = SOURCE[f.name] in records.column_names
            columns.append(records[SOURCE[f.name]].cast(f.type) if found else pa.nulls(records.num_rows, f.type))
        elif f.name == "submission_id":
            columns.append(pa.array([submission_id] * records.num_rows, f.type))
        elif f.type == UUID_TYPE and is_legacy(records[f.name]):  # staged before pseudonyms were UUIDs
            columns.append(from_legacy_hex(records[f.name]))
        else:
            columns.append(records[f.name].cast(f.type))
    return pa.Table.from_arrays(columns, schema=schema)


@task(cache_policy=NO_CACHE)
def write_lake(validated_path: str, paths: Paths) -> str:
    """Write the good rows to the lake and the submission's outcome next to its staging files."""
    doc = json.loads(Path(validated_path).read_text(encoding="utf-8"))
    rec = doc["received"]
    rejections = [Rejection(**r) for r in doc.get("rejections", [])]
    outcome = Outcome(
        submission_id=rec["submission_id"],
        province_code=rec["province_code"],
        file_name=rec["file_name"],
        sha256=rec["sha256"],
        received_at=rec["received_at"],
        source_path=rec["source_path"],
        raw_path=paths.stored(rec["raw_path"]),  # relative to the home in the ledger: the home can move
        rejections=rejections,
        warnings=doc.get("warnings", []),
        kind=doc.get("kind") or rec.get("kind", "correction"),
        header_mapping=doc.get("header_mapping", []),
    )
    if doc.get("raw_damaged"):  # its archived copy is not what was received (fupin.core.raw): nothing is loaded
        raise RawArchiveError(doc["raw_damaged"], "raw_corrupt")
    if doc.get("needs_key"):  # a form with ID numbers (a grant list) and no key: received again once one is set
        raise MissingKeyError(doc["needs_key"])
    if doc.get("route") == "household_registry":
        outcome = registry_outcome(outcome, rec, paths, Path(validated_path).parent)
        report(rec["province_code"], "lake", rec["file_name"])
        return str(outcome.save(Path(validated_path).with_name("outcome.json")))
    datasets = {dataset: read_arrow(path) for dataset, path in (doc.get("datasets") or {}).items()}
    good_rows = set(pc.unique(pa.chunked_array([t["_row"] for t in datasets.values()], pa.int64())).to_pylist())
    bad_rows = {r.row_number for r in rejections if r.row_number is not None}
    outcome.dataset = ",".join(sorted(datasets)) or None
    outcome.rows_loaded = len(good_rows)
    outcome.rows_rejected = len(bad_rows)
    outcome.rows_total = len(good_rows | bad_rows)
    if doc.get("status") in ("duplicate", "rejected"):
        outcome.status = doc["status"]
        outcome.message, outcome.message_code = doc.get("message"), doc.get("message_code")
        outcome.rows_loaded = 0
        if doc["status"] == "rejected":
            outcome.rejections.append(
                Rejection(None, doc.get("rejected_field"), None, doc.get("message") or "rejected")
            )
    elif not good_rows:
        outcome.status = "rejected"
        notes = [
            say("no_row_loaded.rejected", name=rec["file_name"], rows=rows_phrase(len(bad_rows)))
            if bad_rows
            else say("no_row_loaded", name=rec["file_name"])
        ]
        outcome.message, outcome.message_code = "；".join(notes + outcome.warnings), "no_row_loaded"
    else:
        outcome.status = "partially_loaded" if bad_rows else "loaded"
        years = set()
        for dataset, records in datasets.items():
            for year in sorted(pc.unique(records["year"]).to_pylist()):
                year_rows = records.filter(pc.equal(records["year"], year))
                target = partition_path(paths, dataset, rec["province_code"], year, rec["submission_id"])
                write_parquet_atomic(lake_table(dataset, year_rows, rec["submission_id"]), target)
                outcome.lake_files.append(str(target))
                years.add(year)
        outcome.years = sorted(years)
        notes = []
        if bad_rows:
            notes.append(say("rows_rejected", rows=rows_phrase(len(bad_rows))))
            outcome.message_code = "rows_rejected"
        notes.extend(outcome.warnings)
        outcome.message = "；".join(notes) or None
    report(rec["province_code"], "lake", rec["file_name"])
    return str(outcome.save(Path(validated_path).with_name("outcome.json")))
