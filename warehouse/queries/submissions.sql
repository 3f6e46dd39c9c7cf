-- The submission ledger by province, as received; each filter applies when given (null: all):
-- $statuses (a list of status codes), $province (a code), $since (received from then on).
select s.submission_id, s.province_code, s.file_name, s.dataset, s.kind, s.status, s.received_at, s.years,
       s.rows_total, s.rows_loaded, s.rows_rejected, s.message, s.message_code
from meta.submissions as s
where (cast($statuses as varchar[]) is null or list_contains(cast($statuses as varchar[]), s.status))
  and (cast($province as varchar) is null or s.province_code = cast($province as varchar))
  and (cast($since as timestamptz) is null or s.received_at >= cast($since as timestamptz))
order by s.province_code, s.received_at, s.file_name
