-- What each headline figure (marts.headline) is made of, read from the lineage mart (marts.indicator_lineage)
-- per county (or whole prefecture) and year: a sum's or a count's contributions added up (kind county); a rate's
-- per-county value, Σ numerator ÷ Σ denominator (kind county, not to be added up); a growth rate's basis, its
-- scope's funds in its first and last year (kind basis). sources: the files (file_sheet) and rows they were read from. The
-- province is the place's (a Ministry list names counties of many).
with lineage as (
    select l.*, coalesce(l.county_code, l.prefecture_code) as place_code,
           coalesce(l.county_name, l.prefecture_name) as place_name,
           l.file_name || coalesce('（' || l.sheet || '）', '') as file_sheet
    from marts.indicator_lineage as l
    semi join marts.headline as h using (indicator, scope_code, period)
),
-- per place, year and file: its row, or its first and last rows and how many (a roster of a thousand grants)
files as (
    select indicator, scope_code, period, place_code, year, file_sheet,
           case when count(distinct source_row) = 1 then '第 ' || min(source_row) || ' 行'
                else '第 ' || min(source_row) || '–' || max(source_row) || ' 行中 ' || count(distinct source_row)
                     || ' 行' end as source_rows
    from lineage
    group by indicator, scope_code, period, place_code, year, file_sheet
),
places as (
    select indicator, scope_code, period, 'county' as kind, place_code as county_code,
           any_value(place_name) as county_name, left(place_code, 2) as province_code, year,
           case when indicator = 'poverty_incidence'
                then round(sum(value) filter (where role = 'numerator')
                           / nullif(sum(value) filter (where role = 'denominator'), 0), 6)
                else sum(value) end as value,
           (select list({'file': f.file_sheet, 'rows': f.source_rows} order by f.file_sheet) from files as f
            where f.indicator = l.indicator and f.scope_code = l.scope_code and f.period = l.period
              and f.place_code is not distinct from l.place_code and f.year = l.year) as sources
    from lineage as l
    where role in ('sum', 'count') or (indicator = 'poverty_incidence' and role in ('numerator', 'denominator'))
    group by indicator, scope_code, period, place_code, year
),
basis as (
    select l.indicator, l.scope_code, l.period, 'basis' as kind, null as county_code,
           any_value(h.scope_name) as county_name, null as province_code, l.year, sum(l.value) as value,
           null as sources
    from lineage as l
    join marts.headline as h using (indicator, scope_code, period)
    where l.role in ('first_year', 'last_year')
    group by l.indicator, l.scope_code, l.period, l.year
)
select c.indicator, c.scope_code, c.period, c.kind, c.county_code, c.county_name, p.province_name, c.year,
       cast(c.value as decimal(38, 6)) as value, c.sources
from (select * from places union all by name select * from basis) as c
left join core.dim_province as p using (province_code)
order by c.indicator, c.scope_code, c.period, c.kind, c.year, c.county_code
