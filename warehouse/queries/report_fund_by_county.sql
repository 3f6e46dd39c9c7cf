-- Funds per county and year (marts.fund_by_county): the indicators' fund types and levels, and every fund.
select province_code, province_name, prefecture_name, county_code, county_name, year,
       array_to_string(any_value(area_names), '、') as areas,
       coalesce(sum(amount_yuan) filter (where fund_type = 'civil_affairs' and fund_level in ('central', 'provincial')),
                0) as civil_affairs_yuan,
       coalesce(sum(amount_yuan) filter (where fund_type = 'central_budget_investment' and fund_level = 'central'),
                0) as central_budget_investment_yuan,
       coalesce(sum(amount_yuan) filter (where fund_type = 'lottery_welfare' and fund_level = 'central'),
                0) as lottery_welfare_central_yuan,
       sum(amount_yuan) as all_funds_yuan
from marts.fund_by_county
group by province_code, province_name, prefecture_name, county_code, county_name, year
order by province_code, county_code, year
