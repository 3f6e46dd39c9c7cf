-- The first $limit rejected rows of the submissions $ids, by province and file (rejection_count: all).
select s.file_name, r.row_number, r.field, r.value, r.reason, r.reason_code
from meta.rejections as r join meta.submissions as s using (submission_id)
where r.submission_id in (select unnest($ids))
order by s.province_code, s.file_name, r.row_number nulls first
limit $limit
