-- one row per county × year: social organisations' funds landed, organisations and projects
with projects as (
    select * from core.fct_social_org_project
),
counties as (
    select * from core.dim_county
),
summed as (
    select p.county_code, any_value(c.county_name) as county_name, p.year,
           sum(p.amount_yuan) as amount_yuan,
           count(distinct p.organisation) as organisations,
           count(*) as projects,
           sum(p.beneficiaries) as beneficiaries
    from projects as p
    join counties as c using (county_code)
    group by p.county_code, p.year
)
select * from summed
