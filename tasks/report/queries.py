"""What the report shows, read from the warehouse through the read API (fupin.warehouse.read)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import duckdb

from fupin.warehouse import read

# the columns marts.indicators carries when it keeps each figure's coverage
COVERAGE = ("counties_covered", "counties_expected", "coverage_note")
Key = tuple[str, str, str]  # indicator, scope_code, period


def _display(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: float(v) if isinstance(v, Decimal) else v for k, v in r.items()} for r in rows]  # DECIMAL: for display


def read_report_data(con: duckdb.DuckDBPyConnection, since: datetime | None) -> dict[str, Any]:
    """Everything the report shows, read from the warehouse; ``since``: the run's start (None: all submissions)."""
    data: dict[str, Any] = {name: _display(found) for name, found in read.report_data(con, since).items()}
    data["growth"] = {r["scope_code"]: r for r in data["growth"]}
    data["fund_by_county"] = read.fund_by_county_table(con)  # exact: the table's CSV keeps the yuan
    data["explanations"] = explanations(con)
    data["coverage_kept"] = read.indicator_coverage(con) is not None
    return data


def explanations(con: duckdb.DuckDBPyConnection) -> dict[Key, dict[str, Any]]:
    """Each headline figure's explanation, by (indicator, scope_code, period): what the report's panel shows.

    ``definition`` (Chinese), ``value`` and ``unit``; ``contributions``: the rows that make it, per county and
    year (``kind`` 'county'), or for a growth rate the funds of its first and last year (``kind`` 'basis'), each
    with ``county_name``, ``province_name``, ``year`` and exact ``value``; ``adds_up``: the county rows sum exactly
    to the value; coverage: ``counties_covered``, ``counties_expected`` (None where the definition does not need
    every county) and ``coverage_note`` (Chinese, None when complete), from marts.indicators when it keeps them.

    The one place the report reads explanations: a lineage mart can take the place of the queries below.
    """
    definitions = {d["indicator"]: d for d in read.rows(con, "report_definitions")}
    kept = read.indicator_coverage(con)  # None until marts.indicators keeps coverage
    coverage = {(r["indicator"], r["scope_code"], r["period"]): r for r in kept or []}
    found: dict[Key, list[dict[str, Any]]] = {}
    expected: dict[Key, int | None] = {}
    for r in read.headline_contributions(con):
        key = (r["indicator"], r["scope_code"], r["period"])
        expected[key] = r["counties_expected"]
        if r["kind"] != "none":
            found.setdefault(key, []).append(r)
    out = {}
    for h in read.headline(con):
        key = (h["indicator"], h["scope_code"], h["period"])
        d = definitions.get(h["indicator"], {})
        rows = found.get(key, [])
        counties = [r for r in rows if r["kind"] == "county"]
        entry = {
            "indicator": h["indicator"],
            "indicator_name": d.get("name") or h["indicator"],
            "scope_code": h["scope_code"],
            "scope_name": h["scope_name"],
            "period": h["period"],
            "value": h["value"],
            "unit": h["unit"],
            "unit_name": d.get("unit_name"),
            "definition": d.get("definition_zh") or "",
            "contributions": rows,
            "adds_up": bool(counties) and sum(r["value"] for r in counties) == h["value"],
        }
        if kept is not None:
            entry.update({c: coverage.get(key, {}).get(c) for c in COVERAGE})
        else:  # until marts.indicators keeps coverage: the counties with a figure in every year of the period
            entry.update(_coverage(counties, expected.get(key), h["period"]))
        out[key] = entry
    return out


def _coverage(counties: list[dict[str, Any]], expected: int | None, period: str) -> dict[str, Any]:
    if expected is None:
        return {"counties_covered": None, "counties_expected": None, "coverage_note": None}
    first, _, last = period.partition("-")
    years = set(range(int(first), int(last or first) + 1))
    seen: dict[str, set[int]] = {}
    for r in counties:
        seen.setdefault(r["county_code"], set()).add(r["year"])
    covered = sum(1 for y in seen.values() if years <= y)
    note = None if covered >= expected else f"{covered}/{expected} 县，缺 {expected - covered} 县"
    return {"counties_covered": covered, "counties_expected": expected, "coverage_note": note}
