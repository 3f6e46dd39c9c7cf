"""Parse → normalise → validate one submission; each step writes its staging files for the next.

A step's document (status, warnings, rejections, header mapping) is a small JSON file; the rows
travel beside it as Arrow IPC files (a parsed table's cells, a dataset's records), so a form of
100,000 rows is read column by column, never as a list of dicts. Tasks hand each other the
document's path, never the rows.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from fupin.core.config import Limits, Paths, load_headers
from fupin.core.files import write_text_atomic
from fupin.core.messages import render, say
from fupin.core.progress import report
from fupin.core.safe_text import INVISIBLE, mask_ids
from fupin.tasks.identity.hashing import MissingKeyError
from fupin.tasks.normalise import normalise_table
from fupin.tasks.normalise.columns import by_distinct
from fupin.tasks.normalise.helpers import vocabularies
from fupin.tasks.parse import WORKBOOK_EXTENSIONS, ParseError, SheetsRead, read_tables
from fupin.tasks.records import ALL_REFUSED_CODE, Received, Rejection, all_refused, refused_alike, submission_kind
from fupin.tasks.registry import is_registry_file
from fupin.tasks.registry.checking import holds_id
from fupin.tasks.staging import cells_table, parsed_table, read_arrow, write_arrow
from fupin.tasks.validate import header_names, header_of, validate_table


def _write(path: Path, doc: dict[str, Any]) -> str:
    return str(write_text_atomic(path, json.dumps(doc, ensure_ascii=False, default=str)))


def _read(path: str) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def staging_dir(paths: Paths, submission_id: str) -> Path:
    """Where one submission's intermediate files live during a run."""
    return paths.staging / submission_id


def _sheets_to_keep(received: Received) -> SheetsRead | None:
    """A workbook that may be a form, open for the registry sniff to keep the sheets it reads for the parse."""
    if Path(received.raw_path).suffix.lower() not in WORKBOOK_EXTENSIONS:
        return None
    if received.size > Limits.from_env().form_bytes:  # no form: it is a registry, or refused, and parsed never
        return None
    try:
        return SheetsRead(received.raw_path)
    except Exception:  # the sniff and the parser open it again, and say what is wrong with it
        return None


@task(cache_policy=NO_CACHE)
def parse_submission(received: Received, paths: Paths) -> str:
    """Read the archived file into tables with the submitter's headers."""
    doc: dict[str, Any] = {"received": asdict(received), "warnings": [], "rejections": []}
    if received.refused:
        doc.update(status="rejected", message=f"{received.file_name}：{received.refused}")
    elif received.duplicate_of:
        doc.update(
            status="duplicate",
            message=say("duplicate", name=received.file_name, original=received.duplicate_of),
            message_code="duplicate",
        )
    elif is_registry_file(received.raw_path, sheets := _sheets_to_keep(received)):
        limits = Limits.from_env()
        if received.size > limits.registry_bytes:
            reason = limits.message("registry_bytes", received.size, "建档立卡文件字节数")
            doc.update(status="rejected", message=render(reason.within(received.file_name)), message_code=reason.code)
        else:
            # millions of rows: streamed from the archive by tasks.registry when the lake is written
            doc.update(route="household_registry", status="routed")
    else:
        try:
            tables = read_tables(received.raw_path, file_name=received.file_name, sheets=sheets)
            folder = staging_dir(paths, received.submission_id)
            doc["tables"] = [
                {  # the file's own words (sheet names, headers, JSON keys) gated: they reach the ledger
                    "file_name": t.file_name,
                    "sheet": mask_ids(t.sheet),
                    "header": [mask_ids(h) for h in t.header],
                    "context": t.context,
                    "cells": write_arrow(folder / f"parsed-{k}.arrow", cells_table(t)),
                }
                for k, t in enumerate(tables)
            ]
            if not tables:
                doc.update(status="rejected", message=say("no_data", name=received.file_name), message_code="no_data")
        except ParseError as exc:
            doc.update(status="rejected", message=str(exc), message_code=exc.code)
        except Exception as exc:  # a reader broken by the file: the file is rejected, the run goes on
            # the type only: an exception's text may quote the file's content
            get_run_logger().error("parse of %s raised %s", received.submission_id, type(exc).__name__)
            doc.update(
                status="rejected",
                message=say("unreadable_content", name=received.file_name, error=type(exc).__name__),
                message_code="unreadable_content",
            )
    if doc.get("message"):
        doc["message"] = mask_ids(doc["message"])
    report(received.province_code, "parse", received.file_name)
    return _write(staging_dir(paths, received.submission_id) / "parsed.json", doc)


