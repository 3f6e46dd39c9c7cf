-- The tables of the schemas $schemas with their comments (the data dictionary).
select schema_name, table_name, comment from duckdb_tables()
where not internal and schema_name in (select unnest($schemas))
order by schema_name, table_name
