-- The submissions received from $since on (null: all), by province as received.
select submission_id, province_code, file_name, dataset, status, rows_loaded, rows_rejected, message
from meta.submissions
where $since is null or received_at >= $since
order by province_code, received_at, file_name
