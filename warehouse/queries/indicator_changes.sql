-- Each change to a published figure (marts.indicator_changes) from $since on (null: all), first publications left out.
select changed_at, indicator, indicator_name, scope_code, scope_name, period, value_before,
       value_after, unit, submissions
from marts.indicator_changes
where value_before is not null and ($since is null or changed_at >= $since)
order by changed_at, indicator, scope_code, period
