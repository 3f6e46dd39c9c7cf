-- How many rejected rows the submissions $ids have (the report and `submissions --id` list the first ones).
select count(*) as rejections from meta.rejections where submission_id in (select unnest($ids))
