-- How many figures were published for the first time from $since on (null: all).
select count(*) as n from marts.indicator_changes
where value_before is null and ($since is null or changed_at >= $since)
