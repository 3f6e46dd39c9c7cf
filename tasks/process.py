"""Parse → normalise → validate one submission; each step reads and writes a JSON file in staging.

The documents are small (the forms provinces send are hundreds of rows); tasks hand each
other the file's path, never the rows.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from fupin.config import Limits, Paths, load_headers
from fupin.progress import report
from fupin.safe_text import has_id, mask_ids
from tasks.normalise import normalise_table
from tasks.normalise.helpers import vocabularies
from tasks.parse import ParsedTable, ParseError, read_tables
from tasks.records import Received, Rejection, submission_kind
from tasks.registry import is_registry_file
from tasks.validate import validate_rows


def _write(path: Path, doc: dict[str, Any]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, default=str), encoding="utf-8")
    tmp.replace(path)
    return str(path)


def _read(path: str) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def staging_dir(paths: Paths, submission_id: str) -> Path:
    """Where one submission's intermediate files live during a run."""
    return paths.staging / submission_id


@task(cache_policy=NO_CACHE)
def parse_submission(received: Received, paths: Paths) -> str:
    """Read the archived file into tables with the submitter's headers."""
    doc: dict[str, Any] = {"received": asdict(received), "warnings": [], "rejections": []}
    if received.refused:
        doc.update(status="rejected", message=f"{received.file_name}: {received.refused}")
    elif received.duplicate_of:
        doc.update(status="duplicate", message=f"same content as submission {received.duplicate_of}")
    elif is_registry_file(received.raw_path):
        limits = Limits.from_env()
        if received.size > limits.registry_bytes:
            reason = limits.exceeded("registry_bytes", received.size, "建档立卡文件字节数")
            doc.update(status="rejected", message=f"{received.file_name}: {reason}")
        else:
            # millions of rows: streamed from the archive by tasks.registry when the lake is written
            doc.update(route="household_registry", status="routed")
    else:
        try:
            tables = read_tables(received.raw_path, file_name=received.file_name)
            doc["tables"] = [asdict(t) for t in tables]
            if not tables:
                doc.update(status="rejected", message=f"{received.file_name}: no data found in the file")
        except ParseError as exc:
            doc.update(status="rejected", message=str(exc))
        except Exception as exc:  # a reader broken by the file: the file is rejected, the run goes on
            # the type only: an exception's text may quote the file's content
            get_run_logger().error("parse of %s raised %s", received.submission_id, type(exc).__name__)
            doc.update(
                status="rejected",
                message=f"{received.file_name}: 文件内容无法读取 [unreadable_content]: {type(exc).__name__}",
            )
    report(received.province_code, "parse", received.file_name)
    return _write(staging_dir(paths, received.submission_id) / "parsed.json", doc)


@task(cache_policy=NO_CACHE)
def normalise_submission(parsed_path: str, paths: Paths) -> str:
    """Map headers to canonical columns, amounts to yuan, rates to fractions, counties to codes."""
    doc = _read(parsed_path)
    received = doc["received"]
    datasets: dict[str, list[dict]] = {}
    errors: list[str] = []
    rows_total = 0
    kind = received.get("kind", "correction")
    vocabs = vocabularies(load_headers(paths.header_files, received["province_code"]))
    doc["header_mapping"] = []
    for raw_table in doc.pop("tables", []) or []:
        table = ParsedTable(**raw_table)
        envelope = (table.context.get("metadata") or {}).get("报送类型")
        kind = submission_kind(received["file_name"], kind, envelope)
        for skipped in table.context.get("skipped_sheets") or []:
            if f"skipped {skipped}" not in doc["warnings"]:
                doc["warnings"].append(f"skipped {skipped}")
        try:
            result = normalise_table(table, received["province_code"], vocabs)
        except Exception as exc:  # as in parse: a table that breaks the normaliser is skipped, named, never fatal
            get_run_logger().error("normalise of %s raised %s", received["submission_id"], type(exc).__name__)
            where = table.sheet or received["file_name"]
            errors.append(f"{where}: 表格无法转换 [normalise_failed]: {type(exc).__name__}")
            continue
        rows_total += result.rows_total
        doc["warnings"].extend(result.warnings)
        doc["header_mapping"].extend(result.header_mapping)
        if result.error:
            errors.append(result.error)
            if result.error_field:
                doc.setdefault("rejected_field", result.error_field)
            continue
        datasets.setdefault(result.dataset, []).extend(result.rows)
        doc["rejections"].extend(asdict(r) for r in result.rejections)
    doc["rows_total"] = rows_total
    doc["kind"] = kind
    if "status" not in doc and not datasets:
        doc.update(status="rejected", message="; ".join(errors) or "no table could be read")
    elif errors:
        doc["warnings"].extend(f"skipped {e}" for e in errors)
    doc["datasets"] = datasets
    report(received["province_code"], "normalise", received["file_name"])
    return _write(Path(parsed_path).with_name("normalised.json"), doc)


def _typed(rows: list[dict]) -> list[dict]:
    for r in rows:
        if "amount_yuan" in r and r["amount_yuan"] is not None:
            r["amount_yuan"] = Decimal(str(r["amount_yuan"]))
    return rows


ID_IN_TEXT = "疑似身份证号，已屏蔽；身份证号只能出现在建档立卡名册的身份证号列 [id_in_non_id_column]"


def _keep_ids_out(doc: dict[str, Any]) -> None:
    """No ID number leaves a form's staging in clear: a row holding one is rejected with it masked, and
    messages, warnings and rejections are masked (a registry sent without its header is read as a form)."""
    for dataset, rows in doc.get("datasets", {}).items():
        kept = []
        for row in rows:
            found = [(name, value) for name, value in row.items() if name != "_row" and has_id(value)]
            if not found:
                kept.append(row)
                continue
            for name, value in found:
                doc["rejections"].append(asdict(Rejection(row["_row"], name, mask_ids(value), ID_IN_TEXT)))
        doc["datasets"][dataset] = kept
    for rejection in doc["rejections"]:
        rejection["value"], rejection["reason"] = mask_ids(rejection["value"]), mask_ids(rejection["reason"])
    doc["warnings"] = [mask_ids(w) for w in doc["warnings"]]
    if doc.get("message"):
        doc["message"] = mask_ids(doc["message"])


@task(cache_policy=NO_CACHE)
def validate_submission(normalised_path: str, paths: Paths) -> str:
    """Apply business rules; rejected rows are recorded with row number, field, value and reason."""
    doc = _read(normalised_path)
    for dataset, rows in list(doc.get("datasets", {}).items()):
        good, rejections, warnings = validate_rows(dataset, _typed(rows))
        doc["datasets"][dataset] = good
        doc["rejections"].extend(asdict(r) for r in rejections)
        doc["warnings"].extend(warnings)
    _keep_ids_out(doc)
    doc["rejections"].sort(key=lambda r: r["row_number"] or 0)
    report(doc["received"]["province_code"], "validate", doc["received"]["file_name"])
    return _write(Path(normalised_path).with_name("validated.json"), doc)
