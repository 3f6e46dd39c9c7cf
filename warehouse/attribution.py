"""Which submissions moved a published figure: the facts each applied submission changed, joined to the figure's scope.

The caller fills two temp tables, each keyed by ``run_key`` (one run of the load: its figures are attributed to the
submissions applied in it):

- ``applied_runs (run_key, submission_id)``: the submissions a run applied;
- ``changed_figures (run_key, indicator, scope_code, period)``: the published figures it changed;

and ``attribute(con)`` leaves ``figure_causes (run_key, indicator, scope_code, period, submissions)``: the ids,
comma-separated in id order, of every submission of the run with a moved fact in the figure's scope. In two steps:

1. ``moved_facts``: per applied submission, the facts it changed in the history tables — the rows it inserted
   that were not there before, and the rows its stamp retired (replaced keys, a withdrawn row, the keys a full
   resubmission dropped) that it did not put back unchanged — as (dataset, submitting province, place, year); the
   place is the county, or the prefecture a Ministry list names whole. A fact resent with the same values moved
   nothing.
2. The figure's scope: its dataset (core.indicator_definition); its years (the year, or every year of the span);
   its places — a county figure its county; an area's figure each county and whole prefecture of the area
   (core.area_place, in the years the area applies); an area part 'area:province' those of that province only.

Step 2 reads nothing but ``moved_facts`` and the reference tables: a lineage mart (figure → facts → submission)
can stand in for it. The load records a run's changes with it (fupin.tasks.load.changes); a migration step
re-attributes the changes recorded before it (fupin.warehouse.migrations).
"""

from __future__ import annotations

import duckdb

from fupin.warehouse.contracts import contracts
from fupin.warehouse.relations import relation

# bookkeeping columns of a history table: a fact resent with the same values in every other column did not move
BOOKKEEPING = ("submission_id", "source_row", "valid_from", "valid_to", "row_action", "lake_file")


def history_tables() -> list[tuple[str, str]]:
    """(dataset, history table) of every kind of fact: the six datasets' and the household registries' counties."""
    registry = relation("core.household_registry_history").relation
    return [*((d, c.table) for d, c in contracts().items()), ("household_registry", registry)]


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
    """SQL: the facts of one history table that the applied submissions (temp table applied_stamps) changed."""
    values = ", ".join(f't."{c}"' for c in columns if c not in BOOKKEEPING)
    place = "coalesce(county_code, prefecture_code)" if "prefecture_code" in columns else "county_code"
    inserted = (
        f"select a.run_key, a.submission_id, {values} from {table} as t join applied_stamps as a "
        f"on t.submission_id = a.submission_id and t.valid_from = a.stamp"
    )
    # what a submission's stamp retired: only in the province × dataset × years it carries (tasks/load/facts.py)
    retired = (
        f"select a.run_key, a.submission_id, {values} from {table} as t join applied_stamps as a "
        f"on t.valid_to = a.stamp and t.province_code = a.province_code and list_contains(a.years, t.year) "
        f"and list_contains(a.datasets, '{dataset}')"
    )
    return (
        f"select run_key, submission_id, '{dataset}' as dataset, province_code, {place} as place_code, year "
        f"from (({inserted} except all {retired}) union all ({retired} except all {inserted}))"
    )


def collect_moved_facts(con: duckdb.DuckDBPyConnection) -> None:
    """Temp table moved_facts (run_key, submission_id, dataset, province_code, place_code, year) from applied_runs:
    what each applied submission changed, one row per distinct place and year."""
    con.execute(
        "create or replace temp table applied_stamps as "
        "select r.run_key, s.submission_id, s.province_code, coalesce(s.applied_at, s.received_at) as stamp, "
        "string_split(coalesce(s.dataset, ''), ',') as datasets, "
        "coalesce(cast(string_split(nullif(s.years, ''), ',') as integer[]), []) as years "
        "from applied_runs as r join meta.submissions as s using (submission_id)"
    )
    parts = [
        _moved_in(dataset, table, columns) for dataset, table in history_tables() if (columns := _columns(con, table))
    ]
    con.execute(
        "create or replace temp table moved_facts (run_key varchar, submission_id varchar, dataset varchar, "
        "province_code varchar, place_code varchar, year integer)"
    )
    if parts:
        con.execute(f"insert into moved_facts select distinct * from ({' union all '.join(parts)})")


# each changed figure with the submissions whose moved facts lie in its scope: its dataset, its places, its years
FIGURE_CAUSES = """
create or replace temp table figure_causes as
with figures as (
    select f.run_key, f.indicator, f.scope_code, f.period, d.dataset,
           cast(split_part(f.period, '-', 1) as integer) as y0,
           cast(coalesce(nullif(split_part(f.period, '-', 2), ''), split_part(f.period, '-', 1)) as integer) as y1,
           case when f.scope_code like '%:%' then split_part(f.scope_code, ':', 1) else f.scope_code end as area_code,
           nullif(split_part(f.scope_code, ':', 2), '') as part
    from changed_figures as f
    left join core.indicator_definition as d using (indicator)
),
-- the places each figure sums over: its county, or its area's counties and whole prefectures in the years it applies
figure_places as (
    select f.run_key, f.indicator, f.scope_code, f.period, f.dataset, f.y0, f.y1, f.part,
           f.scope_code as place_code, null::bigint as from_year, null::bigint as to_year
    from figures as f
    where regexp_full_match(f.scope_code, '[0-9]{6}')
    union all
    select f.run_key, f.indicator, f.scope_code, f.period, f.dataset, f.y0, f.y1, f.part,
           p.place_code, p.from_year, p.to_year
    from figures as f
    join core.area_place as p on p.area_code = f.area_code
),
causes as (
    select distinct fp.run_key, fp.indicator, fp.scope_code, fp.period, m.submission_id
    from figure_places as fp
    join moved_facts as m
        on m.run_key = fp.run_key and m.dataset = fp.dataset and m.place_code = fp.place_code
        and m.year between fp.y0 and fp.y1
        and m.year between coalesce(fp.from_year, m.year) and coalesce(fp.to_year, m.year)
        and (fp.part is null or m.province_code = fp.part or left(m.place_code, 2) = fp.part)
)
select run_key, indicator, scope_code, period, string_agg(submission_id, ',' order by submission_id) as submissions
from causes
group by run_key, indicator, scope_code, period
"""


def attribute(con: duckdb.DuckDBPyConnection) -> None:
    """Temp table figure_causes from applied_runs and changed_figures (see the module's docstring)."""
    collect_moved_facts(con)
    con.execute(FIGURE_CAUSES)
