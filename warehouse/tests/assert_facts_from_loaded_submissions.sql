-- Rule: every fact comes from a submission the ledger holds as loaded or partially loaded.
with facts as (
    select distinct submission_id from core.fct_fund_allocation
    union select distinct submission_id from core.fct_poverty_status
    union select distinct submission_id from core.fct_social_org_project
    union select distinct submission_id from core.fct_training
)
select f.submission_id
from facts as f
left join meta.submissions as s using (submission_id)
where s.status is null or s.status not in ('loaded', 'partially_loaded')
