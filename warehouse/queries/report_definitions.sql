-- The indicators' names, units and definitions in the printed order.
select indicator, name, unit_name, definition from core.indicator_definition order by ordinal
