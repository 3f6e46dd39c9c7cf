-- Each area's average growth of civil-affairs funds.
select scope_code, period, value from marts.indicators
where indicator = 'civil_affairs_funds_growth' and scope_code in (select area_code from core.area)
