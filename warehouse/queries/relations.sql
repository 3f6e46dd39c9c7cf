-- Every table and view of the warehouse (schema, name), internal ones left out.
select schema_name, table_name from duckdb_tables() where not internal
union all select schema_name, view_name from duckdb_views() where not internal
