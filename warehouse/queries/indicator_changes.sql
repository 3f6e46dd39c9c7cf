-- Each change to a published figure (marts.indicator_changes) from $since on (null: all), first publications left out,
-- with the submissions behind it by name: sources (submission_id, province_name, file_name, kind, kind_name, each
-- as the ledger has it) and submission_names ('湖南省《file》（更正/补报）'), in the order of the ids.
with changes as (
    select changed_at, indicator, indicator_name, scope_code, scope_name, period, value_before, value_after, unit,
           submissions
    from marts.indicator_changes
    where value_before is not null and ($since is null or changed_at >= $since)
),
named as (
    select s.submission_id, s.province_code,
           coalesce(p.province_name, case when s.province_code = $ministry_code then $ministry_name end,
                    s.province_code) as province_name,
           s.file_name, s.kind, coalesce(k.name_zh, s.kind) as kind_name
    from meta.submissions as s
    left join core.dim_province as p on p.province_code = s.province_code
    left join core.labels as k on k.kind = 'submission_kind' and k.code = s.kind
)
select c.*,
       (select list({'submission_id': n.submission_id, 'province_code': n.province_code,
                     'province_name': n.province_name, 'file_name': n.file_name, 'kind': n.kind,
                     'kind_name': n.kind_name} order by n.submission_id)
        from named as n
        where list_contains(string_split(c.submissions, ','), n.submission_id)) as sources,
       (select list(n.province_name || '《' || n.file_name || '》（' || n.kind_name || '）' order by n.submission_id)
        from named as n
        where list_contains(string_split(c.submissions, ','), n.submission_id)) as submission_names
from changes as c
order by changed_at, indicator, scope_code, period
