-- One published figure's change history (marts.indicator_changes), first publication included, each change with
-- the submissions behind it (file names) and the decisions people took on them (meta.decisions).
with changes as (
    select changed_at, run_id, value_before, value_after, unit, submissions,
           coalesce(string_split(submissions, ','), []) as ids
    from marts.indicator_changes
    where indicator = $indicator and scope_code = $scope and period = $period
)
select c.changed_at, c.run_id, c.value_before, c.value_after, c.unit, c.ids as submission_ids,
       coalesce((select list(s.file_name order by s.submission_id) from meta.submissions as s
                 where list_contains(c.ids, s.submission_id)), []) as file_names,
       coalesce((select list({'submission_id': d.submission_id, 'decision': d.decision, 'decided_by': d.decided_by,
                              'decided_at': d.decided_at, 'reason': d.reason} order by d.decided_at)
                 from meta.decisions as d
                 where list_contains(c.ids, d.submission_id) and d.decided_at <= c.changed_at), []) as decisions
from changes as c
order by c.changed_at
