-- Rule: every headline figure covers all the counties its definition needs for its period (marts.headline:
-- counties_covered = counties_expected); one that lacks counties is published with its coverage_note, and the run
-- that built it is reported as needing attention.
select *
from marts.headline
where counties_covered < counties_expected
