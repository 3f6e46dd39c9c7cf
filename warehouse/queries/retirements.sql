-- What held submissions would retire if approved (meta.held_retirements), per submission × dataset × place:
-- the place's name, the years (2015–2017, or 2015、2017 when not consecutive), how many facts, and the rest of
-- their keys (民政事业费·中央 …). $ids: the submissions.
select r.submission_id, r.dataset, coalesce(r.county_code, r.prefecture_code) as place_code,
       coalesce(c.county_name, p.prefecture_name, r.county_code, r.prefecture_code) as place_name,
       min(r.year) as first_year, max(r.year) as last_year,
       case when min(r.year) = max(r.year) then cast(min(r.year) as varchar)
            when count(distinct r.year) = max(r.year) - min(r.year) + 1
                 then cast(min(r.year) as varchar) || '–' || cast(max(r.year) as varchar)
            else string_agg(distinct cast(r.year as varchar), '、' order by cast(r.year as varchar)) end as years,
       count(*) as rows,
       coalesce(string_agg(distinct nullif(r.key_detail, ''), '、' order by nullif(r.key_detail, '')), '')
           as details
from meta.held_retirements as r
left join core.dim_county as c on c.county_code = r.county_code
left join core.dim_prefecture as p on p.prefecture_code = r.prefecture_code
where list_contains(cast($ids as varchar[]), r.submission_id)
group by r.submission_id, r.dataset, r.county_code, r.prefecture_code, c.county_name, p.prefecture_name
order by r.submission_id, r.dataset, place_code