@task(cache_policy=NO_CACHE)
def normalise_submission(parsed_path: str, paths: Paths) -> str:
    """Map headers to canonical columns, amounts to yuan, rates to fractions, counties to codes."""
    doc = _read(parsed_path)
    received = doc["received"]
    datasets: dict[str, list[pa.Table]] = {}
    errors: list[str] = []
    error_codes: list[str | None] = []  # the code of each of errors
    rows_total = 0
    kind = received.get("kind", "correction")
    vocabs = vocabularies(load_headers(paths.header_files, received["province_code"]))
    doc["header_mapping"] = []
    parsed = doc.pop("tables", []) or []
    for meta in parsed:
        table = parsed_table(meta, read_arrow(meta["cells"]))
        envelope = (table.context.get("metadata") or {}).get("报送类型")
        kind = submission_kind(received["file_name"], kind, envelope)
        for skipped in table.context.get("skipped_sheets") or []:
            if f"已跳过{skipped}" not in doc["warnings"]:
                doc["warnings"].append(f"已跳过{skipped}")
        try:
            result = normalise_table(table, received["province_code"], vocabs)
        except MissingKeyError as exc:  # ID numbers and no key: write_lake refuses it, as a registry, to wait for one
            doc["needs_key"] = str(exc)
            break
        except Exception as exc:  # as in parse: a table that breaks the normaliser is skipped, named, never fatal
            get_run_logger().error("normalise of %s raised %s", received["submission_id"], type(exc).__name__)
            where = table.sheet or received["file_name"]
            errors.append(say("normalise_failed", where=where, error=type(exc).__name__))
            error_codes.append("normalise_failed")
            continue
        rows_total += result.rows_total
        doc["warnings"].extend(result.warnings)
        doc["header_mapping"].extend(result.header_mapping)
        if result.error and result.error_code == ALL_REFUSED_CODE:  # the file stops here, whatever else it holds
            doc.update(status="rejected", message=result.error, message_code=ALL_REFUSED_CODE, rejections=[])
            datasets.clear()
            break
        if result.error:
            errors.append(result.error)
            error_codes.append(result.error_code)
            if result.error_field:
                doc.setdefault("rejected_field", result.error_field)
            continue
        datasets.setdefault(result.dataset, []).append(result.table)
        doc["rejections"].extend(asdict(r) for r in result.rejections)
    for meta in parsed:  # the submitter's own cells (a grant list's names and ID numbers): not kept past this step
        Path(meta["cells"]).unlink(missing_ok=True)
    doc["rows_total"] = rows_total
    doc["kind"] = kind
    if "status" not in doc and not datasets:
        doc.update(
            status="rejected",
            message="；".join(errors) or say("no_table", name=received["file_name"]),
            message_code=error_codes[0] if errors else "no_table",
        )
    elif errors:
        doc["warnings"].extend(f"已跳过 {e}" for e in errors)
    folder = Path(parsed_path).parent
    doc["datasets"] = {
        dataset: write_arrow(folder / f"normalised-{dataset}.arrow", pa.concat_tables(tables))
        for dataset, tables in datasets.items()
    }
    gated_doc(doc)
    report(received["province_code"], "normalise", received["file_name"])
    return _write(Path(parsed_path).with_name("normalised.json"), doc)


ID_IN_TEXT_CODE = "id_in_non_id_column"


