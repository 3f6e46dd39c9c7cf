"""JSON submissions: a list of flat records, or an object holding one under 'data'."""

from __future__ import annotations

import json
import re
from collections import Counter
from decimal import Decimal
from typing import Any

from fupin.core.config import Limits
from fupin.core.messages import code_of, message, said_of
from fupin.tasks.parse.helpers import (
    ParsedTable,
    ParseError,
    decode_text,
    empty_context,
    plain_json,
    record_value,
    squeeze_label,
)

RECORD_KEYS = ("data", "records", "rows", "items")
_CONTEXT_KEYS = {
    "title": ("title", "标题", "表名"),
    "unit": ("unit", "单位", "金额单位"),
    "reporting_unit": ("reporting_unit", "填报单位"),
}


# records are flat objects in a list, perhaps inside an envelope: a few levels; beyond this it is not a form
MAX_JSON_DEPTH = 16
_BRACKETS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def _check_depth(text: str, name: str) -> None:
    """A ParseError when arrays and objects nest deeper than MAX_JSON_DEPTH (strings skipped, nothing recursed)."""
    depth = 0
    for match in _BRACKETS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise ParseError(message("json_too_deep", name=name, depth=MAX_JSON_DEPTH))
        elif token in "]}":
            depth -= 1


class _Object(dict):
    """A JSON object that remembers the keys written in it more than once (json.loads keeps the last, silently)."""

    repeated: dict[str, int] = {}


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    """``object_pairs_hook``: the object, and each key written twice (spaces in a key do not count), how often."""
    obj = _Object(pairs)
    counts = Counter(squeeze_label(str(key)) for key, _ in pairs)
    repeated = {key: n for key, n in counts.items() if n > 1}
    if repeated:
        obj.repeated = repeated
    return obj


def _refuse_repeated(obj: Any, name: str, where: str) -> None:
    """A ParseError naming the first key an object (and the objects inside it) repeats: never last-one-wins."""
    if isinstance(obj, list):
        for item in obj:
            _refuse_repeated(item, name, where)
        return
    if not isinstance(obj, dict):
        return
    for key, n in getattr(obj, "repeated", {}).items():
        raise ParseError(message("json_duplicate_key", name=name, where=where, key=key, count=n))
    for value in obj.values():
        _refuse_repeated(value, name, where)


def _records_of(doc: Any, name: str) -> tuple[list[Any], dict[str, Any]]:
    if isinstance(doc, list):
        return doc, {}
    if not isinstance(doc, dict):
        raise ParseError(message("json_no_records.shape", name=name))
    for key in RECORD_KEYS:
        if isinstance(doc.get(key), list):
            return doc[key], {k: v for k, v in doc.items() if k != key}
    lists = [k for k, v in doc.items() if isinstance(v, list) and v and all(isinstance(r, dict) for r in v)]
    if len(lists) == 1:
        return doc[lists[0]], {k: v for k, v in doc.items() if k != lists[0]}
    raise ParseError(message("json_no_records", name=name))


def _longest_text(value: Any) -> int:
    """The longest key or text anywhere in a JSON value (nesting is bounded by MAX_JSON_DEPTH), numbers as written."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, Decimal):
        return len(str(value))
    if isinstance(value, dict):
        return max((max(len(str(k)), _longest_text(v)) for k, v in value.items()), default=0)
    if isinstance(value, list):
        return max((_longest_text(v) for v in value), default=0)
    return 0


def _check_limits(records: list[Any], metadata: dict[str, Any], limits: Limits, name: str) -> None:
    """The per-file, per-row and per-cell limits of CSV and XLSX, for a JSON form: records, fields per record,
    characters per key or value (the envelope's too)."""
    if len(records) > limits.rows_per_sheet:
        raise ParseError(limits.message("rows_per_sheet", len(records), "记录数").within(name))
    longest = _longest_text(metadata)
    if longest > limits.field_chars:
        raise ParseError(limits.message("field_chars", longest, "报送信息中单元格字符数").within(name))
    for index, record in enumerate(records, start=1):
        if isinstance(record, dict) and len(record) > limits.columns_per_row:
            raise ParseError(limits.message("columns_per_row", len(record), f"第 {index} 条记录字段数").within(name))
        longest = _longest_text(record)
        if longest > limits.field_chars:
            raise ParseError(limits.message("field_chars", longest, f"第 {index} 条记录单元格字符数").within(name))


def read_json(data: bytes, name: str) -> list[ParsedTable]:
    """One table from a JSON file's bytes."""
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise ParseError(message("empty_file", name=name))
    try:
        text, encoding = decode_text(data)
        _check_depth(text, name)
        # numbers stay exact text-like Decimals: a 10,000-digit integer is a bad cell, not an int Python refuses
        doc = json.loads(text, parse_float=Decimal, parse_int=Decimal, object_pairs_hook=_object)
    except UnicodeDecodeError:
        raise ParseError(message("encoding_unknown.json", name=name)) from None
    except json.JSONDecodeError as exc:
        raise ParseError(message("json_invalid", name=name, line=exc.lineno, column=exc.colno, error=exc.msg)) from None
    except (RecursionError, ValueError) as exc:  # the parser's own limits, whatever the check above missed
        raise ParseError(message("json_unreadable", name=name, error=type(exc).__name__)) from None
    records, metadata = _records_of(doc, name)
    if isinstance(doc, dict):  # the envelope: its own keys, and what it holds beside the records
        envelope = _Object(metadata)
        envelope.repeated = getattr(doc, "repeated", {})
        _refuse_repeated(envelope, name, "外层（记录列表之外）")
    for index, record in enumerate(records, start=1):
        _refuse_repeated(record, name, f"第 {index} 条记录")
    limits = Limits.from_env()
    _check_limits(records, metadata, limits, name)

    header: list[str] = []
    keys: dict[str, int] = {}
    for index, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise ParseError(message("json_record_not_object", name=name, index=index))
        for key in record:
            label = squeeze_label(str(key))
            if label not in keys:
                keys[label] = len(header)
                header.append(label)
    if len(header) > limits.columns_per_row:  # every record within the limit, their fields together beyond it
        raise ParseError(limits.message("columns_per_row", len(header), "各条记录的字段合计").within(name))
    rows: list[list[str | None]] = []
    for index, record in enumerate(records, start=1):
        row: list[str | None] = [None] * len(header)
        for key, value in record.items():
            try:
                row[keys[squeeze_label(str(key))]] = record_value(value, f"第 {index} 条记录的“{key}”")
            except ValueError as exc:
                raise ParseError(said_of(name, exc), code_of(exc)) from None
        rows.append(row)

    context = empty_context()
    context.update(metadata=plain_json(metadata), encoding=encoding)
    for field_name, candidates in _CONTEXT_KEYS.items():
        for key in candidates:
            if isinstance(metadata.get(key), str) and metadata[key].strip():
                context[field_name] = metadata[key].strip()
                break
    if not rows:
        return []
    return [ParsedTable(name, None, header, rows, list(range(1, len(rows) + 1)), context)]
