-- description: 'one row per county × year: registered poverty at year end, incidence and the exit test'
-- columns:
--   county_code: Current 6-digit county code (core.dim_county).
--   county_name: County name (core.dim_county).
--   province_code: 2-digit province code (core.dim_county).
--   region: 'east, central or west (core.dim_county): sets the exit threshold.'
--   year: Year whose end the figures describe (core.fct_poverty_status.year).
--   rural_population: Rural registered population (农业户籍人口), persons (core.fct_poverty_status).
--   poor_population: Registered poor not yet lifted (未脱贫人口), persons (core.fct_poverty_status).
--   lifted_population: Registered poor lifted so far (已脱贫人口, cumulative), persons (core.fct_poverty_status).
--   declared_incidence: Incidence the province declared, fraction, as submitted (core.fct_poverty_status); not used in indicators.
--   incidence: 'Poverty incidence (贫困发生率), fraction: poor_population / rural_population.'
--   exit_threshold: 'Incidence below which the county may exit (core.exit_threshold of its region), fraction: 0.02 east and central, 0.03 west.'
--   below_exit_threshold: True when incidence < exit_threshold.
with status as (
    select * from core.fct_poverty_status
),
counties as (
    select * from core.dim_county
),
thresholds as (
    select * from core.exit_threshold
),
joined as (
    select s.county_code, c.county_name, c.province_code, c.region, s.year,
           s.rural_population, s.poor_population, s.lifted_population, s.declared_incidence,
           s.poor_population / s.rural_population as incidence,
           t.threshold as exit_threshold
    from status as s
    join counties as c using (county_code)
    join thresholds as t using (region)
),
tested as (
    select *, incidence < exit_threshold as below_exit_threshold
    from joined
)
select * from tested
