-- The submission ledger for a notebook (fupin.submissions), as received: every code with its Chinese name beside it
-- (a file holding several datasets lists them all: 贫困人口、培训). $ministry_code / $ministry_name: the Ministry's own
-- source, which is no province.
select
    s.submission_id,
    s.province_code,
    coalesce(p.province_name, case when s.province_code = $ministry_code then $ministry_name end) as province_name,
    s.file_name,
    s.dataset,
    (
        select string_agg(coalesce(l.name_zh, u.part), '、' order by u.i)
        from (
            select unnest(parts) as part, generate_subscripts(parts, 1) as i
            from (select string_split(s.dataset, ',') as parts)
        ) as u
        left join core.labels as l on l.kind = 'dataset' and l.code = u.part
    ) as dataset_name,
    s.kind,
    k.name_zh as kind_name,
    s.status,
    st.name_zh as status_name,
    s.received_at,
    s.applied_at,
    s.years,
    s.rows_total,
    s.rows_loaded,
    s.rows_rejected,
    s.message,
    s.message_code
from meta.submissions as s
left join core.dim_province as p on p.province_code = s.province_code
left join core.labels as k on k.kind = 'submission_kind' and k.code = s.kind
left join core.labels as st on st.kind = 'submission_status' and st.code = s.status
order by s.received_at, s.province_code, s.file_name
