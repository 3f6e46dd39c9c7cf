-- description: 'one row per area × part (province, or ''all'') × year × fund_type × fund_level: yuan allocated to the area''s counties'
-- columns:
--   area_code: Area id (core.area).
--   area_name: Area name (core.area_county).
--   part: '''all'' for the whole area, else the 2-digit province code of the area''s part in that province (only for areas spanning provinces).'
--   part_name: 'The part''s name: 全部 for ''all'', else the province''s name.'
--   year: Year the funds were allocated (core.fct_fund_allocation.year).
--   fund_type: civil_affairs (民政事业费), lottery_welfare (彩票公益金) or central_budget_investment (中央预算内投资).
--   fund_type_name: Fund type in Chinese (core.labels).
--   fund_level: central (中央), provincial (省级), municipal (市级) or county (县级).
--   fund_level_name: Fund level in Chinese (core.labels).
--   amount_yuan: 'Funds allocated to the area''s (or part''s) counties, yuan: sum of core.fct_fund_allocation.amount_yuan.'
--   counties: Counties with an allocation in the sum, count.
with area_county as (
    select * from core.area_county
),
funds as (
    select * from core.fct_fund_allocation
),
in_area as (
    select a.area_code, a.area_name, f.province_code, f.year, f.fund_type, f.fund_level, f.county_code, f.amount_yuan
    from funds as f
    join area_county as a
        on a.county_code = f.county_code and f.year between coalesce(a.from_year, f.year) and coalesce(a.to_year, f.year)
),
-- an area's parts by province are reported only where the area spans provinces
multi_province as (
    select area_code from in_area group by area_code having count(distinct province_code) > 1
),
by_part as (
    select area_code, any_value(area_name) as area_name, province_code as part, year, fund_type, fund_level,
           sum(amount_yuan) as amount_yuan, count(distinct county_code) as counties
    from in_area
    where area_code in (select area_code from multi_province)
    group by area_code, province_code, year, fund_type, fund_level
),
whole_area as (
    select area_code, any_value(area_name) as area_name, 'all' as part, year, fund_type, fund_level,
           sum(amount_yuan) as amount_yuan, count(distinct county_code) as counties
    from in_area
    group by area_code, year, fund_type, fund_level
),
unioned as (
    select * from by_part
    union all
    select * from whole_area
),
labels as (
    select * from core.labels
),
provinces as (
    select * from core.dim_province
),
named as (
    select u.area_code, u.area_name, u.part, coalesce(p.province_name, a.name_zh) as part_name, u.year,
           u.fund_type, t.name_zh as fund_type_name, u.fund_level, l.name_zh as fund_level_name,
           u.amount_yuan, u.counties
    from unioned as u
    left join provinces as p on p.province_code = u.part
    left join labels as a on a.kind = 'area_part' and a.code = u.part
    left join labels as t on t.kind = 'fund_type' and t.code = u.fund_type
    left join labels as l on l.kind = 'fund_level' and l.code = u.fund_level
)
select * from named
