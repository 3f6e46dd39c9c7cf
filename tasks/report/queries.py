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

    ``definition`` (Chinese), ``value`` and ``unit``; ``contributions``: the rows that make it, read from the
    lineage mart (marts.indicator_lineage) per county and year (``kind`` 'county'), or for a growth rate the funds
    of its first and last year (``kind`` 'basis'), each with ``county_name``, ``province_name``, ``year``, exact
    ``value`` and ``sources`` (the files and rows it was read from); ``adds_up``: the county rows sum exactly to the
    value; coverage: ``counties_covered``, ``counties_expected`` (None where the definition does not need every
    county) and ``coverage_note`` (Chinese, None when complete), from marts.indicators.
    """
    definitions = {d["indicator"]: d for d in read.rows(con, "report_definitions")}
    coverage = {(r["indicator"], r["scope_code"], r["period"]): r for r in read.indicator_coverage(con) or []}
    found: dict[Key, list[dict[str, Any]]] = {}
    for r in read.headline_contributions(con):
        found.setdefault((r["indicator"], r["scope_code"], r["period"]), []).append(r)
    out = {}
    for h in read.headline(con):
        key = (h["indicator"], h["scope_code"], h["period"])
        d = definitions.get(h["indicator"], {})
        rows = found.get(key, [])
        counties = [r for r in rows if r["kind"] == "county"]
        out[key] = {
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
            "adds_up": bool(counties) and h["value"] is not None and sum(r["value"] for r in counties) == h["value"],
            **{c: coverage.get(key, {}).get(c) for c in COVERAGE},
        }
    return out
