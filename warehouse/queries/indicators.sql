-- marts.indicators in the printed order. $counties: every county's rows too (false: the areas, their parts
-- and the designated counties); $indicator, $area: only that indicator / that area, its parts and its counties.
with i as (
    select *, regexp_full_match(scope_code, '[0-9]{6}') as is_county from marts.indicators
)
select i.indicator, i.scope_code, i.scope_name, i.period, i.value, i.unit, i.definition,
       i.counties_expected, i.counties_covered, i.missing_counties, i.missing_county_codes, i.coverage_note
from i join core.indicator_definition as d using (indicator)
where ($counties or not i.is_county or i.scope_code in (
          select county_code from core.area_county
          where area_code in (select area_code from core.area where show_counties)))
  and ($indicator is null or i.indicator = $indicator)
  and ($area is null or i.scope_code = $area or starts_with(i.scope_code, $area || ':')
       or i.scope_code in (select county_code from core.area_county where area_code = $area))
order by d.ordinal, i.scope_code, i.period
