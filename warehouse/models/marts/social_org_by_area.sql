-- one row per area × year: social organisations' funds landed in the area's counties
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
    join area_county as a using (county_code)
    group by a.area_code, p.year
)
select * from summed
