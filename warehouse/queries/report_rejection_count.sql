-- How many rejected rows the submissions $ids have (report_rejections lists the first ones).
select count(*) as rejections from meta.rejections where submission_id in (select unnest($ids))
