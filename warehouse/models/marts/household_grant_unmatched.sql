-- description: 'one row per grant whose household is not in its county''s registry: the households paid that the registry (建档立卡) does not list, by pseudonym, never by name'
-- columns:
--   county_code: Current 6-digit code of the county the grant list names (core.fct_household_grant).
--   county_name: County name (core.dim_county).
--   year: Year the aid was paid.
--   programme: Aid programme as submitted.
--   household_key: The household's pseudonym (a UUID from the HMAC of the head's ID number), null when the list gave only a household number.
--   household_id: The registry household number (户编号) the list gave, null when it gave only the ID number.
--   township: Township as the list gives it.
--   village: Village as the list gives it.
--   amount_yuan: Aid paid, yuan.
--   registry_year: 'Year of the county''s registry in force for the grant: the newest registry of the county up to the grant''s year; null when the county has none.'
--   reason_code: no_registry (the county has no registry up to that year) or not_in_registry (the registry does not list the household).
--   reason: The reason in Chinese.
--   submission_id: Submission the grant came from (meta.submissions).
with grants as (
    select * from core.fct_household_grant
),
households as (
    select county_code, year, household_key, household_id from core.fct_household
),
counties as (
    select * from core.dim_county
),
registries as (
    select distinct county_code, year from households
),
in_force as (
    select g.*,
           (select max(r.year) from registries as r where r.county_code = g.county_code and r.year <= g.year)
               as registry_year
    from grants as g
),
keyed as (
    select i.county_code, i.year, i.programme, i.household_key, i.household_id, i.registry_year
    from in_force as i
    where exists (
        select 1 from households as h
        where h.county_code = i.county_code and h.year = i.registry_year and h.household_key = i.household_key
    )
),
numbered as (
    select i.county_code, i.year, i.programme, i.household_key, i.household_id, i.registry_year
    from in_force as i
    where exists (
        select 1 from households as h
        where h.county_code = i.county_code and h.year = i.registry_year and h.household_id = i.household_id
    )
),
unmatched as (
    select i.*
    from in_force as i
    where not exists (
        select 1 from keyed as k
        where k.county_code = i.county_code and k.year = i.year and k.programme = i.programme
          and k.household_key is not distinct from i.household_key and k.household_id is not distinct from i.household_id
    )
      and not exists (
        select 1 from numbered as n
        where n.county_code = i.county_code and n.year = i.year and n.programme = i.programme
          and n.household_key is not distinct from i.household_key and n.household_id is not distinct from i.household_id
    )
),
described as (
    select u.county_code, c.county_name, u.year, u.programme, u.household_key, u.household_id,
           u.township, u.village, u.amount_yuan, u.registry_year,
           case when u.registry_year is null then 'no_registry' else 'not_in_registry' end as reason_code,
           case when u.registry_year is null then '该县截至当年没有建档立卡名册'
                else '该户不在该县 ' || u.registry_year || ' 年建档立卡名册中' end as reason,
           u.submission_id
    from unmatched as u
    left join counties as c using (county_code)
)
select * from described
order by county_code, year, programme, household_key, household_id
