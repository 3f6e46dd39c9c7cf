"""marts.indicator_changes: every published figure a run changed, before and after, and the submissions behind it.

The run's changes are marts.indicators against the figures published before it (``snapshot_indicators``); the
submissions behind each are every submission the run applied whose changed facts lie in the figure's scope —
every year a multi-year file touches, each province whose file fed an area that night
(fupin.warehouse.attribution has the rule and its SQL).
"""

from __future__ import annotations

import duckdb

from fupin.warehouse.attribution import attribute

RUN_KEY = "run"  # the one run attributed here


def snapshot_indicators(con: duckdb.DuckDBPyConnection) -> None:
    """Keep the published indicators as they stand before the run, to record what it changes."""
    con.execute(
        "create or replace temp table published_before (indicator varchar, scope_code varchar, "
        "scope_name varchar, period varchar, value decimal(38, 6), unit varchar)"
    )
    exists = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'marts' and table_name = 'indicators'"
    ).fetchone()[0]
    if exists:
        con.execute(
            "insert into published_before select indicator, scope_code, scope_name, period, value, unit "
            "from marts.indicators"
        )


def record_indicator_changes(con: duckdb.DuckDBPyConnection, applied: list[str], run_id: str) -> int:
    """Append to marts.indicator_changes every published figure the run changed, with the submissions behind it:
    every submission applied in this run whose changed facts lie in the figure's dataset, places and years."""
    con.execute(
        """
        create or replace temp table changed as
        select coalesce(n.indicator, o.indicator) as indicator, coalesce(n.scope_code, o.scope_code) as scope_code,
               coalesce(n.scope_name, o.scope_name) as scope_name, coalesce(n.period, o.period) as period,
               o.value as value_before, n.value as value_after, coalesce(n.unit, o.unit) as unit
        -- a figure withheld (a growth over an incomplete span: value null) is not published: as if absent
        from (select * from marts.indicators where value is not null) as n
        full join (select * from published_before where value is not null) as o
            using (indicator, scope_code, period)
        where o.value is null or n.value is null or abs(o.value - n.value) > 1e-9 * greatest(abs(o.value), 1)
        """
    )
    con.execute("create or replace temp table applied_runs (run_key varchar, submission_id varchar)")
    if applied:
        con.executemany("insert into applied_runs values (?, ?)", [[RUN_KEY, sid] for sid in applied])
    con.execute(
        "create or replace temp table changed_figures as select ? as run_key, indicator, scope_code, period "
        "from changed",
        [RUN_KEY],
    )
    attribute(con)
    return con.execute(
        """
        insert into marts.indicator_changes by name
        select now() as changed_at, ? as run_id, c.indicator, d.name as indicator_name, c.scope_code, c.scope_name,
               c.period, c.value_before, c.value_after, c.unit, f.submissions
        from changed as c
        left join core.indicator_definition as d using (indicator)
        left join figure_causes as f using (indicator, scope_code, period)
        """,
        [run_id],
    ).fetchone()[0]
