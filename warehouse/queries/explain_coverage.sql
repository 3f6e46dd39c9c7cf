-- Which counties one figure covers: those the scope holds in the years of its period (an area, an area's part in
-- one province, or a county) against those with a contribution in marts.indicator_lineage; missing ones by name.
with bounds as (
    select cast(split_part($period, '-', 1) as integer) as y0,
           cast(coalesce(nullif(split_part($period, '-', 2), ''), split_part($period, '-', 1)) as integer) as y1
),
expected as (
    select distinct a.county_code
    from core.area_county as a, bounds as b
    where a.area_code = split_part($scope, ':', 1)
      and (not contains($scope, ':') or left(a.county_code, 2) = split_part($scope, ':', 2))
      and coalesce(a.from_year, b.y1) <= b.y1 and coalesce(a.to_year, b.y0) >= b.y0
    union
    select $scope where regexp_full_match($scope, '[0-9]{6}')
),
covered as (
    select distinct county_code
    from marts.indicator_lineage
    where indicator = $indicator and scope_code = $scope and period = $period
)
select (select count(*) from expected) as counties_expected,
       (select count(*) from expected semi join covered using (county_code)) as counties_covered,
       coalesce((select list(c.county_name order by e.county_code)
                 from expected as e anti join covered using (county_code)
                 left join core.dim_county as c using (county_code)), []) as missing_counties
