"""What the report shows, read from the warehouse through the read API (fupin.warehouse.read)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import duckdb

from fupin.warehouse import read


def _display(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: float(v) if isinstance(v, Decimal) else v for k, v in r.items()} for r in rows]  # DECIMAL: for display


def read_report_data(con: duckdb.DuckDBPyConnection, since: datetime | None) -> dict[str, Any]:
    """Everything the report shows, read from the warehouse; ``since``: the run's start (None: all submissions)."""
    data: dict[str, Any] = {name: _display(found) for name, found in read.report_data(con, since).items()}
    data["growth"] = {r["scope_code"]: r for r in data["growth"]}
    return data
