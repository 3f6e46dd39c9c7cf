-- Social organisations' funds landed per county and year, the largest first.
select county_code, county_name, year, amount_yuan, organisations, projects
from marts.social_org_by_county order by year, amount_yuan desc, county_code
