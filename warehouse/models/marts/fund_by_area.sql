-- one row per area × part (province, or 'all') × year × fund_type × fund_level: yuan allocated to the area's counties
with area_county as (
    select * from core.area_county
),
funds as (
    select * from core.fct_fund_allocation
),
in_area as (
    select a.area_code, a.area_name, f.province_code, f.year, f.fund_type, f.fund_level, f.county_code, f.amount_yuan
    from funds as f
    join area_county as a using (county_code)
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
)
select * from unioned
