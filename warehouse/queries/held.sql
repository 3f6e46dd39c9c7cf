-- The submissions waiting for a person's decision, oldest first.
select submission_id, province_code, file_name, message from meta.submissions
where status = 'held' order by received_at
