"""Receipts (回执): for each submission with rejections, the rows the province must correct and resend.

Written as an XLSX a clerk opens in Excel or WPS and as a CSV (UTF-8 with BOM, so Excel shows the
Chinese) with the same columns: 文件 / 行号 / 字段 / 填报值 / 原因.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import xlsxwriter
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from fupin.config import Paths
from fupin.safe_text import neutralise, printable
from tasks.records import Outcome, Rejection
from warehouse.reference import labels_of

HEADERS = ("文件", "行号", "字段", "填报值", "原因")
# one sheet holds 1,048,576 rows; beyond that the CSV carries the complete list
XLSX_MAX_ROWS = 1_048_575 - 3


def receipt_rows(o: Outcome) -> Iterator[tuple[str, int | None, str, str, str]]:
    """(file, row, field, value, reason) of every rejection: the list, then the Parquet files of big registries."""
    for r in o.rejections:
        yield o.file_name, r.row_number, r.field or "", r.value or "", r.reason
    for rejection_file in o.rejection_files:
        if not Path(rejection_file).exists():
            continue
        for batch in pq.ParquetFile(rejection_file).iter_batches(
            batch_size=65_536, columns=["row_number", "field", "value", "reason"]
        ):
            for row in batch.to_pylist():
                yield o.file_name, row["row_number"], row["field"] or "", row["value"] or "", row["reason"] or ""


# the part of a receipt's name taken from the submitted file's: a 250-byte name must not make it too long
STEM_MAX_BYTES = 120
# characters Windows refuses in a name (receipts go back to provinces' Windows shares), and path separators
_UNSAFE_IN_NAME = re.compile(r'[\\/:*?"<>|]')


def safe_stem(file_name: str) -> str:
    """A file name's stem that any file system takes: escaped, no separators, no leading dot, ≤ STEM_MAX_BYTES."""
    stem = _UNSAFE_IN_NAME.sub("_", printable(Path(file_name).stem)).lstrip(". ") or "file"
    encoded = stem.encode("utf-8")
    if len(encoded) > STEM_MAX_BYTES:
        stem = encoded[:STEM_MAX_BYTES].decode("utf-8", errors="ignore") + "…"
    return stem


def receipt_stem(paths: Paths, o: Outcome) -> Path:
    """receipts/<province>/<file stem>_<submission id>_回执 (without extension)."""
    return paths.receipts / o.province_code / f"{safe_stem(o.file_name)}_{o.submission_id}_回执"


STATUS_LABELS = labels_of("submission_status")  # seeds/labels.csv, as core.labels has them
HOW_TO_RESEND = (
    "退回的行未入库，这些行原有的数据继续有效。请只报送更正的行（更正/补报）；需要整表重报时，请在文件名中注明“全量”"
    '（如“湖南_资金下达_2017_全量.xlsx”）或在 JSON 中写 "报送类型": "全量"，全量重报会撤销文件中没有的行。'
    "行号为原表中的行号（整份文件退回时为空）。"
)


def receipt_note(o: Outcome) -> str:
    """The receipt's second line: what happened to the file and what the clerk sends next."""
    if o.status in ("held", "discarded"):
        return o.message or ""
    return HOW_TO_RESEND


def write_receipt(paths: Paths, o: Outcome) -> Path | None:
    """Write the XLSX and CSV receipt of a submission with rejections or held for a person; None otherwise."""
    if o.status not in ("held", "discarded") and not (o.rejections or any(Path(f).exists() for f in o.rejection_files)):
        return None
    stem = receipt_stem(paths, o)
    stem.parent.mkdir(parents=True, exist_ok=True)
    xlsx_path, csv_path = stem.with_name(stem.name + ".xlsx"), stem.with_name(stem.name + ".csv")

    workbook = xlsxwriter.Workbook(str(xlsx_path), {"constant_memory": True})
    sheet = workbook.add_worksheet("回执")
    bold = workbook.add_format({"bold": True})
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    status = STATUS_LABELS.get(o.status, o.status)
    sheet.write_row(
        0, 0, [f"回执：{o.file_name}（{status}，入库 {o.rows_loaded} 行，退回 {o.rows_rejected} 行）"], bold
    )
    sheet.write_row(1, 0, [receipt_note(o)])
    sheet.write_row(2, 0, HEADERS, bold)
    for col, width in enumerate((28, 8, 18, 20, 70)):
        sheet.set_column(col, col, width, wrap if col == 4 else None)
    sheet.freeze_panes(3, 0)

    with open(csv_path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADERS)
        for n, (file_name, row_number, field, value, reason) in enumerate(receipt_rows(o)):
            # as the XLSX: a cell Excel would run as a formula gets a leading apostrophe
            writer.writerow(
                [neutralise(file_name), "" if row_number is None else row_number]
                + [neutralise(text) for text in (field, value, reason)]
            )
            if n < XLSX_MAX_ROWS:
                line = 3 + n
                sheet.write_string(line, 0, file_name)
                if row_number is not None:
                    sheet.write_number(line, 1, row_number)
                sheet.write_string(line, 2, field)
                sheet.write_string(line, 3, value)  # as typed: '12a', '360827.0', not reformatted
                sheet.write_string(line, 4, reason)
            elif n == XLSX_MAX_ROWS:
                sheet.write_string(3 + n, 0, f"… more rows than a sheet holds: see {csv_path.name}")
    workbook.close()
    return xlsx_path


@task(cache_policy=NO_CACHE)
def restore_missing_receipts(paths: Paths) -> list[str]:
    """Write again, from the ledger, every receipt a submission with rejections lacks; returns their ids.

    The load writes receipts after the warehouse swap: a run killed in between leaves the ledger
    complete and some receipts unwritten, and the next run (with nothing new to load) writes them here.
    """
    if not paths.warehouse.exists():
        return []
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        ledger = con.execute(
            "select submission_id, province_code, file_name, sha256, cast(received_at as varchar), status, "
            "rows_loaded, rows_rejected, message from meta.submissions "
            "where submission_id in (select submission_id from meta.rejections) or status in ('held', 'discarded') "
            "order by submission_id"
        ).fetchall()
        restored = []
        for sid, province, file_name, sha, received_at, status, loaded, rejected, message in ledger:
            o = Outcome(sid, province, file_name, sha, received_at, status=status, rows_loaded=loaded, message=message)
            o.rows_rejected = rejected
            stem = receipt_stem(paths, o)
            if stem.with_name(stem.name + ".xlsx").exists():
                continue
            o.rejections = [
                Rejection(*row)
                for row in con.execute(
                    "select row_number, field, value, reason from meta.rejections where submission_id = ? "
                    "order by row_number nulls first",
                    [sid],
                ).fetchall()
            ]
            write_receipt(paths, o)
            restored.append(sid)
    if restored:
        get_run_logger().warning("%d receipts were missing and were written again from the ledger", len(restored))
    return restored
