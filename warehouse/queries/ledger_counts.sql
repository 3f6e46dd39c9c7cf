-- The ledger's submissions per status.
select status, count(*) as n from meta.submissions group by status order by status
