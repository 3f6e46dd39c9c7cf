-- one row per area × part (province, or 'all') × year: registered poverty of the area's counties and its incidence
with area_county as (
    select * from core.area_county
),
county_year as (
    select * from marts.poverty_by_county
),
in_area as (
    select a.area_code, a.area_name, p.*
    from county_year as p
    join area_county as a using (county_code)
),
-- an area's parts by province are reported only where the area spans provinces
multi_province as (
    select area_code from in_area group by area_code having count(distinct province_code) > 1
),
by_part as (
    select area_code, any_value(area_name) as area_name, province_code as part, year,
           sum(rural_population) as rural_population, sum(poor_population) as poor_population,
           sum(lifted_population) as lifted_population, count(*) as counties
    from in_area
    where area_code in (select area_code from multi_province)
    group by area_code, province_code, year
),
whole_area as (
    select area_code, any_value(area_name) as area_name, 'all' as part, year,
           sum(rural_population) as rural_population, sum(poor_population) as poor_population,
           sum(lifted_population) as lifted_population, count(*) as counties
    from in_area
    group by area_code, year
),
unioned as (
    select *, poor_population / rural_population as incidence from by_part
    union all
    select *, poor_population / rural_population as incidence from whole_area
)
select * from unioned
