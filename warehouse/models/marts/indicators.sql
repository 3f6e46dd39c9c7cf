-- description: 'one row per indicator × scope × period: the figures the Ministry publishes; money in yuan, rates as fractions'
-- columns:
--   indicator: Indicator id (core.indicator_definition).
--   scope_code: County code, area code (core.area) or area part 'area:province'.
--   scope_name: Name of the county, area or area part.
--   period: Year 'yyyy' or span 'yyyy-yyyy'.
--   value: 'The figure, DECIMAL(38, 6), in the unit given (yuan, fraction, persons, count, boolean 1/0): money exact to the fen, rates rounded to 6 places.'
--   unit: Unit of value.
--   definition: How the indicator is computed.
--   indicator_name: The indicator's Chinese name (core.indicator_definition.name).
--   unit_name: The unit in Chinese (元, 比例, 人, 个, 期, 是/否).
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
described as (
    select r.indicator, r.scope_code, r.scope_name, r.period, r.value, d.unit, d.definition,
           d.name as indicator_name, d.unit_name
    from all_rows as r
    join definitions as d using (indicator)
)
select * from described
order by indicator, scope_code, period
