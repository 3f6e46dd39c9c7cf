-- The columns of the tables and views of the schemas $schemas, in order, with their types and comments.
select schema_name, table_name, column_name, data_type, comment from duckdb_columns()
where not internal and schema_name in (select unnest($schemas))
order by schema_name, table_name, column_index
