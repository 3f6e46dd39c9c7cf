-- (unit, unit_name) of the indicators, in the printed table's order, each once.
select unit, unit_name from core.indicator_definition group by unit, unit_name order by min(ordinal)
