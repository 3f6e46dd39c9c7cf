-- marts.indicators, every row, as the indicator export prints it.
select i.indicator, i.indicator_name, i.scope_code, i.scope_name, i.period, i.value, i.unit, i.unit_name, i.definition,
       i.counties_expected, i.counties_covered, i.missing_counties, i.missing_county_codes, i.coverage_note
from marts.indicators as i join core.indicator_definition as d using (indicator)
order by d.ordinal, i.scope_code, i.period
