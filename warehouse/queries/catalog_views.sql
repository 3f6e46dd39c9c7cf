-- The views of the schemas $schemas with their comments and SQL (the data dictionary).
select schema_name, view_name, comment, sql from duckdb_views()
where not internal and schema_name in (select unnest($schemas))
order by schema_name, view_name
