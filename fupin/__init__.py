"""fupin: provincial poverty-alleviation submissions → Parquet lake → DuckDB warehouse → indicators.

The Python entry points for an analyst (README, "Reading the warehouse from Python"):

- ``fupin.connect(home=None, as_of=None)``: a read-only DuckDB connection to the home's warehouse
  (``fupin.warehouse.read.connect``); it reads every table, writes nothing.
- ``fupin.indicators(home=None, as_of=None)``: every row of ``marts.indicators`` as a pandas DataFrame
  (indicator and indicator_name, scope_code and scope_name, province and county codes and names, period,
  value a ``Decimal`` in yuan, fractions or counts, unit and unit_name, definition); with ``as_of``
  (``'2018-10-30'``, a date or a datetime) as published then.
- ``fupin.submissions(home=None)``: the submission ledger as a DataFrame, names beside codes.
- ``fupin.explain(indicator, scope, period, home=None, as_of=None)``: one published figure explained (a dict;
  its contributions and changes as pandas DataFrames), as ``fupin explain`` prints it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fupin.api import connect, explain, indicators, submissions

__all__ = ["connect", "explain", "indicators", "submissions"]


# Lazy: this module runs first for every `fupin.…` import — each CLI command, each Prefect task worker,
# `fupin.core` modules that load nothing heavy — so the read API (duckdb, pyarrow, the warehouse floor)
# is imported only when `fupin.connect`, `fupin.indicators` or `fupin.submissions` is first used (PEP 562).
def __getattr__(name: str) -> Any:
    if name in __all__:
        from fupin import api

        return getattr(api, name)
    raise AttributeError(f"module 'fupin' has no attribute {name!r}")
