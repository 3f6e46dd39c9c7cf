-- One submission's rejected rows, file-level rejections first; the first $limit.
select row_number, field, value, reason, reason_code from meta.rejections
where submission_id = $submission_id
order by row_number nulls first
limit $limit
