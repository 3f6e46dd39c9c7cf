-- Rule: every county code in a fact table exists in core.dim_county (foreign key).
with codes as (
    select county_code from core.fct_fund_allocation
    union select county_code from core.fct_poverty_status
    union select county_code from core.fct_social_org_project
    union select county_code from core.fct_training
    union select county_code from core.fct_household_grant
    union select county_code from core.fct_social_service_project
)
select county_code from codes
where county_code not in (select county_code from core.dim_county)
