"""Validate: business rules on canonical rows; each row is kept or rejected alone."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tasks.normalise.columns import staging_schema
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
    for rule in contract.any_of:  # e.g. a grant's household: by ID number or by household number
        if all(r.get(c) is None for c in rule.columns):
            broken.append((rule.field, None, rule.reason))
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


def _flagged(dataset: str, table: pa.Table) -> np.ndarray:
    """Records that may break a rule, as column expressions: a superset the row rules then decide on."""
    contract = contracts()[dataset]
    year = table["year"]
    flags = [pc.is_null(year), pc.less(year, 2000), pc.greater(year, date.today().year + 1)]
    flags += [pc.less(table[name], 0) for name in contract.non_negative]
    flags += [pc.equal(table[rule.column], 0) for rule in contract.not_zero]
    flags += [pc.greater(table[rule.column], table[rule.limit]) for rule in contract.not_above]
    flags += [pc.less(table[rule.column], rule.low) for rule in contract.between]
    flags += [pc.greater(table[rule.column], rule.high) for rule in contract.between]
    for rule in contract.any_of:
        none = pc.is_null(table[rule.columns[0]])
        for column in rule.columns[1:]:
            none = pc.and_(none, pc.is_null(table[column]))
        flags.append(none)
    out = np.zeros(table.num_rows, bool)
    for flag in flags:
        out |= pc.fill_null(flag, False).to_numpy(zero_copy_only=False)
    return out


def _first_rows(dataset: str, table: pa.Table) -> np.ndarray:
    """For each record, the sheet row of the first record with its key (itself when it is the first)."""
    keys = contracts()[dataset].key
    frame = table.select([*keys, "_row"]).to_pandas()
    return frame.groupby(list(keys), dropna=False, sort=False)["_row"].transform("first").to_numpy()


def check_table(dataset: str, table: pa.Table) -> tuple[dict[int, list[Rejection]], list[str]]:
    """The rejections of each rejected sheet row, and warnings for soft checks (declared incidence).

    Rules and duplicate keys are found over whole columns; only the records they point at are read
    one by one, where ``_rules`` words each reason.
    """
    rejected_rows: dict[int, list[Rejection]] = defaultdict(list)
    warnings: list[str] = []
    if not table.num_rows:
        return rejected_rows, warnings
    keys = contracts()[dataset].key
    rows = table["_row"].to_numpy()
    first = _first_rows(dataset, table)
    duplicate = first != rows
    suspect = _flagged(dataset, table) | duplicate
    soft = np.zeros(table.num_rows, bool)
    if dataset == "poverty_status":
        declared, rural = table["declared_incidence"], table["rural_population"]
        soft = pc.fill_null(pc.and_(pc.is_valid(declared), pc.not_equal(rural, 0)), False).to_numpy(
            zero_copy_only=False
        )
    for i in np.flatnonzero(suspect | soft).tolist():
        r = table.slice(i, 1).to_pylist()[0]
        row = r["_row"]
        if suspect[i]:
            for name, value, reason in _rules(dataset, r):
                rejected_rows[row].append(Rejection(row, name, None if value is None else str(value), reason))
            if duplicate[i]:
                key = tuple(r.get(k) for k in keys)
                what = " × ".join(str(k) for k in key)
                rejected_rows[row].append(Rejection(row, keys[0], str(key[0]), f"duplicate of row {first[i]} ({what})"))
        if row in rejected_rows or not soft[i]:
            continue  # the rejection already tells the clerk what to fix in this row
        declared = r["declared_incidence"]
        computed = r["poor_population"] / r["rural_population"]
        if abs(computed - declared) > INCIDENCE_TOLERANCE:
            warnings.append(f"row {row}: declared incidence {declared:.2%} differs from poor/rural = {computed:.2%}")
    return rejected_rows, warnings


def validate_table(dataset: str, table: pa.Table) -> tuple[pa.Table, list[Rejection], list[str]]:
    """Split a staging table into its good records and rejections; warnings for soft checks."""
    rejected_rows, warnings = check_table(dataset, table)
    good = table.filter(pc.invert(pc.is_in(table["_row"], pa.array(list(rejected_rows), pa.int64()))))
    return good, [rej for rs in rejected_rows.values() for rej in rs], warnings


def validate_rows(dataset: str, rows: list[dict[str, Any]]) -> tuple[list[dict], list[Rejection], list[str]]:
    """Split rows (dicts with ``_row``) into good rows and rejections; warnings for soft checks (declared incidence)."""
    rejected_rows, warnings = check_table(dataset, pa.Table.from_pylist(rows, schema=staging_schema(dataset)))
    good = [r for r in rows if r["_row"] not in rejected_rows]
    return good, [rej for rs in rejected_rows.values() for rej in rs], warnings
