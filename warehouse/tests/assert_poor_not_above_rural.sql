-- Rule: registered poor not yet lifted never exceed the rural registered population.
select county_code, year, poor_population, rural_population
from core.fct_poverty_status
where poor_population > rural_population
