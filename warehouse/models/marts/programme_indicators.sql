-- description: 'one row per indicator × area × period of the programmes beside the funds: direct aid to households (“十百千”), central-finance social-service projects and the organisations at trainings; unioned into marts.indicators'
-- columns:
--   indicator: Indicator id (core.indicator_definition).
--   scope_code: Area code (core.area).
--   scope_name: Area name.
--   period: Year 'yyyy' or span 'yyyy-yyyy'.
--   value: The figure, in the indicator's unit (yuan or count).
with grants as (
    select * from marts.household_grant_by_area
),
services as (
    select * from marts.social_service_by_area
),
training as (
    select * from marts.training_by_area
),
grant_rows as (
    select 'grant_funds' as indicator, area_code as scope_code, area_name as scope_name,
           cast(year as varchar) as period, cast(amount_yuan as double) as value
    from grants
    union all
    select 'grant_households', area_code, area_name, cast(year as varchar), households from grants
    union all
    select 'grant_villages', area_code, area_name, cast(year as varchar), villages from grants
    union all
    select 'grant_townships', area_code, area_name, cast(year as varchar), townships from grants
    union all
    select 'grant_amount_per_household', area_code, area_name, cast(year as varchar),
           cast(amount_per_household as double)
    from grants
),
service_spans as (
    select area_code, any_value(area_name) as area_name, min(year) || '-' || max(year) as period,
           sum(projects) as projects, sum(amount_yuan) as amount_yuan
    from services
    group by area_code
    having min(year) < max(year)
),
service_rows as (
    select 'social_service_projects' as indicator, area_code as scope_code, area_name as scope_name,
           cast(year as varchar) as period, cast(projects as double) as value
    from services
    union all
    select 'social_service_funds', area_code, area_name, cast(year as varchar), cast(amount_yuan as double)
    from services
    union all
    select 'social_service_projects', area_code, area_name, period, projects from service_spans
    union all
    select 'social_service_funds', area_code, area_name, period, cast(amount_yuan as double) from service_spans
),
organisations as (
    select area_code, any_value(area_name) as area_name, year,
           sum(organisations) as organisations, sum(projects_paired) as projects_paired
    from training
    where organisations is not null or projects_paired is not null
    group by area_code, year
),
training_rows as (
    select 'training_organisations' as indicator, area_code as scope_code, area_name as scope_name,
           cast(year as varchar) as period, cast(organisations as double) as value
    from organisations where organisations is not null
    union all
    select 'training_projects_paired', area_code, area_name, cast(year as varchar), projects_paired
    from organisations where projects_paired is not null
),
all_rows as (
    select * from grant_rows
    union all
    select * from service_rows
    union all
    select * from training_rows
)
select * from all_rows
