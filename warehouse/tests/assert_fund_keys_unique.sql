-- Rule: one fact per county × year × fund_type × fund_level (the grain of core.fct_fund_allocation).
select county_code, year, fund_type, fund_level, count(*) as n
from core.fct_fund_allocation
group by all
having count(*) > 1
