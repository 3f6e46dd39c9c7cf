-- Rule: a published figure that is a sum equals the sum of its contributions in marts.indicator_lineage, exactly
-- (DECIMAL), and a growth rate or incidence the lineage explains has its inputs there.
with sums as (
    select indicator, scope_code, period, sum(value) as summed, count(*) filter (where role <> 'sum') as inputs
    from marts.indicator_lineage
    group by indicator, scope_code, period
)
select i.indicator, i.scope_code, i.period, i.value, s.summed
from marts.indicators as i
join sums as s using (indicator, scope_code, period)
where (s.inputs = 0 and s.summed <> i.value)
   or (i.indicator = 'civil_affairs_funds_growth'
       and (select count(distinct role) from marts.indicator_lineage as l
            where l.indicator = i.indicator and l.scope_code = i.scope_code and l.period = i.period) < 2)
