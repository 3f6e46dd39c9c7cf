"""marts.indicator_changes: every published figure a run changed, before and after, and the submissions behind it.

Which submissions moved a figure is worked out from the facts, not from the ledger's summary of a file:

1. ``moved_facts``: per submission applied in this run, the facts it changed — the rows it inserted that were not
   there before and the rows it retired that it did not put back unchanged (a correction's replaced keys, a
   withdrawn row, the keys a full resubmission dropped) — each as (dataset, submitting province, place, year);
   the place is the county, or the prefecture a Ministry list names whole.
2. ``figure_places``: per changed figure, the places its definition sums over — a county figure its county, an
   area's figure every county and whole prefecture of the area (core.area_place, in the years it applies), an
   area part 'area:province' those of that province only — with its dataset (core.indicator_definition) and its
   years (the year, or every year of the span).
3. A figure names every submission with a moved fact of its dataset at one of its places in one of its years:
   every year a multi-year file touches, and every province whose file fed an area the same night.

Step 2 and 3 join facts to figures as a lineage mart (figure → facts → submission) would: they read only
``moved_facts`` and the reference tables, so they can read such a mart instead.
"""

from __future__ import annotations

import duckdb

from fupin.tasks.load.facts import fact_table
from fupin.warehouse.contracts import contracts

# bookkeeping columns of a history table: a fact resent with the same values in every other column did not move
BOOKKEEPING = ("submission_id", "source_row", "valid_from", "valid_to", "row_action", "lake_file")


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


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    schema, name = table.split(".")
    return [
        c
        for (c,) in con.execute(
            "select column_name from duckdb_columns() where schema_name = ? and table_name = ? order by column_index",
            [schema, name],
        ).fetchall()
    ]


def _moved_in(dataset: str, table: str, columns: list[str]) -> str:
    """SQL: the facts of one history table that the run's applied submissions (temp table applied_now) changed."""
    values = ", ".join(f't."{c}"' for c in columns if c not in BOOKKEEPING)
    place = "coalesce(county_code, prefecture_code)" if "prefecture_code" in columns else "county_code"
    # the rows a submission put in, and the rows of its province × dataset × years that its stamp retired
    inserted = (
        f"select a.submission_id, {values} from {table} as t join applied_now as a "
        f"on t.submission_id = a.submission_id and t.valid_from = a.stamp"
    )
    retired = (
        f"select a.submission_id, {values} from {table} as t join applied_now as a "
        f"on t.valid_to = a.stamp and t.province_code = a.province_code and list_contains(a.years, t.year) "
        f"and list_contains(a.datasets, '{dataset}')"
    )
    return (
        f"select submission_id, '{dataset}' as dataset, province_code, {place} as place_code, year "
        f"from (({inserted} except all {retired}) union all ({retired} except all {inserted}))"
    )


def collect_moved_facts(con: duckdb.DuckDBPyConnection, applied: list[str]) -> None:
    """Temp table moved_facts (submission_id, dataset, province_code, place_code, year): what each submission
    applied in this run changed, one row per distinct (submission, dataset, province, place, year)."""
    con.execute(
        "create or replace temp table applied_now (submission_id varchar, province_code varchar, "
        "stamp timestamptz, datasets varchar[], years integer[])"
    )
    if applied:
        con.execute(
            "insert into applied_now select submission_id, province_code, coalesce(applied_at, received_at), "
            "string_split(coalesce(dataset, ''), ','), "
            "coalesce(cast(string_split(nullif(years, ''), ',') as integer[]), []) "
            "from meta.submissions where submission_id in (select unnest(?))",
            [applied],
        )
    parts = []
    for dataset in [*contracts(), "household_registry"]:
        table = fact_table(dataset)
        columns = _columns(con, table)
        if columns:
            parts.append(_moved_in(dataset, table, columns))
    con.execute(
        "create or replace temp table moved_facts (submission_id varchar, dataset varchar, province_code varchar, "
        "place_code varchar, year integer)"
    )
    if parts:
        con.execute(f"insert into moved_facts select distinct * from ({' union all '.join(parts)})")


# the figures the run changed (marts.indicators against published_before), each with the submissions whose moved
# facts lie in its scope: its dataset, its places, its years
ATTRIBUTION = """
with changed as (
    select coalesce(n.indicator, o.indicator) as indicator, coalesce(n.scope_code, o.scope_code) as scope_code,
           coalesce(n.scope_name, o.scope_name) as scope_name, coalesce(n.period, o.period) as period,
           o.value as value_before, n.value as value_after, coalesce(n.unit, o.unit) as unit
    from marts.indicators as n
    full join published_before as o using (indicator, scope_code, period)
    where o.value is null or n.value is null or abs(o.value - n.value) > 1e-9 * greatest(abs(o.value), 1)
),
figures as (
    select c.*, d.dataset, d.name as indicator_name,
           cast(split_part(c.period, '-', 1) as integer) as y0,
           cast(coalesce(nullif(split_part(c.period, '-', 2), ''), split_part(c.period, '-', 1)) as integer) as y1,
           case when c.scope_code like '%:%' then split_part(c.scope_code, ':', 1) else c.scope_code end as area_code,
           nullif(split_part(c.scope_code, ':', 2), '') as part
    from changed as c
    left join core.indicator_definition as d using (indicator)
),
-- the places each figure sums over: its county, or its area's counties and whole prefectures in the years it applies
figure_places as (
    select f.indicator, f.scope_code, f.period, f.dataset, f.y0, f.y1, f.part,
           f.scope_code as place_code, null::bigint as from_year, null::bigint as to_year
    from figures as f
    where regexp_full_match(f.scope_code, '[0-9]{6}')
    union all
    select f.indicator, f.scope_code, f.period, f.dataset, f.y0, f.y1, f.part, p.place_code, p.from_year, p.to_year
    from figures as f
    join core.area_place as p on p.area_code = f.area_code
),
causes as (
    select distinct fp.indicator, fp.scope_code, fp.period, m.submission_id
    from figure_places as fp
    join moved_facts as m
        on m.dataset = fp.dataset and m.place_code = fp.place_code
        and m.year between fp.y0 and fp.y1
        and m.year between coalesce(fp.from_year, m.year) and coalesce(fp.to_year, m.year)
        and (fp.part is null or m.province_code = fp.part or left(m.place_code, 2) = fp.part)
),
named as (
    select indicator, scope_code, period, string_agg(submission_id, ',' order by submission_id) as submissions
    from causes
    group by indicator, scope_code, period
)
select now() as changed_at, $run_id as run_id, f.indicator, f.indicator_name, f.scope_code, f.scope_name, f.period,
       f.value_before, f.value_after, f.unit, n.submissions
from figures as f
left join named as n using (indicator, scope_code, period)
"""


def record_indicator_changes(con: duckdb.DuckDBPyConnection, applied: list[str], run_id: str) -> int:
    """Append to marts.indicator_changes every published figure the run changed, with the submissions behind it:
    every submission applied in this run whose changed facts lie in the figure's dataset, places and years."""
    collect_moved_facts(con, applied)
    return con.execute(f"insert into marts.indicator_changes by name {ATTRIBUTION}", {"run_id": run_id}).fetchone()[0]
