-- The areas, in their order (core.area).
select area_code, area_name, show_counties from core.area order by rowid
