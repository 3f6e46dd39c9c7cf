-- one row per county × year: registered poverty at year end, incidence and the exit test
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
