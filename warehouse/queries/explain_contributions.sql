-- The contributions to one published figure (marts.indicator_lineage): by county (or prefecture), year and the rest
-- of the grain,
-- each with its submission, file, sheet, row, header and unit.
select role, dataset, value_column, county_code, county_name, prefecture_code, prefecture_name, province_code, year, fund_type,
       fund_level, organisation, project, programme, value, submission_id, file_name, sheet, source_row, source_unit, unit_factor,
       source_value, submitted_header, header_read_as, header_matched_by, unit_stated
from marts.indicator_lineage
where indicator = $indicator and scope_code = $scope and period = $period
order by role, county_code, prefecture_code, year, fund_type, fund_level, organisation, project, programme, value_column
