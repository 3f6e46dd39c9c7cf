-- How one submission's headers were read.
select sheet, submitted_header, column_name, matched_by, source from meta.header_mappings
where submission_id = $submission_id
