-- One submission of the ledger.
select submission_id, province_code, file_name, dataset, status, message
from meta.submissions where submission_id = $submission_id
