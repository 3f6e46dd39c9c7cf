-- description: 'one row per contribution to a published area or county figure of marts.indicators (indicator × scope × period): the fact that feeds it, at the indicator''s grain (county or prefecture × year, and fund type × level, organisation × project, programme where the dataset has them), with the submission, the file as received, the sheet and row it was read from, how its header was read and the unit it was written in. role sum: the figure is the sum of its contributions, exactly (DECIMAL); count: each contribution counts 1; first_year / last_year: the two years'' amounts a growth rate is computed from; numerator / denominator: the persons a rate is computed from (incidence = Σ numerator ÷ Σ denominator; below_exit_threshold: numerator < threshold × denominator). Covers the fund indicators and their growth, poverty, social organisations'' funds landed, trainings, social-service projects and direct aid paid; not the distinct counts (organisations, households, villages, townships) nor the grants per household. fupin explain reads it.'
-- columns:
--   indicator: Indicator id, as in marts.indicators.
--   scope_code: County code, area code or area part 'area:province', as in marts.indicators.
--   period: Year 'yyyy' or span 'yyyy-yyyy', as in marts.indicators.
--   role: 'sum (part of the sum), count (counts 1), first_year / last_year (a growth rate''s inputs), numerator / denominator (a rate''s inputs).'
--   dataset: The dataset of the fact (fund_allocation, poverty_status, social_org_project, training, social_service_project, household_grant).
--   value_column: 'The fact''s column the value is (amount_yuan, poor_population, rural_population, lifted_population, sessions, trainees …; project for a count).'
--   county_code: Current 6-digit county code of the fact; null for a fact about a whole prefecture.
--   county_name: County name (core.dim_county); null for a fact about a whole prefecture.
--   prefecture_code: Prefecture of a fact about a whole prefecture (a training held for 凉山州); null otherwise.
--   prefecture_name: That prefecture's name (core.dim_prefecture); null otherwise.
--   province_code: 2-digit code of the submitting province.
--   year: Year of the fact.
--   fund_type: Fund type of a fund fact (civil_affairs, lottery_welfare, central_budget_investment); null otherwise.
--   fund_level: Fund level of a fund fact (central, provincial …); null otherwise.
--   organisation: Organisation of a social organisation's or social-service project; null otherwise.
--   project: Project of a social organisation or social-service project; null otherwise.
--   programme: Programme of a training or of direct aid (“十百千”); null otherwise.
--   value: 'The contribution, DECIMAL(38, 6), in the indicator''s base unit (yuan, persons): the fact''s value as stored.'
--   submission_id: Submission the fact came from (meta.submissions).
--   file_name: File name as the province sent it (meta.submissions.file_name).
--   sheet: "Sheet of the workbook the row was read from; null for a CSV or JSON file. A fact loaded before sheets were kept: its submission's one sheet, null when its headers were read from several."
--   source_row: Row number in that sheet or file (1 = the first line).
--   source_unit: 'The unit the amount was written in (万元, 元 …); null when none was stated (read as 元) or the value is persons.'
--   unit_factor: 'Yuan per unit of source_unit (万元: 10000); 1 when nothing was converted.'
--   source_value: 'The number as written in the file: value ÷ unit_factor (2800 for 28,000,000 元 written in 万元).'
--   submitted_header: The header of the column the value was read from, as submitted (header rows joined with /).
--   header_read_as: What fupin read that header as (meta.header_mappings.column_name, e.g. amount_yuan[civil_affairs/central]).
--   header_matched_by: How the header was matched (meta.header_mappings.matched_by).
--   unit_stated: Where a unit was stated outside the column's header (a 单位 row, the title or the file name); null when none.
with area_county as (
    select * from core.area_county
),
counties as (
    select * from core.dim_county
),
thresholds as (
    select * from core.exit_threshold
),
submissions as (
    select submission_id, file_name from meta.submissions
),
mappings as (
    select * from meta.header_mappings
),
-- the fund indicators and the facts each counts (marts.indicators: fund_series)
fund_facts as (
    select case
               when fund_type = 'civil_affairs' and fund_level in ('central', 'provincial') then 'civil_affairs_funds'
               when fund_type = 'central_budget_investment' and fund_level = 'central' then 'central_budget_investment'
               when fund_type = 'lottery_welfare' and fund_level = 'central' then 'lottery_welfare_funds_central'
           end as indicator,
           *
    from core.fct_fund_allocation
),
fund_in_area as (
    select a.area_code, f.*
    from fund_facts as f
    join area_county as a
        on a.county_code = f.county_code and f.year between coalesce(a.from_year, f.year) and coalesce(a.to_year, f.year)
),
-- an area's parts by province only where its funds span provinces (marts.fund_by_area)
fund_multi_province as (
    select area_code from fund_in_area group by area_code having count(distinct province_code) > 1
),
fund_scoped as (
    select area_code as scope_code, * from fund_in_area where indicator is not null
    union all
    select area_code || ':' || province_code, * from fund_in_area
    where indicator is not null and area_code in (select area_code from fund_multi_province)
),
fund_spans as (
    select indicator, scope_code, min(year) as y0, max(year) as y1
    from fund_scoped
    group by indicator, scope_code
    having min(year) < max(year)
),
fund_contributions as (
    select indicator, scope_code, cast(year as varchar) as period, 'sum' as role, f.*
    from fund_scoped as f
    union all
    select f.indicator, f.scope_code, s.y0 || '-' || s.y1, 'sum', f.*
    from fund_scoped as f
    join fund_spans as s using (indicator, scope_code)
    union all
    select 'civil_affairs_funds_growth', f.scope_code, s.y0 || '-' || s.y1,
           case when f.year = s.y0 then 'first_year' else 'last_year' end, f.*
    from fund_scoped as f
    join fund_spans as s using (indicator, scope_code)
    where f.indicator = 'civil_affairs_funds' and f.year in (s.y0, s.y1)
),
funds as (
    select indicator, scope_code, period, role, 'fund_allocation' as dataset, 'amount_yuan' as value_column,
           county_code, null::varchar as prefecture_code, province_code, year, fund_type, fund_level,
           null::varchar as organisation, null::varchar as project, null::varchar as programme,
           cast(amount_yuan as decimal(38, 6)) as value, submission_id, source_sheet, source_row, source_unit
    from fund_contributions
),
-- poverty: the counties marts.poverty_by_county keeps (a known county of a region with a threshold)
poverty_facts as (
    select s.*
    from core.fct_poverty_status as s
    join counties as c using (county_code)
    join thresholds as t using (region)
),
poverty_in_area as (
    select a.area_code, p.*
    from poverty_facts as p
    join area_county as a
        on a.county_code = p.county_code and p.year between coalesce(a.from_year, p.year) and coalesce(a.to_year, p.year)
),
poverty_multi_province as (
    select area_code from poverty_in_area group by area_code having count(distinct province_code) > 1
),
poverty_scoped as (
    select county_code as scope_code, false as is_area, * from poverty_facts
    union all
    select area_code, true, * exclude (area_code) from poverty_in_area
    union all
    select area_code || ':' || province_code, true, * exclude (area_code) from poverty_in_area
    where area_code in (select area_code from poverty_multi_province)
),
-- each indicator's inputs: (indicator, role, column); below_exit_threshold is published for counties only
poverty_inputs as (
    select * from (
        values ('poverty_incidence', 'numerator', 'poor_population', true),
               ('poverty_incidence', 'denominator', 'rural_population', true),
               ('poor_population', 'sum', 'poor_population', true),
               ('lifted_population', 'sum', 'lifted_population', true),
               ('below_exit_threshold', 'numerator', 'poor_population', false),
               ('below_exit_threshold', 'denominator', 'rural_population', false)
    ) as t (indicator, role, value_column, for_areas)
),
poverty as (
    select i.indicator, p.scope_code, cast(p.year as varchar) as period, i.role, 'poverty_status' as dataset,
           i.value_column, p.county_code, null::varchar as prefecture_code, p.province_code, p.year,
           null::varchar as fund_type, null::varchar as fund_level, null::varchar as organisation,
           null::varchar as project, null::varchar as programme,
           cast(case i.value_column
                    when 'poor_population' then p.poor_population
                    when 'rural_population' then p.rural_population
                    else p.lifted_population
                end as decimal(38, 6)) as value,
           p.submission_id, p.source_sheet, p.source_row, p.source_unit
    from poverty_scoped as p
    join poverty_inputs as i on i.for_areas or not p.is_area
),
-- social organisations' funds landed, per county (marts.social_org_by_county) and per area
social_facts as (
    select s.* from core.fct_social_org_project as s join counties as c using (county_code)
),
social as (
    select 'social_org_funds_landed' as indicator, county_code as scope_code, cast(year as varchar) as period,
           'sum' as role, 'social_org_project' as dataset, 'amount_yuan' as value_column, county_code,
           null::varchar as prefecture_code, province_code, year, null::varchar as fund_type,
           null::varchar as fund_level, organisation, project, null::varchar as programme,
           cast(amount_yuan as decimal(38, 6)) as value, submission_id, source_sheet, source_row, source_unit
    from social_facts
    union all
    select 'social_org_funds_landed', a.area_code, cast(p.year as varchar), 'sum', 'social_org_project',
           'amount_yuan', p.county_code, null, p.province_code, p.year, null, null, p.organisation, p.project, null,
           cast(p.amount_yuan as decimal(38, 6)), p.submission_id, p.source_sheet, p.source_row, p.source_unit
    from core.fct_social_org_project as p
    join area_county as a
        on a.county_code = p.county_code and p.year between coalesce(a.from_year, p.year) and coalesce(a.to_year, p.year)
),
-- trainings and social-service projects: held in (or serving) a county or a whole prefecture the area holds
-- (core.area_place, as marts.training_by_area and marts.social_service_by_area place them)
training_placed as (
    select a.area_code, t.*
    from core.fct_training as t
    join core.area_place as a
        on a.place_code = coalesce(t.county_code, t.prefecture_code)
        and t.year between coalesce(a.from_year, t.year) and coalesce(a.to_year, t.year)
),
training_inputs as (
    select * from (
        values ('training_sessions', 'sessions'),
               ('training_trainees', 'trainees'),
               ('training_trainees_poor', 'trainees_poor'),
               ('training_organisations', 'organisations'),
               ('training_projects_paired', 'projects_paired')
    ) as t (indicator, value_column)
),
training as (
    select i.indicator, t.area_code as scope_code, cast(t.year as varchar) as period, 'sum' as role,
           'training' as dataset, i.value_column, t.county_code, t.prefecture_code, t.province_code, t.year,
           null::varchar as fund_type, null::varchar as fund_level, null::varchar as organisation,
           null::varchar as project, t.programme,
           cast(case i.value_column
                    when 'sessions' then t.sessions
                    when 'trainees' then t.trainees
                    when 'trainees_poor' then t.trainees_poor
                    when 'organisations' then t.organisations
                    else t.projects_paired
                end as decimal(38, 6)) as value,
           t.submission_id, t.source_sheet, t.source_row, t.source_unit
    from training_placed as t
    cross join training_inputs as i
),
service_placed as (
    select a.area_code, p.*
    from core.fct_social_service_project as p
    join core.area_place as a
        on a.place_code = coalesce(p.county_code, p.prefecture_code)
        and p.year between coalesce(a.from_year, p.year) and coalesce(a.to_year, p.year)
),
service_spans as (
    select area_code, min(year) as y0, max(year) as y1 from service_placed group by area_code having min(year) < max(year)
),
service_periods as (
    select p.*, cast(p.year as varchar) as period from service_placed as p
    union all
    select p.*, s.y0 || '-' || s.y1 from service_placed as p join service_spans as s using (area_code)
),
-- a project counts 1 (role count), its approved funds add up (role sum)
services as (
    select 'social_service_projects' as indicator, area_code as scope_code, period, 'count' as role,
           'social_service_project' as dataset, 'project' as value_column, county_code, prefecture_code,
           province_code, year, null::varchar as fund_type, null::varchar as fund_level, organisation, project,
           null::varchar as programme, cast(1 as decimal(38, 6)) as value, submission_id, source_sheet,
           source_row, null::varchar as source_unit
    from service_periods
    union all
    select 'social_service_funds', area_code, period, 'sum', 'social_service_project', 'amount_yuan', county_code,
           prefecture_code, province_code, year, null, null, organisation, project, null,
           cast(amount_yuan as decimal(38, 6)), submission_id, source_sheet, source_row, source_unit
    from service_periods
),
-- direct aid paid to households: each payment adds up (no household named: its file and row only)
grants as (
    select 'grant_funds' as indicator, a.area_code as scope_code, cast(g.year as varchar) as period, 'sum' as role,
           'household_grant' as dataset, 'amount_yuan' as value_column, g.county_code, null::varchar as prefecture_code,
           g.province_code, g.year, null::varchar as fund_type, null::varchar as fund_level,
           null::varchar as organisation, null::varchar as project, g.programme,
           cast(g.amount_yuan as decimal(38, 6)) as value, g.submission_id, g.source_sheet, g.source_row, g.source_unit
    from core.fct_household_grant as g
    join area_county as a
        on a.county_code = g.county_code and g.year between coalesce(a.from_year, g.year) and coalesce(a.to_year, g.year)
),
unioned as (
    select * from funds
    union all
    select * from poverty where value is not null
    union all
    select * from social where value is not null
    union all
    select * from training where value is not null
    union all
    select * from services where value is not null
    union all
    select * from grants where value is not null
),
-- a fact loaded before sheets were kept: its submission's sheet, when its headers were read from one sheet alone
one_sheet as (
    select submission_id, any_value(nullif(sheet, '')) as sheet
    from mappings
    group by submission_id
    having count(distinct coalesce(sheet, '')) = 1
),
located as (
    select u.* replace (coalesce(u.source_sheet, o.sheet) as source_sheet)
    from unioned as u
    left join one_sheet as o using (submission_id)
),
-- how the value's column was read: its header's mapping (a wide column's name carries the parts of the key it
-- gives: amount_yuan[civil_affairs/central], amount_yuan[2016])
headers as (
    select u.submission_id, u.source_sheet, u.value_column, u.year, u.fund_type, u.fund_level,
           string_agg(m.submitted_header, '；' order by m.submitted_header) as submitted_header,
           string_agg(m.column_name, '；' order by m.submitted_header) as header_read_as,
           string_agg(distinct m.matched_by, '；') as header_matched_by
    from (select distinct submission_id, source_sheet, value_column, year, fund_type, fund_level from located) as u
    join mappings as m
        on m.submission_id = u.submission_id and coalesce(m.sheet, '') = coalesce(u.source_sheet, '')
        and (
            m.column_name = u.value_column
            or (u.value_column = 'amount_yuan' and m.column_name = 'amount')  -- a long form's amount: its field
            or (
                m.matched_by = 'wide' and m.column_name like u.value_column || '[%'
                and list_has_all(
                    [cast(u.year as varchar), u.fund_type, u.fund_level],
                    string_split(regexp_extract(m.column_name, '\[(.*)\]', 1), '/')
                )
            )
        )
    group by all
),
units_stated as (
    select submission_id, coalesce(sheet, '') as sheet,
           string_agg(submitted_header || '（' || coalesce(source, '') || '）', '；' order by submitted_header) as unit_stated
    from mappings
    where column_name = 'unit'
    group by all
),
described as (
    select u.indicator, u.scope_code, u.period, u.role, u.dataset, u.value_column, u.county_code,
           c.county_name, u.prefecture_code, pf.prefecture_name, u.province_code, u.year,
           u.fund_type, u.fund_level, u.organisation, u.project, u.programme, u.value, u.submission_id,
           s.file_name, u.source_sheet as sheet, u.source_row, u.source_unit,
           case u.source_unit when '千元' then 1000 when '万元' then 10000
                              when '亿元' then 100000000 else 1 end as unit_factor,
           h.submitted_header, h.header_read_as, h.header_matched_by, us.unit_stated
    from located as u
    left join counties as c using (county_code)
    left join core.dim_prefecture as pf on pf.prefecture_code = u.prefecture_code
    left join submissions as s using (submission_id)
    left join headers as h
        on h.submission_id = u.submission_id and h.source_sheet is not distinct from u.source_sheet
        and h.value_column = u.value_column and h.year = u.year
        and h.fund_type is not distinct from u.fund_type and h.fund_level is not distinct from u.fund_level
    left join units_stated as us on us.submission_id = u.submission_id and us.sheet = coalesce(u.source_sheet, '')
),
published as (
    -- only figures marts.indicators publishes (a rate over no persons is not one)
    select d.*, cast(d.value / d.unit_factor as decimal(38, 6)) as source_value
    from described as d
    semi join marts.indicators as i using (indicator, scope_code, period)
)
select indicator, scope_code, period, role, dataset, value_column, county_code, county_name, prefecture_code,
       prefecture_name, province_code, year, fund_type, fund_level, organisation, project, programme, value, submission_id, file_name, sheet, source_row,
       source_unit, unit_factor, source_value, submitted_header, header_read_as, header_matched_by, unit_stated
from published
order by indicator, scope_code, period, role, county_code, prefecture_code, year, fund_type, fund_level, organisation,
         project, programme
