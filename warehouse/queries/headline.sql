-- The briefing's first lines (marts.headline): `fupin run`, `fupin indicators --headline`, the report, the artifact.
select indicator, scope_code, scope_name, period, value, unit, definition,
       counties_expected, counties_covered, missing_counties, missing_county_codes, coverage_note
from marts.headline
order by ordinal, scope_code, period
