-- Each area's average growth of civil-affairs funds, where published (a growth over an incomplete span is not).
select scope_code, period, value from marts.indicators
where indicator = 'civil_affairs_funds_growth' and scope_code in (select area_code from core.area)
  and value is not null
