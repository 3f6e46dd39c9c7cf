-- description: 'one row per county × year × fund_type × fund_level: yuan allocated to the county, with its names and the areas it belongs to. Funds per county per year of an area: select county_name, year, sum(amount_yuan) from marts.fund_by_county where list_contains(area_codes, ''luoxiao'') group by all'
-- columns:
--   county_code: Current 6-digit county code (core.dim_county).
--   county_name: County name (core.dim_county).
--   prefecture_name: Name of the prefecture the county belongs to (core.dim_county).
--   province_code: 2-digit province code (core.dim_county).
--   province_name: Province name (core.dim_county).
--   year: Year the funds were allocated (core.fct_fund_allocation.year).
--   fund_type: civil_affairs (民政事业费), lottery_welfare (彩票公益金) or central_budget_investment (中央预算内投资).
--   fund_type_name: Fund type in Chinese (core.labels).
--   fund_level: central (中央), provincial (省级), municipal (市级) or county (县级).
--   fund_level_name: Fund level in Chinese (core.labels).
--   amount_yuan: 'Funds allocated to the county, yuan, DECIMAL: core.fct_fund_allocation.amount_yuan.'
--   area_codes: 'The areas (core.area) the county belongs to, e.g. [designated_mca, luoxiao]; empty when none. A county in two areas is one row: filter with list_contains(area_codes, ''luoxiao''), never a join, so no sum counts it twice.'
--   area_names: 'The same areas by name, e.g. [民政部定点扶贫县, 罗霄山片区]: list_contains(area_names, ''罗霄山片区'').'
with funds as (
    select * from core.fct_fund_allocation
),
counties as (
    select * from core.dim_county
),
labels as (
    select * from core.labels
),
membership as (
    select county_code,
           list(area_code order by area_code) as area_codes,
           list(area_name order by area_code) as area_names
    from core.area_county
    group by county_code
),
named as (
    select f.county_code, c.county_name, c.prefecture_name, c.province_code, c.province_name, f.year,
           f.fund_type, t.name_zh as fund_type_name, f.fund_level, l.name_zh as fund_level_name,
           f.amount_yuan,
           coalesce(m.area_codes, []) as area_codes,
           coalesce(m.area_names, []) as area_names
    from funds as f
    left join counties as c using (county_code)
    left join labels as t on t.kind = 'fund_type' and t.code = f.fund_type
    left join labels as l on l.kind = 'fund_level' and l.code = f.fund_level
    left join membership as m using (county_code)
)
select * from named
order by county_code, year, fund_type, fund_level
