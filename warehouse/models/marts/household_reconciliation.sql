-- one row per county × year with a registry or a poverty status: registry persons beside the province's county figures, with the difference
with households as (
    select * from core.fct_household
),
status as (
    select * from core.fct_poverty_status
),
counties as (
    select * from core.dim_county
),
registry as (
    select county_code, year, count(*) as households,
           sum(members) filter (where status in ('未脱贫', '返贫')) as registry_poor,
           sum(members) filter (where status = '已脱贫') as registry_lifted
    from households
    group by county_code, year
),
joined as (
    select r.county_code, c.county_name, r.year, r.households,
           coalesce(r.registry_poor, 0) as registry_poor, coalesce(r.registry_lifted, 0) as registry_lifted,
           s.poor_population as declared_poor, s.lifted_population as declared_lifted
    from registry as r
    join counties as c using (county_code)
    left join status as s on s.county_code = r.county_code and s.year = r.year
),
compared as (
    select *,
           registry_poor - declared_poor as poor_difference,
           registry_lifted - declared_lifted as lifted_difference,
           abs(registry_poor - declared_poor) / nullif(declared_poor, 0) as poor_difference_share,
           abs(registry_lifted - declared_lifted) / nullif(declared_lifted, 0) as lifted_difference_share
    from joined
)
select * from compared
