-- description: 'one row per area × part (province, or ''all'') × year: registered poverty of the area''s counties and its incidence'
-- columns:
--   area_code: Area id (core.area_county).
--   area_name: Area name (core.area_county).
--   part: '''all'' for the whole area, else the 2-digit province code of the area''s part in that province.'
--   part_name: 'The part''s name: 全部 for ''all'', else the province''s name.'
--   year: Year whose end the figures describe.
--   rural_population: 'Rural registered population of the area''s counties, persons: sum over marts.poverty_by_county.'
--   poor_population: 'Registered poor not yet lifted in the area''s counties, persons: sum over marts.poverty_by_county.'
--   lifted_population: 'Registered poor lifted so far in the area''s counties, persons, cumulative: sum over marts.poverty_by_county.'
--   counties: Counties with a poverty status in the sums, count.
--   incidence: 'Poverty incidence of the area, fraction, DECIMAL rounded to 6 places: summed poor_population / summed rural_population.'
with area_county as (
    select * from core.area_county
),
county_year as (
    select * from marts.poverty_by_county
),
in_area as (
    select a.area_code, a.area_name, p.*
    from county_year as p
    join area_county as a
        on a.county_code = p.county_code and p.year between coalesce(a.from_year, p.year) and coalesce(a.to_year, p.year)
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
    select * from by_part
    union all
    select * from whole_area
),
labels as (
    select * from core.labels
),
provinces as (
    select * from core.dim_province
),
named as (
    select u.area_code, u.area_name, u.part, coalesce(p.province_name, a.name_zh) as part_name, u.year,
           u.rural_population, u.poor_population, u.lifted_population, u.counties,
           cast(round(u.poor_population / u.rural_population, 6) as decimal(38, 6)) as incidence
    from unioned as u
    left join provinces as p on p.province_code = u.part
    left join labels as a on a.kind = 'area_part' and a.code = u.part
)
select * from named
