-- The warehouse's schemas. Idempotent: run at every load. Its tables are declared in contracts/: the datasets'
-- facts in contracts/<dataset>.yaml, the ledger, households, reference tables and run records in
-- contracts/relations/<schema>.<name>.yaml (fupin.warehouse.relations); fupin.warehouse.build applies both.
create schema if not exists meta;
create schema if not exists core;
create schema if not exists marts;
