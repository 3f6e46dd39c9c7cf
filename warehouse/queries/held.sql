-- The submissions waiting for a person's decision, oldest first, with their province's name and kind.
select s.submission_id, s.province_code, p.province_name, s.file_name, s.kind, s.dataset, s.years, s.message,
       s.received_at
from meta.submissions as s
left join core.dim_province as p using (province_code)
where s.status = 'held' order by s.received_at
