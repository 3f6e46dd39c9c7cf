-- marts.indicators for a notebook (fupin.indicators), in the printed order: every code with its Chinese name beside
-- it, and the province and county a row is about (a province's part of an area, 'luoxiao:36'; a county, '360827').
with i as (
    select
        i.*,
        d.ordinal,
        case when regexp_full_match(i.scope_code, '[0-9]{6}') then i.scope_code end as county_code,
        case
            when regexp_full_match(i.scope_code, '[0-9]{6}') then left(i.scope_code, 2)
            when regexp_full_match(i.scope_code, '.+:[0-9]{2}') then split_part(i.scope_code, ':', 2)
        end as province_code
    from marts.indicators as i join core.indicator_definition as d using (indicator)
)
select
    i.indicator, i.indicator_name, i.scope_code, i.scope_name, i.province_code, p.province_name, i.county_code,
    c.county_name, i.period, i.value, i.unit, i.unit_name, i.definition
from i
left join core.dim_province as p using (province_code)
left join core.dim_county as c using (county_code)
order by i.ordinal, i.scope_code, i.period
