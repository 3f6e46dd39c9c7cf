-- Rule: one fact per county × year in core.fct_poverty_status.
select county_code, year, count(*) as n
from core.fct_poverty_status
group by all
having count(*) > 1
