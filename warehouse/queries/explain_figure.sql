-- One published figure (marts.indicators, every column: coverage too where the mart has it) with its definition.
select *
from marts.indicators
where indicator = $indicator and scope_code = $scope and period = $period
