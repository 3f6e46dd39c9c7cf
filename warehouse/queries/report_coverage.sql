-- Each figure's coverage, where marts.indicators keeps it: counties covered and expected, the note on its gaps.
select indicator, scope_code, period, counties_covered, counties_expected, coverage_note from marts.indicators
