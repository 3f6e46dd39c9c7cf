-- description: 'one row per area × year: central-finance social-service projects (core.fct_social_service_project) serving the area''s counties'
-- columns:
--   area_code: Area id (core.area_county).
--   area_name: Area name (core.area_county).
--   year: Year the projects were approved.
--   projects: Projects (project × organisation × county rows), count.
--   organisations: Distinct organisations running them, count.
--   amount_yuan: 'Central funds approved, yuan: sum of core.fct_social_service_project.amount_yuan.'
with area_county as (
    select * from core.area_county
),
projects as (
    select * from core.fct_social_service_project
),
summed as (
    select a.area_code, any_value(a.area_name) as area_name, p.year,
           count(*) as projects,
           count(distinct p.organisation) as organisations,
           sum(p.amount_yuan) as amount_yuan
    from projects as p
    join area_county as a using (county_code)
    group by a.area_code, p.year
)
select * from summed
