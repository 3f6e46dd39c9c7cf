-- When the first submission arrived (null: none yet).
select min(received_at) as first_received from meta.submissions
