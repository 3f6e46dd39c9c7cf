"""Receipts (回执): for each submission with rejections, the rows the province must correct and resend.

Written as an XLSX a clerk opens in Excel or WPS and as a CSV (UTF-8 with BOM, so Excel shows the
Chinese) with the same columns: 文件 / 行号 / 列（the submitter's own header） / 填报值 / 原因 / 原因代码 (the
stable machine code an engineer matches on). A file with nothing to correct says so instead of a table.
The CSV lists every rejected row; the XLSX the first RECEIPT_XLSX_ROWS, and on a second sheet (按原因汇总) how
many rows each column and reason code rejected — what a clerk reads first when a whole registry came back.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import zipfile
from collections.abc import Iterator
from itertools import chain
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import xlsxwriter

from fupin.core.config import Paths
from fupin.core.messages import CATALOGUE, code_in, say
from fupin.core.safe_text import neutralise, shown_name
from fupin.tasks.deferred import NO_CACHE, get_run_logger, task
from fupin.tasks.records import Outcome, Rejection
from fupin.warehouse import read
from fupin.warehouse.contracts import contracts
from fupin.warehouse.labels import labels_of

HEADERS = ("文件", "行号", "列", "填报值", "原因", "原因代码")
SUMMARY_SHEET = "按原因汇总"
SUMMARY_HEADERS = ("列", "原因代码", "行数", "首个行号", "原因（首行）")
NOTHING_TO_CORRECT = "本文件全部入库，无需更正。"
NO_ROW_TO_CORRECT = "本文件没有退回的行，无需更正。"
# rows the XLSX lists (a sheet holds 1,048,576; writing a million takes a minute): the CSV carries the complete list
RECEIPT_XLSX_ROWS = 100_000


_LEADING_HEADER = re.compile(r"^“([^”]+)”")


def column_namer(o: Outcome):
    """``name(field, reason)``: the submitter's own header of a rejected field, as the clerk reads it in their file.

    From the submission's header mapping; else the header the reason begins with (“金额（元）”不能为负数…);
    else the contract's Chinese label; the canonical field only when nothing else names it.
    """
    submitted: dict[str, str] = {}
    for m in o.header_mapping or []:
        name, label = m.get("column_name"), m.get("submitted_header")
        if name and label and m.get("matched_by") != "stated":  # a title names no column
            if name.startswith("amount_yuan[") and name.endswith("]"):
                name = name[len("amount_yuan[") : -1]
            submitted.setdefault(name, label)
    labels: dict[str, str] = {}
    for contract in contracts().values():
        for column in [*contract.inputs, *contract.columns]:
            label = column.label or column.zh
            if label:
                labels.setdefault(column.name, label)
                labels.setdefault(column.field, label)
            if column.field in submitted:
                submitted.setdefault(column.name, submitted[column.field])

    def name(field: str | None, reason: str | None) -> str:
        if not field:
            return ""
        if field in submitted:
            return submitted[field]
        leading = _LEADING_HEADER.match(reason or "")
        return leading[1] if leading else labels.get(field, field)

    return name


def receipt_rows(o: Outcome) -> Iterator[tuple[str, int | None, str, str, str, str]]:
    """(file, row, column header, value, reason, code) of every rejection: the list, then the Parquet files of big
    registries."""
    column = column_namer(o)
    for r in o.rejections:
        yield o.file_name, r.row_number, column(r.field, r.reason), r.value or "", r.reason, r.code or ""
    for rejection_file in o.rejection_files:
        if not Path(rejection_file).exists():
            continue
        for batch in pq.ParquetFile(rejection_file).iter_batches(
            batch_size=65_536, columns=["row_number", "field", "value", "reason", "reason_code"]
        ):
            for row in batch.to_pylist():
                yield (
                    o.file_name,
                    row["row_number"],
                    column(row["field"], row["reason"]),
                    row["value"] or "",
                    row["reason"] or "",
                    row["reason_code"] or "",
                )


# the part of a receipt's name taken from the submitted file's: a 250-byte name must not make it too long
STEM_MAX_BYTES = 120
# characters Windows refuses in a name (receipts go back to provinces' Windows shares), and path separators
_UNSAFE_IN_NAME = re.compile(r'[\\/:*?"<>|]')


def safe_stem(file_name: str) -> str:
    """A file name's stem that any file system takes: escaped, no separators, no leading dot, ≤ STEM_MAX_BYTES."""
    stem = _UNSAFE_IN_NAME.sub("_", shown_name(Path(file_name).stem)).lstrip(". ") or "file"
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


