-- description: 'one row per county × year: social organisations'' funds landed, organisations and projects'
-- columns:
--   county_code: Current 6-digit code of the county where the funds landed (core.fct_social_org_project).
--   county_name: County name (core.dim_county).
--   year: Year the funds landed.
--   amount_yuan: 'Funds landed (落地资金), yuan: sum of core.fct_social_org_project.amount_yuan.'
--   organisations: Distinct social organisations with projects in the county, count.
--   projects: Projects (organisation × project rows), count.
--   beneficiaries: Persons benefiting, as declared, summed over the projects.
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
