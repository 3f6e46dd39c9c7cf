-- The reporting calendar beside the ledger: one row per expected province × dataset × period.
-- expected_rows: the calendar's expectations (registered by the caller); ?: provinces failed in the last run.
-- marts.submission_status is this query as of a run; `fupin status` runs it for today.
with calendar as (
    select * from expected_rows
),
by_dataset as (
    select submission_id, province_code, status, received_at, years,
           unnest(string_split(dataset, ',')) as dataset
    from meta.submissions where dataset is not null
),
covered as (
    select submission_id, province_code, status, received_at, dataset,
           cast(unnest(string_split(years, ',')) as integer) as period
    from by_dataset where years is not null
),
received as (
    select province_code, dataset, period, min(received_at) as first_received, max(received_at) as last_received
    from covered where status in ('loaded', 'partially_loaded', 'superseded')
    group by province_code, dataset, period
),
held as (
    select distinct province_code, dataset, period from covered where status = 'held'
),
rejected as (
    select distinct province_code, dataset from by_dataset where status = 'rejected'
),
judged as (
    select c.province_code, p.province_name, c.dataset, c.period, c.due_date,
           r.first_received, r.last_received,
           case when r.first_received is not null
                     then case when cast(timezone('Asia/Shanghai', r.first_received) as date) <= c.due_date
                               then 'received' else 'late' end
                when h.province_code is not null then 'held'
                when x.province_code is not null or list_contains(?, c.province_code) then 'failed'
                when current_date > c.due_date then 'missing'
                else 'pending' end as status,
           case when r.first_received is not null
                     then greatest(cast(timezone('Asia/Shanghai', r.first_received) as date) - c.due_date, 0)
                when current_date > c.due_date then current_date - c.due_date
                else 0 end as days_late
    from calendar as c
    left join core.dim_province as p using (province_code)
    left join received as r using (province_code, dataset, period)
    left join held as h using (province_code, dataset, period)
    left join rejected as x using (province_code, dataset)
)
select j.province_code, j.province_name, j.dataset, d.name_zh as dataset_name, j.period, j.due_date, j.status,
       s.name_zh as status_name, j.days_late, j.last_received
from judged as j
left join core.labels as d on d.kind = 'dataset' and d.code = j.dataset
left join core.labels as s on s.kind = 'calendar_status' and s.code = j.status
order by j.province_code, j.dataset, j.period
