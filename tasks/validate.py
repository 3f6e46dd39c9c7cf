"""Validate: business rules on canonical rows; each row is kept or rejected alone."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from tasks.records import Rejection
from warehouse.contracts import contracts

# declared and computed incidence may differ by rounding to 0.01 percentage points
INCIDENCE_TOLERANCE = 0.0005


def _rules(dataset: str, r: dict[str, Any]) -> list[tuple[str, Any, str]]:
    """(field, value, reason) for every rule of the dataset's contract the row breaks."""
    contract = contracts()[dataset]
    broken = []
    year = r.get("year")
    if year is None or not 2000 <= year <= date.today().year + 1:
        broken.append(("year", year, f"year {year} is outside 2000–{date.today().year + 1}"))
    if r.get("row_action") == "withdraw":
        return broken  # a withdrawal carries its key only
    for name in contract.non_negative:
        value = r.get(name)
        if value is not None and value < 0:
            broken.append((name, value, f"{name} is negative ({value})"))
    zero = set()
    for rule in contract.not_zero:
        if r.get(rule.column) == 0:
            broken.append((rule.field, r[rule.column], rule.reason.format(value=r[rule.column])))
            zero.add(rule.column)
    for rule in contract.not_above:
        value, limit = r.get(rule.column), r.get(rule.limit)
        if rule.limit not in zero and value is not None and limit is not None and value > limit:
            broken.append((rule.field, value, rule.reason.format(value=value, limit=limit)))
    for rule in contract.between:
        value = r.get(rule.column)
        if value is not None and not rule.low <= value <= rule.high:
            broken.append((rule.field, value, rule.reason.format(value=value)))
    return broken


def validate_rows(dataset: str, rows: list[dict[str, Any]]) -> tuple[list[dict], list[Rejection], list[str]]:
    """Split rows into good rows and rejections; warnings for soft checks (declared incidence)."""
    rejected_rows: dict[int, list[Rejection]] = defaultdict(list)
    warnings: list[str] = []
    first_seen: dict[tuple, int] = {}
    keys = contracts()[dataset].key
    for r in rows:
        row = r["_row"]
        for name, value, reason in _rules(dataset, r):
            rejected_rows[row].append(Rejection(row, name, None if value is None else str(value), reason))
        key = tuple(r.get(k) for k in keys)
        if key in first_seen and first_seen[key] != row:
            what = " × ".join(str(k) for k in key)
            rejected_rows[row].append(
                Rejection(row, keys[0], str(key[0]), f"duplicate of row {first_seen[key]} ({what})")
            )
        first_seen.setdefault(key, row)
        declared = r.get("declared_incidence")
        if row in rejected_rows:
            continue  # the rejection already tells the clerk what to fix in this row
        if dataset == "poverty_status" and declared is not None and r.get("rural_population"):
            computed = r["poor_population"] / r["rural_population"]
            if abs(computed - declared) > INCIDENCE_TOLERANCE:
                warnings.append(
                    f"row {row}: declared incidence {declared:.2%} differs from poor/rural = {computed:.2%}"
                )
    good = [r for r in rows if r["_row"] not in rejected_rows]
    rejections = [rej for rs in rejected_rows.values() for rej in rs]
    return good, rejections, warnings
