"""Years as column groups: a header whose upper row is a year (2015年/农业户籍人口 | 2015年/未脱贫人口 | 2016年/…).

Statistical yearbooks put several years side by side, each year over the same columns. Such a table is read
as a person reads it, one row per county and year: the year groups become rows under a year column, and the
rest of the form is read as any long form. Each sheet row keeps its own row number, so a rejection names the
row the clerk sees (twice, if two of its years are wrong).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from fupin.tasks.normalise.values import is_missing, to_halfwidth

_YEAR = re.compile(r"^\s*(?P<y>(?:19|20)\d{2})\s*年?\s*度?\s*$")
YEAR_LABEL = "年度"  # the year column the groups become; a form with its own year column is refused (two years)


def year_groups(header: list[str]) -> dict[int, dict[str, int]] | None:
    """Year → (the label under it → column), when two or more years head groups of the same labels; else None."""
    groups: dict[int, dict[str, int]] = {}
    for i, label in enumerate(header):
        parts = str(label or "").split("/")
        match = _YEAR.match(to_halfwidth(parts[0])) if len(parts) > 1 else None
        if match:
            under = "/".join(parts[1:])
            if under in groups.setdefault(int(match["y"]), {}):
                return None  # the same label twice under one year: not a layout fupin can read by years
            groups[int(match["y"])][under] = i
    return groups if len(groups) >= 2 else None


def by_year(table: Any) -> tuple[Any, dict[int, dict[str, int]]] | None:
    """The ParsedTable with one row per sheet row and year group (all empty: no row), or None if it has none."""
    groups = year_groups(table.header)
    if groups is None:
        return None
    grouped = {i for cols in groups.values() for i in cols.values()}
    keep = [i for i in range(len(table.header)) if i not in grouped]
    labels = list(dict.fromkeys(label for cols in groups.values() for label in cols))
    header = [table.header[i] for i in keep] + [YEAR_LABEL] + labels
    rows, numbers = [], []
    for row, number in zip(table.rows, table.row_numbers, strict=True):
        for year, cols in sorted(groups.items()):
            cells = [row[cols[label]] if label in cols and cols[label] < len(row) else None for label in labels]
            if all(is_missing(c) for c in cells):
                continue
            rows.append([row[i] if i < len(row) else None for i in keep] + [str(year)] + cells)
            numbers.append(number)
    # a 合计 row's figures are per year group now: the declared totals of the sheet are not compared
    context = {**table.context, "declared_total": {}}
    return replace(table, header=header, rows=rows, row_numbers=numbers, context=context), groups


def grouped_mapping(mapping: list[dict], groups: dict[int, dict[str, int]], header: list[str]) -> list[dict]:
    """The header mapping with the year column said as it was read: from the years heading the groups."""
    years = "、".join(f"{y}年" for y in sorted(groups))
    out = []
    for entry in mapping:
        if entry.get("submitted_header") == YEAR_LABEL and entry.get("column_name") == "year":
            entry = {**entry, "submitted_header": f"表头中的年份（{years}）", "matched_by": "year_groups"}
        elif entry.get("submitted_header") in {label for cols in groups.values() for label in cols}:
            label = entry["submitted_header"]
            heads = [header[cols[label]] for _, cols in sorted(groups.items()) if label in cols]
            entry = {**entry, "submitted_header": "、".join(heads)}
        out.append(entry)
    return out
