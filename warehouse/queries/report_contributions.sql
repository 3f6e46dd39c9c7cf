-- What each headline figure (marts.headline) is made of, per county and year, from the marts kept per county:
-- funds (marts.fund_by_county, the indicator's fund type and levels), poverty (marts.poverty_by_county), social
-- organisations (marts.social_org_by_county); a growth rate's basis is its scope's funds in its first and last year.
-- expected: the scope's counties in the period (core.area_county), for the indicators every county reports.
with headline as (
    select indicator, scope_code, period,
           cast(split_part(period, '-', 1) as integer) as first_year,
           cast(coalesce(nullif(split_part(period, '-', 2), ''), split_part(period, '-', 1)) as integer) as last_year
    from marts.headline
),
members as (
    select distinct a.area_code, a.county_code, c.province_code, a.from_year, a.to_year
    from core.area_county as a join core.dim_county as c using (county_code)
),
scope_county as (
    select area_code as scope_code, county_code, from_year, to_year from members
    union all
    select area_code || ':' || province_code, county_code, from_year, to_year from members
    union all
    select distinct county_code, county_code, null, null from members
),
per_county as (
    select 'civil_affairs_funds' as indicator, county_code, year, sum(amount_yuan) as value
    from marts.fund_by_county where fund_type = 'civil_affairs' and fund_level in ('central', 'provincial')
    group by county_code, year
    union all
    select 'central_budget_investment', county_code, year, sum(amount_yuan)
    from marts.fund_by_county where fund_type = 'central_budget_investment' and fund_level = 'central'
    group by county_code, year
    union all
    select 'lottery_welfare_funds_central', county_code, year, sum(amount_yuan)
    from marts.fund_by_county where fund_type = 'lottery_welfare' and fund_level = 'central'
    group by county_code, year
    union all
    select 'poverty_incidence', county_code, year, incidence from marts.poverty_by_county
    union all
    select 'poor_population', county_code, year, poor_population from marts.poverty_by_county
    union all
    select 'lifted_population', county_code, year, lifted_population from marts.poverty_by_county
    union all
    select 'below_exit_threshold', county_code, year, cast(below_exit_threshold as integer) from marts.poverty_by_county
    union all
    select 'social_org_funds_landed', county_code, year, amount_yuan from marts.social_org_by_county
    union all
    select 'social_org_organisations', county_code, year, organisations from marts.social_org_by_county
),
every_county as (
    -- the indicators whose definition needs every county of the scope in every year of the period
    select unnest([
        'civil_affairs_funds', 'central_budget_investment', 'lottery_welfare_funds_central', 'poverty_incidence',
        'poor_population', 'lifted_population', 'below_exit_threshold'
    ]) as indicator
),
expected as (
    select h.indicator, h.scope_code, h.period, count(distinct s.county_code) as counties_expected
    from headline as h
    join scope_county as s on s.scope_code = h.scope_code
        and coalesce(s.from_year, h.first_year) <= h.last_year and coalesce(s.to_year, h.last_year) >= h.first_year
    where h.indicator in (select indicator from every_county)
    group by all
),
contributions as (
    select h.indicator, h.scope_code, h.period, 'county' as kind, p.county_code, c.county_name, c.province_name,
           p.year, cast(p.value as decimal(38, 6)) as value
    from headline as h
    join scope_county as s on s.scope_code = h.scope_code
    join per_county as p on p.indicator = h.indicator and p.county_code = s.county_code
        and p.year between h.first_year and h.last_year
        and p.year between coalesce(s.from_year, p.year) and coalesce(s.to_year, p.year)
    join core.dim_county as c on c.county_code = p.county_code
    union all
    select h.indicator, h.scope_code, h.period, 'basis', null, i.scope_name, null, cast(i.period as integer), i.value
    from headline as h
    join marts.indicators as i on i.indicator = 'civil_affairs_funds' and i.scope_code = h.scope_code
        and i.period in (cast(h.first_year as varchar), cast(h.last_year as varchar))
    where h.indicator = 'civil_affairs_funds_growth'
)
select c.*, e.counties_expected
from contributions as c
left join expected as e using (indicator, scope_code, period)
union all
-- a figure expected from counties that has none of them
select e.indicator, e.scope_code, e.period, 'none', null, null, null, null, null, e.counties_expected
from expected as e
where not exists (select 1 from contributions as c
                  where c.indicator = e.indicator and c.scope_code = e.scope_code and c.period = e.period)
order by indicator, scope_code, period, kind, year, county_code
