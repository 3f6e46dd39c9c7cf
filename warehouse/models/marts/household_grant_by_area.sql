-- description: 'one row per area × year: direct aid paid to households (“十百千” and similar, core.fct_household_grant) in the area''s counties'
-- columns:
--   area_code: Area id (core.area_county).
--   area_name: Area name (core.area_county).
--   year: Year the aid was paid.
--   amount_yuan: 'Aid paid, yuan: sum of core.fct_household_grant.amount_yuan.'
--   households: Households reached (distinct household_key, else household_id), count.
--   villages: Villages reached (distinct county × township × village named on the lists), count.
--   townships: Townships reached (distinct county × township named on the lists), count.
--   amount_per_household: 'amount_yuan / households, yuan per household.'
with area_county as (
    select * from core.area_county
),
grants as (
    select * from core.fct_household_grant
),
summed as (
    select a.area_code, any_value(a.area_name) as area_name, g.year,
           sum(g.amount_yuan) as amount_yuan,
           count(distinct coalesce('key:' || cast(g.household_key as varchar), 'id:' || g.household_id)) as households,
           count(distinct g.county_code || '|' || g.township || '|' || g.village) as villages,
           count(distinct g.county_code || '|' || g.township) as townships
    from grants as g
    join area_county as a
        on a.county_code = g.county_code and g.year between coalesce(a.from_year, g.year) and coalesce(a.to_year, g.year)
    group by a.area_code, g.year
),
per_household as (
    select *, amount_yuan / nullif(households, 0) as amount_per_household
    from summed
)
select * from per_household