def _after(template: str, field: str) -> str:
    """The literal text that follows ``{field}`` in a catalogue template, up to the next field."""
    return template.split("{" + field + "}", 1)[1].split("{", 1)[0]


def _before(template: str, field: str) -> str:
    """The literal text that precedes ``{field}`` in a catalogue template, from the previous field on."""
    return template.split("{" + field + "}", 1)[0].rsplit("}", 1)[-1]


def _part(text: str, start: str, end: str) -> str:
    """What stands between ``start`` and ``end`` in a stored message; from ``start`` to its end when ``end`` is
    absent; '' when ``start`` is."""
    i = text.find(start)
    if i < 0:
        return ""
    i += len(start)
    j = text.find(end, i)
    return text[i:] if j < 0 else text[i:j]


# the ledger's messages of held, discarded and superseded-while-held submissions speak to the Ministry's operator
# (what would change, fupin approve / discard): a receipt takes their parts and speaks to the clerk instead
_HELD = CATALOGUE["held_shrink_guard"].zh
_DISCARDED = CATALOGUE["discarded"].zh
_SUPERSEDED = CATALOGUE["held_superseded"].zh


def held_reasons(message: str | None) -> str:
    """What a held submission's ledger message says would change, without the operator's commands."""
    text = message or ""
    earlier = _after(_DISCARDED, "reason")  # a discarded or superseded one's message quotes the held one after this
    if earlier in text:
        text = text.split(earlier, 1)[1]
    return _part(text, "]：", _after(_HELD, "reasons")).strip()


def receipt_note(o: Outcome, rejected: bool = True) -> str:
    """The receipt's second line, for the clerk who sent the file: what happened to it and what to send next
    (``rejected``: whether any row or the file was rejected). Never a command: those are the Ministry's."""
    code = o.message_code or code_in(o.message)
    said = None
    if o.status == "held":
        said = say("receipt_held", reasons=held_reasons(o.message), code=code)
    elif o.status == "discarded":
        reason = _part(o.message or "", _before(_DISCARDED, "reason"), _after(_DISCARDED, "reason"))
        reasons = held_reasons(o.message)
        if o.kind == "full":  # what to send instead: the rows to correct alone, or the complete form
            said = say("receipt_discarded.full", reason=reason, reasons=reasons)
        else:
            said = say("receipt_discarded", reason=reason, reasons=reasons)
    elif o.status == "superseded" and code == "held_superseded":
        name = _part(o.message or "", _before(_SUPERSEDED, "name"), _after(_SUPERSEDED, "name"))
        said = say("receipt_held_superseded", name=name)
    if said is not None:
        return said + ("" if rejected else f"。{NO_ROW_TO_CORRECT}")
    if not rejected:
        return NOTHING_TO_CORRECT if o.status in ("loaded", "superseded") else NO_ROW_TO_CORRECT
    return HOW_TO_RESEND


# the wording of held, discarded and superseded receipts: 2 speaks to the clerk, never a command
RECEIPT_WORDING = 2
# the XLSX's custom document property holding the ledger state the receipt was written from
STATE_PROPERTY = "fupin_ledger_state"
_STATE_IN_XML = re.compile(rf'name="{STATE_PROPERTY}"[^>]*>\s*<vt:lpwstr>([0-9a-f]+)</vt:lpwstr>')


def ledger_state(o: Outcome) -> str:
    """A digest of what a receipt says about its submission (status, counts, message, file name): a receipt
    written from another state of the ledger row is stale."""
    said = [o.file_name, o.status, o.rows_loaded, o.rows_rejected, o.message or ""]
    if o.status in ("held", "discarded", "superseded"):
        said.append(RECEIPT_WORDING)  # receipts of these written with older wording are rewritten
    return hashlib.sha256(json.dumps(said, ensure_ascii=False).encode("utf-8")).hexdigest()[:32]


def written_state(xlsx_path: Path) -> str | None:
    """The ledger state a receipt was written from; None when it is missing, unreadable or from before states."""
    try:
        with zipfile.ZipFile(xlsx_path) as book, book.open("docProps/custom.xml") as fh:
            found = _STATE_IN_XML.search(fh.read(1 << 16).decode("utf-8", errors="replace"))
    except (OSError, KeyError, zipfile.BadZipFile):
        return None
    return found[1] if found else None


