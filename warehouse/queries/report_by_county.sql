-- Every county-level figure of marts.indicators, under each area the county belongs to.
select ac.area_code, i.indicator, d.name as indicator_name, i.scope_code, i.scope_name, i.period,
       i.value, i.unit, i.unit_name
from marts.indicators as i
join (select distinct area_code, county_code from core.area_county) as ac on ac.county_code = i.scope_code
join core.indicator_definition as d using (indicator)
order by ac.area_code, d.ordinal, i.period, i.scope_code
