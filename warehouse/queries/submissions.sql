-- The submission ledger by province, as received.
select submission_id, province_code, file_name, dataset, status, rows_total, rows_loaded, rows_rejected, message
from meta.submissions
order by province_code, received_at, file_name