def write_receipt(paths: Paths, o: Outcome) -> Path | None:
    """Write the XLSX and CSV receipt of a submission: every file received gets one, saying what became of it
    (a file with nothing to correct says so: 本文件全部入库，无需更正).

    Each file is written under a temporary name and renamed, the CSV first and the XLSX last: an XLSX
    carrying the ledger state (``STATE_PROPERTY``) means both are complete for that state.
    """
    stem = receipt_stem(paths, o)
    stem.parent.mkdir(parents=True, exist_ok=True)
    xlsx_path, csv_path = stem.with_name(stem.name + ".xlsx"), stem.with_name(stem.name + ".csv")
    xlsx_tmp, csv_tmp = (p.with_name(f".{p.name}.tmp") for p in (xlsx_path, csv_path))
    try:
        _write_receipt_files(o, xlsx_tmp, csv_tmp, csv_path.name)
        os.replace(csv_tmp, csv_path)
        os.replace(xlsx_tmp, xlsx_path)
    except BaseException:
        xlsx_tmp.unlink(missing_ok=True)
        csv_tmp.unlink(missing_ok=True)
        raise
    return xlsx_path


def _write_receipt_files(o: Outcome, xlsx_path: Path, csv_path: Path, csv_name: str) -> None:
    workbook = xlsxwriter.Workbook(str(xlsx_path), {"constant_memory": True})
    workbook.set_custom_property(STATE_PROPERTY, ledger_state(o))
    sheet = workbook.add_worksheet("回执")
    bold = workbook.add_format({"bold": True})
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    status = STATUS_LABELS.get(o.status, o.status)
    sheet.write_row(
        0, 0, [f"回执：{o.file_name}（{status}，入库 {o.rows_loaded} 行，退回 {o.rows_rejected} 行）"], bold
    )
    rows = receipt_rows(o)
    first = next(rows, None)
    sheet.write_row(1, 0, [receipt_note(o, rejected=first is not None)])
    if first is not None:
        sheet.write_row(2, 0, HEADERS, bold)
        sheet.freeze_panes(3, 0)
    for col, width in enumerate((28, 8, 18, 20, 70, 24)):
        sheet.set_column(col, col, width, wrap if col == 4 else None)

    by_reason: dict[tuple[str, str], list] = {}  # (column, code) → [rows, first row number, first reason]
    with open(csv_path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        if first is None:
            writer.writerow([receipt_note(o, rejected=False)])
        else:
            writer.writerow(HEADERS)
        n = 0
        for n, (file_name, row_number, field, value, reason, code) in enumerate(
            () if first is None else chain([first], rows), start=1
        ):
            # as the XLSX: a text cell Excel would run as a formula gets a leading apostrophe; a number stays one
            writer.writerow(
                [neutralise(file_name), "" if row_number is None else row_number]
                + [neutralise(field), csv_value(value), neutralise(reason), neutralise(code)]
            )
            seen = by_reason.get((field, code))
            if seen is None:
                by_reason[(field, code)] = [1, row_number, reason]
            else:
                seen[0] += 1
            if n <= RECEIPT_XLSX_ROWS:
                line = 2 + n
                sheet.write_string(line, 0, file_name)
                if row_number is not None:
                    sheet.write_number(line, 1, row_number)
                sheet.write_string(line, 2, field)
                sheet.write_string(line, 3, value)  # as typed: '12a', '360827.0', not reformatted
                sheet.write_string(line, 4, reason)
                sheet.write_string(line, 5, code)
    if n > RECEIPT_XLSX_ROWS:
        sheet.write_string(
            3 + RECEIPT_XLSX_ROWS,
            0,
            f"… 共 {n:,} 条退回记录，此表列出前 {RECEIPT_XLSX_ROWS:,} 条；完整清单见 {csv_name}，"
            f"各列各原因的行数见工作表“{SUMMARY_SHEET}”",
        )
    if by_reason:
        _write_summary(workbook, by_reason, bold, wrap)
    workbook.close()


def _write_summary(workbook: xlsxwriter.Workbook, by_reason: dict[tuple[str, str], list], bold, wrap) -> None:
    """The second sheet: per column and reason code, how many rows were rejected and the first of them — most
    rows first."""
    sheet = workbook.add_worksheet(SUMMARY_SHEET)
    sheet.write_row(0, 0, SUMMARY_HEADERS, bold)
    for col, width in enumerate((18, 24, 10, 10, 70)):
        sheet.set_column(col, col, width, wrap if col == 4 else None)
    ordered = sorted(by_reason.items(), key=lambda item: (-item[1][0], item[0]))
    for line, ((field, code), (count, row_number, reason)) in enumerate(ordered, start=1):
        sheet.write_string(line, 0, field)
        sheet.write_string(line, 1, code)
        sheet.write_number(line, 2, count)
        if row_number is not None:
            sheet.write_number(line, 3, row_number)
        sheet.write_string(line, 4, reason)


# a value as submitted that Excel reads as a plain number (-115367.61): written as it is, never guarded
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def csv_value(value: str) -> str:
    """The receipt CSV's 填报值 cell: a plain number, negative ones too, as the number it is; other text guarded
    against formulas (neutralise)."""
    return value if _PLAIN_NUMBER.fullmatch(value) else neutralise(value)


LEDGER_SQL = (
    "select submission_id, province_code, file_name, sha256, cast(received_at as varchar), status, "
    "rows_loaded, rows_rejected, message, message_code, kind from meta.submissions order by submission_id"
)


def _ledger_outcome(row: tuple) -> Outcome:
    sid, province, file_name, sha, received_at, status, loaded, rejected, message, code, kind = row
    o = Outcome(sid, province, file_name, sha, received_at, status=status, rows_loaded=loaded, message=message)
    o.rows_rejected, o.message_code, o.kind = rejected, code, kind or "correction"
    return o


def stale_receipts(con: duckdb.DuckDBPyConnection, paths: Paths) -> list[tuple[Outcome, str]]:
    """Every submission whose receipt does not say what the ledger says: (its ledger row as an outcome,
    ``missing`` or ``stale``), from a connection holding ``meta.submissions``."""
    found = []
    for row in con.execute(LEDGER_SQL).fetchall():
        o = _ledger_outcome(row)
        stem = receipt_stem(paths, o)
        xlsx = stem.with_name(stem.name + ".xlsx")
        if not xlsx.exists():
            found.append((o, "missing"))
        elif written_state(xlsx) != ledger_state(o) or not stem.with_name(stem.name + ".csv").exists():
            found.append((o, "stale"))
    return found


def _rewrite(con: duckdb.DuckDBPyConnection, paths: Paths, o: Outcome) -> None:
    """Write ``o``'s receipt again from the ledger: its rejections and the submitter's headers."""
    o.rejections = [
        Rejection(*row)
        for row in con.execute(
            "select row_number, field, value, reason, reason_code from meta.rejections "
            "where submission_id = ? order by row_number nulls first",
            [o.submission_id],
        ).fetchall()
    ]
    o.header_mapping = [  # the submitter's headers, named in the receipt's 列 column
        {"column_name": name, "submitted_header": header}
        for name, header in con.execute(
            "select column_name, submitted_header from meta.header_mappings "
            "where submission_id = ? and matched_by <> 'stated'",  # a title names no column
            [o.submission_id],
        ).fetchall()
    ]
    write_receipt(paths, o)


def sync_receipts(paths: Paths) -> dict[str, list[str]]:
    """Write again, from the ledger, every receipt that is missing or says something else than the ledger.

    The load writes receipts after the warehouse swap: a run, approval or discard killed in between leaves
    the ledger right and a receipt missing or stale (``暂缓入库`` for an approved submission); a later load
    supersedes older submissions in the ledger. The next run (even with nothing new), every load, and
    ``fupin doctor --fix`` call this. Returns the ids rewritten, by ``missing`` / ``stale``.
    """
    done: dict[str, list[str]] = {"missing": [], "stale": []}
    if not paths.warehouse.exists():
        return done
    with read.connect(paths.warehouse) as con:
        for o, why in stale_receipts(con, paths):
            _rewrite(con, paths, o)
            done[why].append(o.submission_id)
    return done


@task(cache_policy=NO_CACHE)
def restore_receipts(paths: Paths) -> dict[str, list[str]]:
    """sync_receipts as a task of the nightly flow, logged when it wrote anything."""
    done = sync_receipts(paths)
    if done["missing"] or done["stale"]:
        get_run_logger().warning(
            "receipts written again from the ledger: %d missing, %d stale", len(done["missing"]), len(done["stale"])
        )
    return done
