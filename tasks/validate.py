"""Validate: business rules on canonical rows; each row is kept or rejected alone."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fupin.core.messages import code_in, message, render, say
from fupin.tasks.normalise.columns import staging_schema
from fupin.tasks.normalise.helpers import wide_names
from fupin.tasks.records import Rejection
from fupin.warehouse.contracts import contracts

# declared and computed incidence may differ by rounding to 0.01 percentage points
INCIDENCE_TOLERANCE = 0.0005


def _rules(dataset: str, r: dict[str, Any], header) -> list[tuple[str, Any, str, str]]:
    """(field, value, reason, code) for every rule of the dataset's contract the row breaks.

    ``header(name)`` is the submitter's own header of a column: each reason begins with it.
    """
    contract = contracts()[dataset]
    broken = []
    year, last = r.get("year"), date.today().year + 1
    if year is None or not 2000 <= year <= last:
        broken.append(
            (
                "year",
                year,
                say("year_not_reportable", header=header("year"), year=year, last=last),
                "year_not_reportable",
            )
        )
    for rule in contract.any_of:  # e.g. a grant's household: by ID number or by household number
        if all(r.get(c) is None for c in rule.columns):
            code = code_in(rule.reason) or "value_missing"
            broken.append((rule.field, None, rule.reason.replace(f" [{code}]", ""), code))
    if r.get("row_action") == "withdraw":
        return broken  # a withdrawal carries its key only
    for name in contract.non_negative:
        value = r.get(name)
        if value is not None and value < 0:
            if contract.column(name).kind == "money":
                found = message("negative_amount", header=header(name, r), what=f"折合 {value} 元")
            else:
                found = message("negative_count", header=header(name, r), what=f"填写的是 {value}")
            broken.append((name, value, render(found), found.code))
    zero = set()
    for rule in contract.not_zero:
        if r.get(rule.column) == 0:
            reason = say("zero_not_allowed", header=header(rule.column))
            broken.append((rule.field, r[rule.column], reason, "zero_not_allowed"))
            zero.add(rule.column)
    for rule in contract.not_above:
        value, limit = r.get(rule.column), r.get(rule.limit)
        if rule.limit not in zero and value is not None and limit is not None and value > limit:
            named = {"header": header(rule.column), "limit_header": header(rule.limit)}
            reason = say("exceeds_limit", **named, value=value, limit=limit)
            broken.append((rule.field, value, reason, "exceeds_limit"))
    for rule in contract.between:
        value = r.get(rule.column)
        if value is not None and not rule.low <= value <= rule.high:
            if contract.column(rule.column).kind == "fraction":
                shown, low, high = f"{value:.2%}", f"{rule.low:.0%}", f"{rule.high:.0%}"
            else:
                shown, low, high = str(value), str(rule.low), str(rule.high)
            reason = say("out_of_range", header=header(rule.column), low=low, high=high, shown=shown)
            broken.append((rule.field, value, reason, "out_of_range"))
    return broken


def header_names(dataset: str, mapping: list[dict] | None) -> dict[str, str]:
    """Canonical field, column name or wide fund_type/fund_level → the submitter's header, from the header mapping."""
    contract = contracts()[dataset]
    by_field = {}
    for m in mapping or []:
        name, label = m.get("column_name"), m.get("submitted_header")
        if name and label and m.get("matched_by") != "stated":  # a title names no column
            if name.startswith("amount_yuan[") and name.endswith("]"):
                name = name[len("amount_yuan[") : -1]
            by_field.setdefault(name, label)
    out = dict(by_field)
    for column in [*contract.inputs, *contract.columns]:
        if column.field in by_field:
            out.setdefault(column.name, by_field[column.field])
    return out


def header_of(dataset: str, headers: dict[str, str]):
    """``header(name, record=None)``: the submitter's header of a column, else the contract's Chinese label."""
    contract = contracts()[dataset]
    labels = {c.name: c.label or c.zh or c.name for c in [*contract.inputs, *contract.columns]}
    labels.update({c.field: c.label or c.zh or c.field for c in [*contract.inputs, *contract.columns]})

    def header(name: str, record: dict | None = None) -> str:
        if record and name == "amount_yuan" and record.get("fund_type"):
            # a wide column is named by the parts of the key its header gives: civil_affairs/central, 2016, central
            names = wide_names(record.get("year"), record["fund_type"], record.get("fund_level"))
            wide = next((headers[n] for n in names if n in headers), None)
            if wide:
                return wide
        if name == "county_code" and name not in headers:
            return headers.get("county") or labels.get(name, name)
        return headers.get(name) or labels.get(name, name)

    return header


def _key_words(dataset: str, key: tuple) -> tuple[str, str]:
    """The key's columns and values in Chinese: ('县代码、年度、资金类型', '360721、2017、民政事业费')."""
    contract = contracts()[dataset]
    names, values = [], []
    for name, value in zip(contract.key, key, strict=True):
        column = contract.column(name)
        names.append(column.zh or column.label or name)
        coded = {v.code: v.zh for v in column.values}
        values.append(coded.get(value, str(value)))
    return "、".join(names), "、".join(values)


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


def check_table(
    dataset: str, table: pa.Table, headers: dict[str, str] | None = None
) -> tuple[dict[int, list[Rejection]], list[str]]:
    """The rejections of each rejected sheet row, and warnings for soft checks (declared incidence).

    Rules and duplicate keys are found over whole columns; only the records they point at are read
    one by one, where ``_rules`` words each reason, naming the column by the submitter's own header
    (``headers``: canonical name → header, see ``header_names``).
    """
    header = header_of(dataset, headers or {})
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
            for name, value, reason, code in _rules(dataset, r, header):
                rejected_rows[row].append(Rejection(row, name, None if value is None else str(value), reason, code))
            if duplicate[i]:
                key = tuple(r.get(k) for k in keys)
                names, what = _key_words(dataset, key)
                reason = say("duplicate_row", header=header(keys[0]), first=first[i], names=names, values=what)
                rejected_rows[row].append(Rejection(row, keys[0], str(key[0]), reason, "duplicate_row"))
        if row in rejected_rows or not soft[i]:
            continue  # the rejection already tells the clerk what to fix in this row
        declared = r["declared_incidence"]
        computed = r["poor_population"] / r["rural_population"]
        if abs(computed - declared) > INCIDENCE_TOLERANCE:
            warnings.append(say("declared_incidence_differs", row=row, declared=declared, computed=computed))
    return rejected_rows, warnings


def validate_table(
    dataset: str, table: pa.Table, headers: dict[str, str] | None = None
) -> tuple[pa.Table, list[Rejection], list[str]]:
    """Split a staging table into its good records and rejections; warnings for soft checks."""
    rejected_rows, warnings = check_table(dataset, table, headers)
    good = table.filter(pc.invert(pc.is_in(table["_row"], pa.array(list(rejected_rows), pa.int64()))))
    return good, [rej for rs in rejected_rows.values() for rej in rs], warnings


def validate_rows(
    dataset: str, rows: list[dict[str, Any]], headers: dict[str, str] | None = None
) -> tuple[list[dict], list[Rejection], list[str]]:
    """Split rows (dicts with ``_row``) into good rows and rejections; warnings for soft checks (declared incidence)."""
    rejected_rows, warnings = check_table(dataset, pa.Table.from_pylist(rows, schema=staging_schema(dataset)), headers)
    good = [r for r in rows if r["_row"] not in rejected_rows]
    return good, [rej for rs in rejected_rows.values() for rej in rs], warnings
