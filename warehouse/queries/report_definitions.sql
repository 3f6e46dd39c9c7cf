-- The indicators' names, units and definitions in the printed order.
select indicator, name, unit, unit_name, definition, definition_zh from core.indicator_definition order by ordinal
