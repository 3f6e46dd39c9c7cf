"""JSON submissions: a list of flat records, or an object holding one under 'data'."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from tasks.parse.helpers import (
    ParsedTable,
    ParseError,
    clean_label,
    decode_text,
    empty_context,
    plain_json,
    record_value,
)

RECORD_KEYS = ("data", "records", "rows", "items")
_CONTEXT_KEYS = {
    "title": ("title", "标题", "表名"),
    "unit": ("unit", "单位", "金额单位"),
    "reporting_unit": ("reporting_unit", "填报单位"),
}


def _records_of(doc: Any, name: str) -> tuple[list[Any], dict[str, Any]]:
    if isinstance(doc, list):
        return doc, {}
    if not isinstance(doc, dict):
        raise ParseError(f"{name}: expected a list of records or an object with 'data', found a {type(doc).__name__}")
    for key in RECORD_KEYS:
        if isinstance(doc.get(key), list):
            return doc[key], {k: v for k, v in doc.items() if k != key}
    lists = [k for k, v in doc.items() if isinstance(v, list) and v and all(isinstance(r, dict) for r in v)]
    if len(lists) == 1:
        return doc[lists[0]], {k: v for k, v in doc.items() if k != lists[0]}
    raise ParseError(f"{name}: no list of records found (expected a list, or an object with a 'data' list)")


def read_json(data: bytes, name: str) -> list[ParsedTable]:
    """One table from a JSON file's bytes."""
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise ParseError(f"{name}: empty file")
    try:
        text, encoding = decode_text(data)
        doc = json.loads(text, parse_float=Decimal)
    except UnicodeDecodeError:
        raise ParseError(f"{name}: cannot decode the text as UTF-8 or GB18030") from None
    except json.JSONDecodeError as exc:
        raise ParseError(f"{name}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    records, metadata = _records_of(doc, name)

    header: list[str] = []
    keys: dict[str, int] = {}
    for index, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise ParseError(f"{name}: record {index} is a {type(record).__name__}, not an object")
        for key in record:
            label = clean_label(str(key))
            if label not in keys:
                keys[label] = len(header)
                header.append(label)
    rows: list[list[str | None]] = []
    for index, record in enumerate(records, start=1):
        row: list[str | None] = [None] * len(header)
        for key, value in record.items():
            try:
                row[keys[clean_label(str(key))]] = record_value(value, f"record {index}, field '{key}'")
            except ValueError as exc:
                raise ParseError(f"{name}: {exc}") from None
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
