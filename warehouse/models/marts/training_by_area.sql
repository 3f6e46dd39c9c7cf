-- description: 'one row per area × year × programme: training held in the area''s counties, or for a whole prefecture the area holds'
-- columns:
--   area_code: Area id (core.area_county).
--   area_name: Area name (core.area_county).
--   year: Year of the training (core.fct_training.year).
--   programme: Training programme as named by the province (core.fct_training).
--   sessions: 'Sessions (期) held, count: sum of core.fct_training.sessions.'
--   trainees: 'Persons trained: sum of core.fct_training.trainees.'
--   trainees_poor: Of whom registered poor (建档立卡贫困人员), persons.
--   employed: Of whom employed after the training, persons.
--   organisations: 'Social organisations that attended, count: sum of core.fct_training.organisations (null when no form says).'
--   projects_paired: 'Local projects the organisations were paired with, count: sum of core.fct_training.projects_paired.'
--   counties: Counties where the programme was held, count.
--   prefectures: Whole prefectures the programme was held for (凉山州), count.
with area_place as (
    select * from core.area_place
),
training as (
    select * from core.fct_training
),
-- a training held in a county counts in every area holding the county; one held for a whole prefecture,
-- in every area holding all of that prefecture (core.area_place: a fact's place is its county or its prefecture)
placed as (
    select a.area_code, a.area_name, t.*
    from training as t
    join area_place as a
        on a.place_code = coalesce(t.county_code, t.prefecture_code)
        and t.year between coalesce(a.from_year, t.year) and coalesce(a.to_year, t.year)
),
summed as (
    select area_code, any_value(area_name) as area_name, year, programme,
           sum(sessions) as sessions, sum(trainees) as trainees,
           sum(trainees_poor) as trainees_poor, sum(employed) as employed,
           sum(organisations) as organisations, sum(projects_paired) as projects_paired,
           count(distinct county_code) as counties, count(distinct prefecture_code) as prefectures
    from placed
    group by area_code, year, programme
)
select * from summed
