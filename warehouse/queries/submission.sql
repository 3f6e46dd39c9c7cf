-- One submission of the ledger.
select submission_id, province_code, file_name, dataset, status, message, kind, received_at, years, rows_total,
       rows_loaded, rows_rejected, message_code
from meta.submissions where submission_id = $submission_id
