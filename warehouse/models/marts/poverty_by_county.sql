-- description: 'one row per county × year: registered poverty at year end, incidence and the exit test'
-- columns:
--   county_code: Current 6-digit county code (core.dim_county).
--   county_name: County name (core.dim_county).
--   province_code: 2-digit province code (core.dim_county).
--   province_name: Province name (core.dim_county).
--   region: 'east, central or west (core.dim_county): sets the exit threshold.'
--   region_name: 东部, 中部 or 西部 (core.labels).
--   year: Year whose end the figures describe (core.fct_poverty_status.year).
--   rural_population: Rural registered population (农业户籍人口), persons (core.fct_poverty_status).
--   poor_population: Registered poor not yet lifted (未脱贫人口), persons (core.fct_poverty_status).
--   lifted_population: Registered poor lifted so far (已脱贫人口, cumulative), persons (core.fct_poverty_status).
--   declared_incidence: Incidence the province declared, fraction, as submitted (core.fct_poverty_status); not used in indicators.
--   incidence: 'Poverty incidence (贫困发生率), fraction, DECIMAL rounded to 6 places: poor_population / rural_population.'
--   exit_threshold: 'Incidence below which the county may exit (core.exit_threshold of its region), fraction: 0.02 east and central, 0.03 west.'
--   below_exit_threshold: 'True when poor_population / rural_population < exit_threshold, compared exactly (poor_population < exit_threshold × rural_population).'
with status as (
    select * from core.fct_poverty_status
),
counties as (
    select * from core.dim_county
),
thresholds as (
    select * from core.exit_threshold
),
labels as (
    select * from core.labels where kind = 'region'
),
joined as (
    select s.county_code, c.county_name, c.province_code, c.province_name, c.region, r.name_zh as region_name,
           s.year, s.rural_population, s.poor_population, s.lifted_population, s.declared_incidence,
           cast(round(s.poor_population / s.rural_population, 6) as decimal(38, 6)) as incidence,
           t.threshold as exit_threshold,
           s.poor_population < t.threshold * s.rural_population as below_exit_threshold
    from status as s
    join counties as c using (county_code)
    join thresholds as t using (region)
    left join labels as r on r.code = c.region
),
tested as (
    select * from joined
)
select * from tested
