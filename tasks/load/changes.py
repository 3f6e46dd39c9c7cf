"""marts.indicator_changes: every published figure a run changed, before and after, and the submissions behind it."""

from __future__ import annotations

import duckdb

from fupin.core.reference import MINISTRY_CODE


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
    """Append to marts.indicator_changes every published figure the run changed, with the submissions behind it.

    A figure's causes are the submissions applied in this run of the figure's dataset, from a province
    of its scope (or the Ministry's own source, whose lists span provinces), covering a year of its period.
    """
    con.execute("create or replace temp table applied_now (submission_id varchar)")
    if applied:
        con.executemany("insert into applied_now values (?)", [[sid] for sid in applied])
    return con.execute(
        """
        insert into marts.indicator_changes by name
        with changed as (
            select coalesce(n.indicator, o.indicator) as indicator, coalesce(n.scope_code, o.scope_code) as scope_code,
                   coalesce(n.scope_name, o.scope_name) as scope_name, coalesce(n.period, o.period) as period,
                   o.value as value_before, n.value as value_after, coalesce(n.unit, o.unit) as unit
            -- a figure withheld (a growth over an incomplete span: value null) is not published: as if absent
            from (select * from marts.indicators where value is not null) as n
            full join (select * from published_before where value is not null) as o
                using (indicator, scope_code, period)
            where o.value is null or n.value is null or abs(o.value - n.value) > 1e-9 * greatest(abs(o.value), 1)
        ),
        scoped as (
            select c.*, d.dataset, d.name as indicator_name,
                   cast(split_part(c.period, '-', 1) as integer) as y0,
                   cast(coalesce(nullif(split_part(c.period, '-', 2), ''), split_part(c.period, '-', 1))
                        as integer) as y1,
                   case when regexp_full_match(c.scope_code, '[0-9]{6}') then [left(c.scope_code, 2)]
                        when c.scope_code like '%:%' then [split_part(c.scope_code, ':', 2)]
                        else (select list(distinct left(a.county_code, 2)) from core.area_county as a
                              where a.area_code = c.scope_code) end as scope_provinces
            from changed as c
            left join core.indicator_definition as d using (indicator)
        ),
        applied as (
            select s.submission_id, s.province_code, unnest(string_split(s.dataset, ',')) as dataset,
                   unnest(string_split(s.years, ','))::integer as year
            from meta.submissions as s join applied_now using (submission_id)
        )
        select now() as changed_at, ? as run_id, s.indicator, s.indicator_name, s.scope_code, s.scope_name, s.period,
               s.value_before, s.value_after, s.unit,
               (select string_agg(distinct a.submission_id, ',' order by a.submission_id) from applied as a
                where a.dataset = s.dataset
                  and (list_contains(s.scope_provinces, a.province_code) or a.province_code = ?)
                  and a.year between s.y0 and s.y1) as submissions
        from scoped as s
        """,
        [run_id, MINISTRY_CODE],
    ).fetchone()[0]
