"""Validate: business rules on canonical rows; each row is kept or rejected alone."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from tasks.normalise.settings import KEYS
from tasks.records import Rejection

# declared and computed incidence may differ by rounding to 0.01 percentage points
INCIDENCE_TOLERANCE = 0.0005


def _rules(dataset: str, r: dict[str, Any]) -> list[tuple[str, Any, str]]:
    """(field, value, reason) for every rule the row breaks."""
    broken = []
    year = r.get("year")
    if year is None or not 2000 <= year <= date.today().year + 1:
        broken.append(("year", year, f"year {year} is outside 2000–{date.today().year + 1}"))
    if r.get("row_action") == "withdraw":
        return broken  # a withdrawal carries its key only
    for name in (
        "amount_yuan",
        "rural_population",
        "poor_population",
        "lifted_population",
        "beneficiaries",
        "sessions",
        "trainees",
        "trainees_poor",
        "employed",
    ):
        value = r.get(name)
        if value is not None and value < 0:
            broken.append((name, value, f"{name} is negative ({value})"))
    if dataset == "poverty_status":
        rural, poor = r["rural_population"], r["poor_population"]
        if rural == 0:
            broken.append(("rural_population", rural, "rural population is 0: incidence undefined"))
        elif poor > rural:
            broken.append(("poor_population", poor, f"poor population {poor} exceeds rural population {rural}"))
        declared = r.get("declared_incidence")
        if declared is not None and not 0 <= declared <= 1:
            broken.append(("incidence", declared, f"incidence {declared:.2%} is not between 0% and 100%"))
    if dataset == "training":
        trainees = r["trainees"]
        for name in ("trainees_poor", "employed"):
            value = r.get(name)
            if value is not None and value > trainees:
                broken.append((name, value, f"{name} {value} exceeds trainees {trainees}"))
    return broken


def validate_rows(dataset: str, rows: list[dict[str, Any]]) -> tuple[list[dict], list[Rejection], list[str]]:
    """Split rows into good rows and rejections; warnings for soft checks (declared incidence)."""
    rejected_rows: dict[int, list[Rejection]] = defaultdict(list)
    warnings: list[str] = []
    first_seen: dict[tuple, int] = {}
    for r in rows:
        row = r["_row"]
        for name, value, reason in _rules(dataset, r):
            rejected_rows[row].append(Rejection(row, name, None if value is None else str(value), reason))
        key = tuple(r.get(k) for k in KEYS[dataset])
        if key in first_seen and first_seen[key] != row:
            what = " × ".join(str(k) for k in key)
            rejected_rows[row].append(
                Rejection(row, KEYS[dataset][0], str(key[0]), f"duplicate of row {first_seen[key]} ({what})")
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
