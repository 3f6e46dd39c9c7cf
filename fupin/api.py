"""``fupin.connect``, ``fupin.indicators``, ``fupin.submissions`` and ``fupin.explain``: a home's warehouse read
from Python, for a notebook (fupin.warehouse.read).

The tables are pandas DataFrames: exact values (``decimal.Decimal`` in an object column, never a float), every code
with its Chinese name beside it, times in Asia/Shanghai. ``home=None`` is found as the CLI finds it: ``$FUPIN_HOME``,
else ``data/`` under the working folder.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import pandas as pd

from fupin.core.config import Paths
from fupin.core.messages import say
from fupin.warehouse import read
from fupin.warehouse.asof import SHANGHAI

Home = str | os.PathLike | None
Moment = str | date | datetime | None


def connect(home: Home = None, as_of: Moment = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the warehouse of ``home`` (default ``$FUPIN_HOME`` or ``data/``).

    It reads every table and view of the warehouse (the households are a table of it) and refuses every write,
    file access and extension. With ``as_of`` ('2018-10-30' = the end of that day, Asia/Shanghai; a date;
    a datetime), the warehouse as it stood then: its marts rebuilt in the connection's memory, a scratch copy the
    session may change, the file untouched. FileNotFoundError when no run has built the warehouse yet.
    """
    warehouse = Paths.from_home(home).warehouse
    if not warehouse.exists():
        raise FileNotFoundError(say("no_warehouse", path=warehouse))
    return read.connect(warehouse, as_of)


def _frame(columns: list[str], rows: list[tuple]) -> pd.DataFrame:
    """Rows as a DataFrame that keeps every value exact: Decimal stays Decimal (object column), aware times are
    shown on the Ministry's clock (Asia/Shanghai)."""
    frame = pd.DataFrame.from_records(rows, columns=columns, coerce_float=False)
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
            frame[column] = frame[column].dt.tz_convert(SHANGHAI)
    return frame


def indicators(home: Home = None, as_of: Moment = None) -> pd.DataFrame:
    """Every row of marts.indicators, in the printed order, one row per indicator × scope × period: indicator,
    indicator_name, scope_code, scope_name, province_code, province_name, county_code, county_name (a row about a
    province's part of an area or about a county), period, value (Decimal, in the unit given), unit, unit_name,
    definition.

    With ``as_of``, the figures as published at that moment (no rows before the first submission arrived).
    """
    with connect(home) as con:
        columns, rows = read.indicator_table(con)
        if as_of is None:
            return _frame(columns, rows)
        first = read.first_received(con)
    if first is None or read.moment_of(as_of) <= first:
        return _frame(columns, [])
    with connect(home, as_of) as con:
        return _frame(*read.indicator_table(con))


def explain(
    indicator: str,
    scope: str,
    period: str,
    home: Home = None,
    as_of: Moment = None,
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


def submissions(home: Home = None) -> pd.DataFrame:
    """The submission ledger (meta.submissions), one row per file received, in the order received: submission_id,
    province_code, province_name, file_name, dataset, dataset_name, kind, kind_name (更正/补报, 全量重报), status,
    status_name (已入库, 暂缓入库，待确认 …), received_at, applied_at, years, rows_total, rows_loaded, rows_rejected,
    message (Chinese, with its code) and message_code."""
    with connect(home) as con:
        return _frame(*read.submission_table(con))
