-- description: 'one row per area × year: social organisations'' funds landed in the area''s counties'
-- columns:
--   area_code: Area id (core.area_county).
--   area_name: Area name (core.area_county).
--   year: Year the funds landed.
--   amount_yuan: 'Funds landed (落地资金) in the area''s counties, yuan: sum of core.fct_social_org_project.amount_yuan.'
--   organisations: Distinct social organisations with projects in the area, count.
--   projects: Projects (organisation × project × county rows), count.
with area_county as (
    select * from core.area_county
),
projects as (
    select * from core.fct_social_org_project
),
summed as (
    select a.area_code, any_value(a.area_name) as area_name, p.year,
           sum(p.amount_yuan) as amount_yuan,
           count(distinct p.organisation) as organisations,
           count(*) as projects
    from projects as p
    join area_county as a
        on a.county_code = p.county_code and p.year between coalesce(a.from_year, p.year) and coalesce(a.to_year, p.year)
    group by a.area_code, p.year
)
select * from summed
