-- One published figure (marts.indicators, every column: coverage too where the mart has it) with its definition's
-- row (core.indicator_definition, as a struct: definition_zh where the warehouse has it).
select i.*, d as definition_row
from marts.indicators as i
left join core.indicator_definition as d using (indicator)
where i.indicator = $indicator and i.scope_code = $scope and i.period = $period
