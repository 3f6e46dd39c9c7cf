-- Indicator → its Chinese name (core.indicator_definition).
select indicator as code, name from core.indicator_definition
