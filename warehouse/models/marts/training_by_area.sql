-- one row per area × year × programme: training held in the area's counties
with area_county as (
    select * from core.area_county
),
training as (
    select * from core.fct_training
),
summed as (
    select a.area_code, any_value(a.area_name) as area_name, t.year, t.programme,
           sum(t.sessions) as sessions, sum(t.trainees) as trainees,
           sum(t.trainees_poor) as trainees_poor, sum(t.employed) as employed,
           count(distinct t.county_code) as counties
    from training as t
    join area_county as a using (county_code)
    group by a.area_code, t.year, t.programme
)
select * from summed
