-- Each county's poverty incidence per year against its exit threshold; designated: its area shows its counties.
select p.county_code, p.county_name, p.year, p.incidence, p.exit_threshold, p.below_exit_threshold,
       a.area_code is not null as designated
from marts.poverty_by_county as p
left join (select distinct county_code, area_code from core.area_county where area_code in
           (select area_code from core.area where show_counties)) as a on a.county_code = p.county_code
order by p.year, p.incidence desc, p.county_code
