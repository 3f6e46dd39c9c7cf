-- Prefecture code → name (core.dim_prefecture).
select prefecture_code as code, prefecture_name as name from core.dim_prefecture
