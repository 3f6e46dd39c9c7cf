-- Every expected or received submission with its state: one row per province × dataset × period that the
-- reporting calendar expects or the ledger has, plus one per file refused before its dataset or years were read
-- and one per province whose source failed in the last run (dataset and period null).
-- expected_rows: the calendar's expectations (registered by the caller; empty without a calendar);
-- $failed: provinces failed in the last run.
-- The one source of a submission's state: marts.submission_status is this query as of a run; `fupin status`, the
-- run's artifact and the report's banner run it for today.
--   held       a submission for it waits for a person, even when the period was received before
--   failed     its latest file was refused whole (received_before: a failure in a period already received), or
--              nothing arrived and the province failed in the last run
--   discarded  its latest file was held and then discarded by a person
--   received / late   its latest file loaded; late when the first arrived after the due date
--   missing / pending nothing arrived, past / before the due date
with calendar as (
    select province_code, dataset, period, due_date from expected_rows
),
by_dataset as (
    select submission_id, province_code, status, received_at, years, file_name, message_code,
           unnest(string_split(dataset, ',')) as dataset
    from meta.submissions where dataset is not null and status <> 'duplicate'
),
covered as (
    select submission_id, province_code, status, received_at, file_name, message_code, dataset,
           cast(unnest(string_split(years, ',')) as integer) as period
    from by_dataset where years is not null
),
-- a file refused whole before its years were read counts against every period of its dataset
refused_dataset as (
    select submission_id, province_code, dataset, received_at, file_name
    from by_dataset where status = 'rejected' and years is null
),
events as (
    select province_code, dataset, period, submission_id, file_name, received_at,
           case when status in ('loaded', 'partially_loaded')
                  or (status = 'superseded' and coalesce(message_code, '') <> 'held_superseded') then 'received'
                when status in ('held', 'rejected', 'discarded') then status end as event
    from covered
),
keys as (
    select province_code, dataset, period from calendar
    union
    select province_code, dataset, period from events where event is not null
),
received as (
    select province_code, dataset, period, min(received_at) as first_received, max(received_at) as last_received,
           arg_max(submission_id, received_at) as submission_id, arg_max(file_name, received_at) as file_name
    from events where event = 'received' group by all
),
held as (
    select province_code, dataset, period, arg_max(submission_id, received_at) as submission_id,
           arg_max(file_name, received_at) as file_name, max(received_at) as at
    from events where event = 'held' group by all
),
refused as (
    select k.province_code, k.dataset, k.period, arg_max(e.submission_id, e.received_at) as submission_id,
           arg_max(e.file_name, e.received_at) as file_name, max(e.received_at) as at
    from keys as k
    join (select province_code, dataset, period, submission_id, file_name, received_at
          from events where event = 'rejected'
          union all
          select r.province_code, r.dataset, c.period, r.submission_id, r.file_name, r.received_at
          from refused_dataset as r join calendar as c using (province_code, dataset)) as e
      on e.province_code = k.province_code and e.dataset = k.dataset and e.period = k.period
    group by all
),
discarded as (
    select province_code, dataset, period, arg_max(submission_id, received_at) as submission_id,
           arg_max(file_name, received_at) as file_name, max(received_at) as at
    from events where event = 'discarded' group by all
),
judged as (
    select k.province_code, k.dataset, k.period, c.due_date, c.province_code is not null as expected,
           r.first_received, r.last_received,
           case when h.submission_id is not null then 'held'
                when x.at is not null and x.at >= coalesce(r.last_received, x.at) and x.at >= coalesce(d.at, x.at)
                     then 'failed'
                when d.at is not null and d.at >= coalesce(r.last_received, d.at) then 'discarded'
                when r.first_received is not null
                     then case when c.due_date is null
                                 or cast(timezone('Asia/Shanghai', r.first_received) as date) <= c.due_date
                               then 'received' else 'late' end
                when list_contains(cast($failed as varchar[]), k.province_code) then 'failed'
                when current_date > c.due_date then 'missing'
                else 'pending' end as status,
           coalesce(h.submission_id,
                    case when x.at >= coalesce(r.last_received, x.at) and x.at >= coalesce(d.at, x.at)
                         then x.submission_id end,
                    case when d.at >= coalesce(r.last_received, d.at) then d.submission_id end,
                    r.submission_id) as submission_id,
           coalesce(h.file_name,
                    case when x.at >= coalesce(r.last_received, x.at) and x.at >= coalesce(d.at, x.at)
                         then x.file_name end,
                    case when d.at >= coalesce(r.last_received, d.at) then d.file_name end,
                    r.file_name) as file_name,
           case when c.due_date is null then 0
                when r.first_received is not null
                     then greatest(cast(timezone('Asia/Shanghai', r.first_received) as date) - c.due_date, 0)
                when current_date > c.due_date then current_date - c.due_date
                else 0 end as days_late
    from keys as k
    left join calendar as c using (province_code, dataset, period)
    left join received as r using (province_code, dataset, period)
    left join held as h using (province_code, dataset, period)
    left join refused as x using (province_code, dataset, period)
    left join discarded as d using (province_code, dataset, period)
),
-- files refused whole before fupin knew their dataset, or their years outside the calendar's, while nothing of
-- the province (of that dataset) arrived after them; and provinces whose source failed in the last run
unplaced as (
    select s.province_code, s.dataset, cast(null as integer) as period, cast(null as date) as due_date,
           false as expected, cast(null as timestamptz) as first_received, cast(null as timestamptz) as last_received,
           'failed' as status, s.submission_id, s.file_name, 0 as days_late
    from meta.submissions as s
    where s.status = 'rejected' and (s.dataset is null or s.years is null)
      and not exists (select 1 from calendar as c where c.province_code = s.province_code
                      and list_contains(string_split(s.dataset, ','), c.dataset))
      and not exists (select 1 from meta.submissions as t where t.province_code = s.province_code
                      and t.received_at > s.received_at and t.status in ('loaded', 'partially_loaded', 'held')
                      and (s.dataset is null or t.dataset = s.dataset))
    union all
    select f.province_code, null, null, null, false, null, null, 'failed', null, null, 0
    from (select unnest(cast($failed as varchar[])) as province_code) as f
),
everything as (
    select province_code, dataset, period, due_date, expected, first_received, last_received, status,
           submission_id, file_name, days_late from judged
    union all
    select * from unplaced
)
select e.province_code, p.province_name, e.dataset, d.name_zh as dataset_name, e.period, e.due_date, e.status,
       s.name_zh as status_name, e.days_late, e.last_received, e.expected,
       e.status in ('held', 'failed', 'discarded') and e.first_received is not null as received_before,
       e.first_received, e.submission_id, e.file_name
from everything as e
left join core.dim_province as p using (province_code)
left join core.labels as d on d.kind = 'dataset' and d.code = e.dataset
left join core.labels as s on s.kind = 'calendar_status' and s.code = e.status
order by e.province_code, e.dataset nulls first, e.period nulls first
