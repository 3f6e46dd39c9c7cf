"""``fupin.connect``, ``fupin.indicators`` and ``fupin.explain``: a home's warehouse read from Python
(fupin.warehouse.read)."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import pandas as pd

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


def explain(
    indicator: str,
    scope: str,
    period: str,
    home: str | os.PathLike | None = None,
    as_of: str | date | datetime | None = None,
) -> dict[str, Any]:
    """One published figure explained, as ``fupin explain`` shows it: a dict with indicator, scope_code,
    scope_name, period, value (Decimal), unit, definition (Chinese), composition (sum, growth or ratio),
    coverage, and ``contributions`` (marts.indicator_lineage: county, year, fund type and level …, value,
    submission_id, file_name, sheet, source_row, source_unit, header) and ``changes`` (before, after, the
    submissions and the decisions behind each) as pandas DataFrames.

    ``scope`` as a person writes it (luoxiao, 360827, 罗霄山片区, 遂川); ``as_of`` what the figure was made of
    then. ``fupin.warehouse.read.UnknownFigure`` (LookupError, Chinese, with its code) names the near ones."""
    if as_of is None:
        with connect(home) as con:
            if not read.lineage_is_current(con):  # marts last built by an older fupin: the current facts' in memory
                as_of = datetime.now(UTC)
    with connect(home, as_of) as con:
        found = read.explanation(con, *read.find_figure(con, indicator, scope, period))
    return {
        **found,
        "contributions": pd.DataFrame(found["contributions"]),
        "changes": pd.DataFrame(found["changes"]),
    }
