-- Province code → name (core.dim_province).
select province_code as code, province_name as name from core.dim_province
