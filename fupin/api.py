"""``fupin.connect`` and ``fupin.indicators``: a home's warehouse read from Python (fupin.warehouse.read)."""

from __future__ import annotations

import os
from datetime import date, datetime
from typing import Any

import duckdb

from fupin.core.config import Paths
from fupin.core.messages import say
from fupin.warehouse import read


def connect(
    home: str | os.PathLike | None = None, as_of: str | date | datetime | None = None
) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the warehouse of ``home`` (default ``$FUPIN_HOME`` or ``data/``).

    It reads the warehouse's tables and views (households from its lake included) and refuses every write,
    file access and extension. With ``as_of`` ('2018-10-30' = the end of that day, Asia/Shanghai; a date;
    a datetime), the warehouse as it stood then: its marts rebuilt in the connection's memory, a scratch copy the
    session may change, the file untouched. FileNotFoundError when no run has built the warehouse yet.
    """
    warehouse = Paths.from_home(home).warehouse
    if not warehouse.exists():
        raise FileNotFoundError(say("no_warehouse", path=warehouse))
    return read.connect(warehouse, as_of)


def indicators(
    home: str | os.PathLike | None = None, as_of: str | date | datetime | None = None
) -> list[dict[str, Any]]:
    """Every row of marts.indicators, in the printed order, as dicts: indicator, scope_code, scope_name, period,
    value (Decimal, in the unit given), unit, definition.

    With ``as_of``, the figures as published at that moment ([] before the first submission arrived).
    """
    with connect(home) as con:
        first = read.first_received(con)
        if as_of is None:
            return read.indicators(con)
    if first is None or read.moment_of(as_of) <= first:
        return []
    with connect(home, as_of) as con:
        return read.indicators(con)
