-- The lake files the households' views read, as the warehouse names them (relative to the home).
select distinct lake_file from core.household_registry_history
