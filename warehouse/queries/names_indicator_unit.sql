-- Indicator → its unit in Chinese (core.indicator_definition).
select indicator as code, unit_name as name from core.indicator_definition
