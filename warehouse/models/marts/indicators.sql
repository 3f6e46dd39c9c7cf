-- description: 'one row per indicator × scope × period: the figures the Ministry publishes; money in yuan, rates as fractions'
-- columns:
--   indicator: Indicator id (core.indicator_definition).
--   scope_code: County code, area code (core.area) or area part 'area:province'.
--   scope_name: Name of the county, area or area part.
--   period: Year 'yyyy' or span 'yyyy-yyyy'.
--   value: 'The figure, DECIMAL(38, 6), in the unit given (yuan, fraction, persons, count, boolean 1/0): money exact to the fen, rates rounded to 6 places. NULL for a growth rate withheld because its span is incomplete (coverage_note says why).'
--   unit: Unit of value.
--   definition: How the indicator is computed.
--   indicator_name: The indicator's Chinese name (core.indicator_definition.name).
--   unit_name: The unit in Chinese (元, 比例, 人, 个, 期, 是/否).
--   counties_expected: 'Counties the figure''s definition needs for its period: the area''s (or area part''s) counties in each year of the period (core.area_county, from_year–to_year); for a span ''yyyy-yyyy'' every county needed in any of its years. NULL where coverage does not apply: a county''s own row, and the indicators counted from lists of events (social-organisation projects, trainings, grants, social-service projects) rather than from a form every county files.'
--   counties_covered: 'Of counties_expected, those the figure holds: a county with the facts the definition sums (funds: a fact of the fund type at one of the levels it sums; poverty: the county''s poverty status) in every year of the period it is needed. Equal to counties_expected when complete; NULL where coverage does not apply.'
--   missing_counties: 'Names (Chinese) of the counties needed but not covered, ordered by code; empty when complete; NULL where coverage does not apply.'
--   missing_county_codes: 'Codes of the counties needed but not covered, ordered by code; empty when complete; NULL where coverage does not apply.'
--   coverage_note: 'NULL when the figure is complete (or coverage does not apply); else what it lacks, in Chinese: ''17/23 县，缺湖南省 6 县'' (a province missing more than 3 counties by count, fewer by name: ''22/23 县，缺茶陵县''). A growth rate whose span has a county missing in any year is not published: its value is NULL and its note ends ''期间内有县缺报，增长率不予公布''.'
with definitions as (
    select * from core.indicator_definition
),
provinces as (
    select * from core.dim_province
),
funds as (
    select f.*,
           case when f.part = 'all' then f.area_code else f.area_code || ':' || f.part end as scope_code,
           case when f.part = 'all' then f.area_name else f.area_name || '（' || p.province_name || '）' end as scope_name
    from marts.fund_by_area as f
    left join provinces as p on p.province_code = f.part
),
fund_series as (
    select 'civil_affairs_funds' as indicator, scope_code, scope_name, year, sum(amount_yuan) as amount
    -- the levels the definition names: central and provincial (中央 + 省级), never 市级 or 县级
    from funds where fund_type = 'civil_affairs' and fund_level in ('central', 'provincial')
    group by scope_code, scope_name, year
    union all
    select 'central_budget_investment', scope_code, scope_name, year, sum(amount_yuan)
    from funds where fund_type = 'central_budget_investment' and fund_level = 'central'
    group by scope_code, scope_name, year
    union all
    select 'lottery_welfare_funds_central', scope_code, scope_name, year, sum(amount_yuan)
    from funds where fund_type = 'lottery_welfare' and fund_level = 'central'
    group by scope_code, scope_name, year
),
fund_spans as (
    select indicator, scope_code, any_value(scope_name) as scope_name,
           min(year) as y0, max(year) as y1, sum(amount) as amount
    from fund_series
    group by indicator, scope_code
    having min(year) < max(year)
),
growth as (
    select 'civil_affairs_funds_growth' as indicator, s.scope_code, s.scope_name,
           s.y0 || '-' || s.y1 as period,
           -- a root is inexact in any type: rounded to 6 places (0.0001 percentage point), never a float artefact
           round(power(cast(last.amount as double) / cast(first.amount as double), 1.0 / (s.y1 - s.y0)) - 1, 6) as value
    from fund_spans as s
    join fund_series as first on first.indicator = s.indicator and first.scope_code = s.scope_code and first.year = s.y0
    join fund_series as last on last.indicator = s.indicator and last.scope_code = s.scope_code and last.year = s.y1
    where s.indicator = 'civil_affairs_funds'
),
poverty_areas as (
    select p.*,
           case when p.part = 'all' then p.area_code else p.area_code || ':' || p.part end as scope_code,
           case when p.part = 'all' then p.area_name else p.area_name || '（' || pr.province_name || '）' end as scope_name
    from marts.poverty_by_area as p
    left join provinces as pr on pr.province_code = p.part
),
poverty_rows as (
    select 'poverty_incidence' as indicator, county_code as scope_code, county_name as scope_name,
           cast(year as varchar) as period, incidence as value
    from marts.poverty_by_county
    union all
    select 'poor_population', county_code, county_name, cast(year as varchar), poor_population
    from marts.poverty_by_county
    union all
    select 'lifted_population', county_code, county_name, cast(year as varchar), lifted_population
    from marts.poverty_by_county
    union all
    select 'below_exit_threshold', county_code, county_name, cast(year as varchar),
           case when below_exit_threshold then 1 else 0 end
    from marts.poverty_by_county
    union all
    select 'poverty_incidence', scope_code, scope_name, cast(year as varchar), incidence
    from poverty_areas
    union all
    select 'poor_population', scope_code, scope_name, cast(year as varchar), poor_population
    from poverty_areas
    union all
    select 'lifted_population', scope_code, scope_name, cast(year as varchar), lifted_population
    from poverty_areas
),
social_rows as (
    select 'social_org_funds_landed' as indicator, county_code as scope_code, county_name as scope_name,
           cast(year as varchar) as period, amount_yuan as value
    from marts.social_org_by_county
    union all
    select 'social_org_funds_landed', area_code, area_name, cast(year as varchar), amount_yuan
    from marts.social_org_by_area
    union all
    select 'social_org_organisations', area_code, area_name, cast(year as varchar), organisations
    from marts.social_org_by_area
),
training_rows as (
    select 'training_sessions' as indicator, area_code as scope_code, any_value(area_name) as scope_name,
           cast(year as varchar) as period, sum(sessions) as value
    from marts.training_by_area group by area_code, year
    union all
    select 'training_trainees', area_code, any_value(area_name), cast(year as varchar), sum(trainees)
    from marts.training_by_area group by area_code, year
    union all
    select 'training_trainees_poor', area_code, any_value(area_name), cast(year as varchar), sum(trainees_poor)
    from marts.training_by_area group by area_code, year having sum(trainees_poor) is not null
),
-- every value is DECIMAL(38, 6): yuan sums exact to the fen, rates to 6 places, counts and persons whole
all_rows as (
    select indicator, scope_code, scope_name, cast(year as varchar) as period, cast(amount as decimal(38, 6)) as value
    from fund_series
    union all
    select indicator, scope_code, scope_name, y0 || '-' || y1, cast(amount as decimal(38, 6)) from fund_spans
    union all
    select indicator, scope_code, scope_name, period, cast(value as decimal(38, 6)) from growth
    union all
    select indicator, scope_code, scope_name, period, cast(value as decimal(38, 6)) from poverty_rows
    union all
    select indicator, scope_code, scope_name, period, cast(value as decimal(38, 6)) from social_rows
    union all
    select indicator, scope_code, scope_name, period, cast(value as decimal(38, 6)) from training_rows
    union all
    select indicator, scope_code, scope_name, period, cast(value as decimal(38, 6)) from marts.programme_indicators
),
-- coverage: the counties an area figure's definition needs for its period, and which of them it holds
measures as (
    -- indicator → the facts that make a county present; withheld: the figure is not published when incomplete
    select * from (values
        ('civil_affairs_funds', 'civil_affairs', false),
        ('civil_affairs_funds_growth', 'civil_affairs', true),
        ('central_budget_investment', 'central_budget_investment', false),
        ('lottery_welfare_funds_central', 'lottery_welfare_central', false),
        ('poverty_incidence', 'poverty_status', false),
        ('poor_population', 'poverty_status', false),
        ('lifted_population', 'poverty_status', false)
    ) as m(indicator, measure, withheld)
),
measured as (
    -- the same levels as the sums above: civil-affairs funds at 中央 or 省级, the others at 中央
    select distinct 'civil_affairs' as measure, county_code, year from core.fct_fund_allocation
    where fund_type = 'civil_affairs' and fund_level in ('central', 'provincial')
    union all
    select distinct 'central_budget_investment', county_code, year from core.fct_fund_allocation
    where fund_type = 'central_budget_investment' and fund_level = 'central'
    union all
    select distinct 'lottery_welfare_central', county_code, year from core.fct_fund_allocation
    where fund_type = 'lottery_welfare' and fund_level = 'central'
    union all
    select distinct 'poverty_status', county_code, year from marts.poverty_by_county
),
needs as (
    -- each area (or area part) row of a measured indicator, once per year of its period
    select r.indicator, m.measure, r.scope_code, r.period,
           split_part(r.scope_code, ':', 1) as area_code, nullif(split_part(r.scope_code, ':', 2), '') as part,
           unnest(range(cast(split_part(r.period, '-', 1) as integer),
                        cast(coalesce(nullif(split_part(r.period, '-', 2), ''), split_part(r.period, '-', 1))
                             as integer) + 1)) as year
    from all_rows as r
    join measures as m using (indicator)
    where not regexp_full_match(r.scope_code, '[0-9]{6}')
),
county_years as (
    -- a county named twice in an area (木里: 凉山州 and itself) counts once
    select distinct n.indicator, n.scope_code, n.period, a.county_code, n.year, p.county_code is not null as present
    from needs as n
    join core.area_county as a
        on a.area_code = n.area_code and (n.part is null or left(a.county_code, 2) = n.part)
        and n.year between coalesce(a.from_year, n.year) and coalesce(a.to_year, n.year)
    left join measured as p on p.measure = n.measure and p.county_code = a.county_code and p.year = n.year
),
county_coverage as (
    -- covered: present in every year of the period in which the area holds it
    select y.indicator, y.scope_code, y.period, y.county_code, any_value(c.county_name) as county_name,
           any_value(c.province_code) as province_code, any_value(c.province_name) as province_name,
           bool_and(y.present) as covered
    from county_years as y
    left join core.dim_county as c using (county_code)
    group by y.indicator, y.scope_code, y.period, y.county_code
),
missing_by_province as (
    select indicator, scope_code, period, province_code, any_value(province_name) as province_name,
           count(*) as n, string_agg(county_name, '、' order by county_code) as names
    from county_coverage
    where not covered
    group by indicator, scope_code, period, province_code
),
missing_text as (
    -- a few counties by name, more of one province by count: 茶陵县、炎陵县 / 湖南省 6 县
    select indicator, scope_code, period,
           string_agg(case when n <= 3 then names else province_name || ' ' || n || ' 县' end, '、'
                      order by province_code) as missing
    from missing_by_province
    group by indicator, scope_code, period
),
coverage as (
    select c.indicator, c.scope_code, c.period,
           cast(count(*) as integer) as counties_expected,
           cast(count(*) filter (where c.covered) as integer) as counties_covered,
           coalesce(list(c.county_name order by c.county_code) filter (where not c.covered),
                    cast([] as varchar[])) as missing_counties,
           coalesce(list(c.county_code order by c.county_code) filter (where not c.covered),
                    cast([] as varchar[])) as missing_county_codes
    from county_coverage as c
    group by c.indicator, c.scope_code, c.period
),
described as (
    select r.indicator, r.scope_code, r.scope_name, r.period,
           case when m.withheld and c.counties_covered < c.counties_expected then null else r.value end as value,
           d.unit, d.definition, d.name as indicator_name, d.unit_name,
           c.counties_expected, c.counties_covered, c.missing_counties, c.missing_county_codes,
           case when c.counties_covered < c.counties_expected then
               c.counties_covered || '/' || c.counties_expected || ' 县，缺' || t.missing
               || case when m.withheld then '；期间内有县缺报，增长率不予公布' else '' end
           end as coverage_note
    from all_rows as r
    join definitions as d using (indicator)
    left join measures as m using (indicator)
    left join coverage as c using (indicator, scope_code, period)
    left join missing_text as t using (indicator, scope_code, period)
)
select * from described
order by indicator, scope_code, period
