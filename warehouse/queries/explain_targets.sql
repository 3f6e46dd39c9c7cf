-- Every published figure's indicator, scope and period, with names: what `fupin explain` can explain.
select i.indicator, i.indicator_name, i.scope_code, i.scope_name, i.period
from marts.indicators as i
join core.indicator_definition as d using (indicator)
order by d.ordinal, i.scope_code, i.period
