-- Each area's civil-affairs funds per year.
select i.indicator, i.scope_code, i.scope_name, i.period, i.value, i.unit, i.unit_name,
       cast(i.period as integer) as year
from marts.indicators as i join core.area as a on a.area_code = i.scope_code
where i.indicator = 'civil_affairs_funds' and i.period not like '%-%'
order by a.rowid, year
