-- Rule: every computed incidence lies between 0 and 1 (threshold: none may fall outside).
select county_code, year, incidence
from marts.poverty_by_county
where incidence < 0 or incidence > 1
