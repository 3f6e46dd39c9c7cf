-- County code → name (core.dim_county).
select county_code as code, county_name as name from core.dim_county
