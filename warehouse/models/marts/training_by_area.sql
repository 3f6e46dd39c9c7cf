-- description: 'one row per area × year × programme: training held in the area''s counties'
-- columns:
--   area_code: Area id (core.area_county).
--   area_name: Area name (core.area_county).
--   year: Year of the training (core.fct_training.year).
--   programme: Training programme as named by the province (core.fct_training).
--   sessions: 'Sessions (期) held, count: sum of core.fct_training.sessions.'
--   trainees: 'Persons trained: sum of core.fct_training.trainees.'
--   trainees_poor: Of whom registered poor (建档立卡贫困人员), persons.
--   employed: Of whom employed after the training, persons.
--   counties: Counties where the programme was held, count.
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
