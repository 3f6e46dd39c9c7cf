-- description: 'one row per headline indicator × scope × period: what a briefing opens with, and what `fupin run`, `fupin indicators --headline`, the nightly report and the Prefect artifact show'
-- columns:
--   ordinal: Position of the indicator in the printed indicator table (core.indicator_definition).
--   indicator: Indicator id (core.indicator_definition).
--   indicator_name: The indicator's Chinese name (core.indicator_definition.name).
--   scope_code: Area code (core.area), area part 'area:province', or the code of a county whose area shows its counties (the Ministry's designated counties).
--   scope_name: Name of the area, area part or county.
--   period: Year 'yyyy' or span 'yyyy-yyyy'.
--   value: The figure, DECIMAL(38, 6), in the unit given (marts.indicators.value).
--   unit: Unit of value.
--   unit_name: The unit in Chinese (元, 比例, 人, 个, 期, 是/否).
--   definition: How the indicator is computed.
--   counties_expected: 'Counties the figure needs for its period (marts.indicators.counties_expected); NULL for a county''s row and for indicators counted from lists of events.'
--   counties_covered: Of them, those the figure holds (marts.indicators.counties_covered).
--   missing_counties: Names of the counties it lacks, ordered by code (marts.indicators.missing_counties).
--   missing_county_codes: Codes of the counties it lacks, ordered by code (marts.indicators.missing_county_codes).
--   coverage_note: 'NULL when complete; else what it lacks, ''17/23 县，缺湖南省 6 县'' (marts.indicators.coverage_note). A headline figure with a note fails the data test assert_headline_figures_complete.'
with indicators as (
    select * from marts.indicators
),
definitions as (
    select * from core.indicator_definition
),
designated as (
    select county_code from core.area_county where area_code in (select area_code from core.area where show_counties)
),
framed as (
    select *,
           regexp_full_match(scope_code, '[0-9]{6}') as is_county,
           min(period) filter (where period not like '%-%') over (partition by indicator, scope_code) as first_period,
           max(period) filter (where period not like '%-%') over (partition by indicator, scope_code) as last_period
    from indicators
),
chosen as (
    -- areas and the designated counties only; every multi-year span (totals, growth); for an area the first
    -- and last year of each yearly series except the funds (their spans say it); for a county its last year
    select d.ordinal, f.indicator, f.indicator_name, f.scope_code, f.scope_name, f.period, f.value, f.unit,
           f.unit_name, f.definition, f.counties_expected, f.counties_covered, f.missing_counties,
           f.missing_county_codes, f.coverage_note
    from framed as f
    join definitions as d using (indicator)
    where (not f.is_county or f.scope_code in (select county_code from designated))
      and (
          f.period like '%-%'
          or (
              not f.is_county and f.period in (f.first_period, f.last_period)
              and f.indicator not in ('civil_affairs_funds', 'central_budget_investment', 'lottery_welfare_funds_central')
          )
          or (f.is_county and f.period = f.last_period)
      )
)
select * from chosen
order by ordinal, scope_code, period
