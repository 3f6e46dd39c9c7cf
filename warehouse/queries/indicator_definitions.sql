-- Each indicator (core.indicator_definition, every column) in the printed order.
select * from core.indicator_definition order by ordinal
