-- description: 'one row per area × year: central-finance social-service projects (core.fct_social_service_project) serving the area''s counties or a whole prefecture it holds'
-- columns:
--   area_code: Area id (core.area_county).
--   area_name: Area name (core.area_county).
--   year: Year the projects were approved.
--   projects: Projects (project × organisation × county or prefecture rows), count.
--   organisations: Distinct organisations running them, count.
--   amount_yuan: 'Central funds approved, yuan: sum of core.fct_social_service_project.amount_yuan.'
--   prefecture_projects: Of the projects, those serving a whole prefecture (凉山州), count.
with area_place as (
    select * from core.area_place
),
projects as (
    select * from core.fct_social_service_project
),
-- a project serving a county counts in every area holding the county; one serving a whole prefecture,
-- in every area holding all of that prefecture (core.area_place: a fact's place is its county or its prefecture)
placed as (
    select a.area_code, a.area_name, p.*
    from projects as p
    join area_place as a
        on a.place_code = coalesce(p.county_code, p.prefecture_code)
        and p.year between coalesce(a.from_year, p.year) and coalesce(a.to_year, p.year)
),
summed as (
    select area_code, any_value(area_name) as area_name, year,
           count(*) as projects,
           count(distinct organisation) as organisations,
           sum(amount_yuan) as amount_yuan,
           count(prefecture_code) as prefecture_projects
    from placed
    group by area_code, year
)
select * from summed
