"""The submission ledger in the warehouse: meta.submissions, its rejections and header mappings.

read_ledger tells the pull which files were received before; write_ledger records a submission as the load
decides it (replacing what an earlier load wrote); supersede_held closes older held submissions a newer one
replaces.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import duckdb
from prefect import task
from prefect.cache_policies import NO_CACHE

from fupin.core.config import Paths
from fupin.core.messages import code_in, say
from fupin.core.safe_text import shown_name
from fupin.tasks.load.facts import partition
from fupin.tasks.records import Outcome

LIVE = ("loaded", "partially_loaded")
LEDGER_COLUMNS = (
    "submission_id",
    "province_code",
    "dataset",
    "file_name",
    "source_path",
    "sha256",
    "received_at",
    "status",
    "years",
    "rows_total",
    "rows_loaded",
    "rows_rejected",
    "message",
    "raw_path",
    "kind",
    "applied_at",
    "message_code",
)


@task(cache_policy=NO_CACHE)
def read_ledger(paths: Paths) -> dict[str, str]:
    """Keys of files already received: 'province|path|sha' and 'province|sha' → submission id."""
    if not paths.warehouse.exists():
        return {}
    query = (
        "select submission_id, province_code, source_path, sha256, status from meta.submissions "
        "order by received_at, submission_id"
    )
    try:
        with duckdb.connect(str(paths.warehouse), read_only=True) as con:
            rows = con.execute(query).fetchall()
    except duckdb.IOException:
        # someone holds the file open read-write (e.g. the duckdb CLI without -readonly): read a copy
        with tempfile.TemporaryDirectory(dir=paths.home) as tmp:
            copy = Path(tmp) / "ledger.duckdb"
            shutil.copyfile(paths.warehouse, copy)
            with duckdb.connect(str(copy), read_only=True) as con:
                rows = con.execute(query).fetchall()
    seen: dict[str, str] = {}
    for sid, province, path, sha, status in rows:
        seen[f"{province}|{shown_name(path)}|{sha}"] = sid  # as pull_source shows it (a ledger of before the gate)
        if status != "duplicate":
            seen.setdefault(f"{province}|{sha}", sid)
    return seen


def write_ledger(con: duckdb.DuckDBPyConnection, o: Outcome) -> None:
    """The submission's ledger row and its rejections (replacing what an earlier load wrote)."""
    con.execute(
        f"insert or replace into meta.submissions ({', '.join(LEDGER_COLUMNS)}) "
        f"values ({', '.join('?' for _ in LEDGER_COLUMNS)})",
        [
            o.submission_id,
            o.province_code,
            o.dataset,
            o.file_name,
            o.source_path,
            o.sha256,
            o.received_at,
            o.status,
            ",".join(map(str, o.years)) or None,
            o.rows_total,
            o.rows_loaded,
            o.rows_rejected,
            o.message,
            o.raw_path,
            o.kind,
            o.applied_at,
            o.message_code or code_in(o.message),  # code_in: an outcome replayed from an older ledger
        ],
    )
    con.execute("delete from meta.rejections where submission_id = ?", [o.submission_id])
    columns = "submission_id, row_number, field, value, reason, reason_code"
    if o.rejections:
        con.executemany(
            f"insert into meta.rejections ({columns}) values (?, ?, ?, ?, ?, ?)",
            [
                [o.submission_id, r.row_number, r.field, r.value, r.reason, r.code or code_in(r.reason)]
                for r in o.rejections
            ],
        )
    con.execute("delete from meta.header_mappings where submission_id = ?", [o.submission_id])
    if o.header_mapping:
        con.executemany(
            "insert into meta.header_mappings "
            "(submission_id, sheet, submitted_header, column_name, matched_by, source) values (?, ?, ?, ?, ?, ?)",
            [
                [
                    o.submission_id,
                    *(m.get(k) for k in ("sheet", "submitted_header", "column_name", "matched_by")),
                    m.get("source") or "header",
                ]
                for m in o.header_mapping
            ],
        )
    for rejection_file in o.rejection_files:  # millions of rejected rows travel as Parquet, not lists
        con.execute(
            f"insert into meta.rejections ({columns}) "
            "select ?, row_number, field, value, reason, reason_code from read_parquet(?)",
            [o.submission_id, rejection_file],
        )


def supersede_held(con: duckdb.DuckDBPyConnection, o: Outcome) -> None:
    """Older held submissions of the same province, dataset and years are superseded: never applied later."""
    mine = {(d, y) for d, _, y in map(partition, o.lake_files)}
    for sid, dataset, years, message in con.execute(
        "select submission_id, dataset, years, message from meta.submissions "
        "where province_code = ? and status = 'held' and submission_id <> ? and received_at < ?",
        [o.province_code, o.submission_id, o.received_at],
    ).fetchall():
        theirs = {(d, int(y)) for d in (dataset or "").split(",") for y in (years or "").split(",") if y}
        if theirs & mine:
            con.execute(
                "update meta.submissions set status = 'superseded', message = ?, message_code = 'held_superseded' "
                "where submission_id = ?",
                [
                    # the held reason kept in the ledger: the receipt, rewritten from it, keeps it too
                    say("held_superseded", id=o.submission_id, name=o.file_name, earlier=message or ""),
                    sid,
                ],
            )