def gated_column(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A text column as it may be stored: cells holding invisible characters passed through ``gate``."""
    hidden = pc.match_substring_regex(column, INVISIBLE).fill_null(False)
    if not pc.any(hidden).as_py():
        return column
    return pc.if_else(hidden, pa.array(by_distinct(column.to_pylist(), mask_ids), pa.string()), column)


def gated_doc(doc: dict[str, Any]) -> None:
    """A step's document as it may be stored: messages, warnings, rejections and the header mapping (the
    submitter's headers and sheet names) passed through ``gate``."""
    for rejection in doc["rejections"]:
        rejection["value"], rejection["reason"] = mask_ids(rejection["value"]), mask_ids(rejection["reason"])
    doc["warnings"] = [mask_ids(w) for w in doc["warnings"]]
    if doc.get("message"):
        doc["message"] = mask_ids(doc["message"])
    for mapping in doc.get("header_mapping") or []:
        for key in ("submitted_header", "sheet"):
            mapping[key] = mask_ids(mapping.get(key))


def _keep_ids_out(doc: dict[str, Any], tables: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """No ID number leaves a form's staging in clear: a record holding one is rejected with it masked, and
    messages, warnings, rejections and header mapping are gated (a registry sent without its header is read
    as a form); the kept text cells lose their invisible characters."""
    kept = {}
    for dataset, table in tables.items():
        header = header_of(dataset, header_names(dataset, doc.get("header_mapping")))
        text = [
            name for name in table.column_names if not name.startswith("_") and pa.types.is_string(table[name].type)
        ]
        hits = {name: holds_id(table[name]) for name in text}
        found = np.zeros(table.num_rows, bool)
        for hit in hits.values():
            found |= hit
        for i in np.flatnonzero(found).tolist():
            row = table.slice(i, 1).to_pylist()[0]
            for name in text:
                if hits[name][i]:
                    reason = say("id_in_non_id_column", header=header(name))
                    doc["rejections"].append(
                        asdict(Rejection(row["_row"], name, mask_ids(row[name]), reason, ID_IN_TEXT_CODE))
                    )
        table = table.filter(pa.array(~found)) if found.any() else table
        for name in text:
            table = table.set_column(table.column_names.index(name), name, gated_column(table[name]))
        kept[dataset] = table
    gated_doc(doc)
    return kept


def _stop_if_all_refused(doc: dict[str, Any], tables: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """A form whose first rows (Limits.same_reason_rows) are all refused for one reason, by the business rules
    too: refused as a file, with one message instead of a receipt line per row."""
    stop = Limits.from_env().same_reason_rows
    if "status" in doc or len(doc["rejections"]) < stop:
        return tables
    good = [pc.min(t["_row"]).as_py() for t in tables.values() if t.num_rows]
    first_good = min(good) if good else None
    refused: dict[int, Rejection] = {}
    for r in doc["rejections"]:
        if r["row_number"] is not None and (first_good is None or r["row_number"] < first_good):
            refused.setdefault(r["row_number"], Rejection(**r))
    first = refused_alike([refused[n] for n in sorted(refused)], stop)
    if first is None:
        return tables
    refused_all = all_refused(doc["received"]["file_name"], first, stop)
    doc.update(status="rejected", message=refused_all, message_code=ALL_REFUSED_CODE, rejections=[])
    return {}


@task(cache_policy=NO_CACHE)
def validate_submission(normalised_path: str, paths: Paths) -> str:
    """Apply business rules; rejected rows are recorded with row number, field, value and reason."""
    doc = _read(normalised_path)
    tables = {}
    for dataset, path in (doc.get("datasets") or {}).items():
        headers = header_names(dataset, doc.get("header_mapping"))
        good, rejections, warnings = validate_table(dataset, read_arrow(path), headers)
        tables[dataset] = good
        doc["rejections"].extend(asdict(r) for r in rejections)
        doc["warnings"].extend(warnings)
    tables = _keep_ids_out(doc, tables)
    tables = _stop_if_all_refused(doc, tables)
    folder = Path(normalised_path).parent
    doc["datasets"] = {d: write_arrow(folder / f"validated-{d}.arrow", t) for d, t in tables.items()}
    doc["rejections"].sort(key=lambda r: r["row_number"] or 0)
    report(doc["received"]["province_code"], "validate", doc["received"]["file_name"])
    return _write(Path(normalised_path).with_name("validated.json"), doc)
