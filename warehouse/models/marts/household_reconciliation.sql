-- description: 'one row per county × year with a registry or a poverty status: registry persons beside the province''s county figures, with the difference'
-- columns:
--   county_code: Current 6-digit county code (core.fct_household).
--   county_name: County name (core.dim_county).
--   year: Year the registry describes.
--   households: Registered households in the registry (core.fct_household), count.
--   registry_poor: Members of households 未脱贫 or 返贫 in the registry, persons.
--   registry_lifted: Members of households 已脱贫 in the registry, persons.
--   declared_poor: Poor population the province submitted for the county (core.fct_poverty_status.poor_population), persons.
--   declared_lifted: Lifted population the province submitted (core.fct_poverty_status.lifted_population), persons.
--   poor_difference: registry_poor - declared_poor, persons.
--   lifted_difference: registry_lifted - declared_lifted, persons.
--   poor_difference_share: '|poor_difference| / declared_poor, fraction, DECIMAL rounded to 6 places; over 0.005 is listed in the run summary.'
--   lifted_difference_share: '|lifted_difference| / declared_lifted, fraction, DECIMAL rounded to 6 places; over 0.005 is listed in the run summary.'
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
           -- fractions rounded once, to 6 places, as every rate the warehouse publishes
           cast(round(abs(registry_poor - declared_poor) / nullif(declared_poor, 0), 6) as decimal(38, 6))
               as poor_difference_share,
           cast(round(abs(registry_lifted - declared_lifted) / nullif(declared_lifted, 0), 6) as decimal(38, 6))
               as lifted_difference_share
    from joined
)
select * from compared
