-- Schemas and tables of the warehouse contract (design.md). Idempotent: run at every load.
create schema if not exists meta;
create schema if not exists core;
create schema if not exists marts;

create table if not exists meta.submissions (
    submission_id varchar primary key,
    province_code varchar not null,
    dataset varchar,
    file_name varchar not null,
    source_path varchar,
    sha256 varchar not null,
    received_at timestamptz not null,
    status varchar not null,
    years varchar,
    rows_total integer not null,
    rows_loaded integer not null,
    rows_rejected integer not null,
    message varchar,
    raw_path varchar
);
comment on table meta.submissions is 'The submission ledger: one row per file received, whatever became of it (loaded, partially_loaded, rejected, superseded, duplicate).';
comment on column meta.submissions.submission_id is 'Stable id of the received file: province code and a hash of its path and content.';
comment on column meta.submissions.province_code is '2-digit code of the submitting province (the source''s, never guessed from the file).';
comment on column meta.submissions.dataset is 'Dataset(s) recognised in the file: fund_allocation, poverty_status, social_org_project, training.';
comment on column meta.submissions.file_name is 'File name as the province sent it.';
comment on column meta.submissions.source_path is 'Path of the file relative to the province''s source.';
comment on column meta.submissions.sha256 is 'SHA-256 of the file''s bytes; the raw archive keeps the file under this name.';
comment on column meta.submissions.received_at is 'When fupin first received the file (UTC).';
comment on column meta.submissions.status is 'loaded, partially_loaded (some rows rejected), rejected (nothing loaded), superseded (replaced by a newer submission), duplicate (same content received before).';
comment on column meta.submissions.years is 'Years the submission''s facts cover, comma-separated.';
comment on column meta.submissions.rows_total is 'Data rows read (loaded + rejected); title, header, total and footer rows are not counted.';
comment on column meta.submissions.rows_loaded is 'Data rows loaded into core tables.';
comment on column meta.submissions.rows_rejected is 'Data rows rejected; see meta.rejections.';
comment on column meta.submissions.message is 'Why the file was rejected, or notes on rejected rows and checks (e.g. a 合计 row that does not add up).';
comment on column meta.submissions.raw_path is 'Where the unchanged file lies in the raw archive.';

create table if not exists meta.rejections (
    submission_id varchar not null,
    row_number integer,
    field varchar,
    value varchar,
    reason varchar not null
);
comment on table meta.rejections is 'One row per problem found: a rejected row (row_number as the submitter sees it in the sheet) or a rejected file (row_number null). A row with several problems has several rows.';
comment on column meta.rejections.submission_id is 'The submission the row came from (meta.submissions).';
comment on column meta.rejections.row_number is 'Row number as the submitter sees it: the Excel row, the CSV line, the JSON record; null when the whole file was rejected.';
comment on column meta.rejections.field is 'Canonical field that failed (e.g. county, amount_yuan, poor_population).';
comment on column meta.rejections.value is 'The value as submitted.';
comment on column meta.rejections.reason is 'Why it was rejected, in words a clerk can act on.';

create table if not exists meta.header_mappings (
    submission_id varchar not null,
    sheet varchar,
    submitted_header varchar not null,
    column_name varchar,
    matched_by varchar not null
);
comment on table meta.header_mappings is 'One row per submitted header of a submission''s tables: how fupin read it.';
comment on column meta.header_mappings.submission_id is 'The submission (meta.submissions).';
comment on column meta.header_mappings.sheet is 'Sheet of the workbook; empty for a CSV or JSON file.';
comment on column meta.header_mappings.submitted_header is 'The header as submitted (header rows joined with /).';
comment on column meta.header_mappings.column_name is 'Canonical column or header field it was read as (amount_yuan[type/level] for a wide fund column); null when not understood.';
comment on column meta.header_mappings.matched_by is 'exact (the canonical name), synonym (the contract''s), operator (headers.yaml), words (scored meaning-bearing words), wide (fund type and level in the heading), unknown or ambiguous.';

-- The fact tables core.fct_<dataset>_history and their current views core.fct_<dataset> are generated from
-- warehouse/contracts/<dataset>.yaml (warehouse.contracts.Contract.ddl), applied after this file.

-- Households stay in the lake: tens of millions of rows are read where they lie (warehouse.build
-- makes core.fct_household_history a view over the files listed here), so a nightly run copies
-- and swaps a small warehouse file, and a registry loads in the time it takes to list its counties.
create table if not exists core.household_registry_history (
    province_code varchar not null,
    year integer not null,
    county_code varchar not null,
    submission_id varchar not null,
    lake_file varchar not null,
    households bigint not null,
    persons bigint not null,
    valid_from timestamptz not null,
    valid_to timestamptz
);
comment on table core.household_registry_history is 'Every version of core.household_registry with its validity (valid_from, valid_to); Household registries loaded, one row per submission × county: the lake file its households are read from.';
comment on column core.household_registry_history.province_code is '2-digit code of the submitting province.';
comment on column core.household_registry_history.year is 'Year the registry describes (its end).';
comment on column core.household_registry_history.county_code is 'Current 6-digit county code.';
comment on column core.household_registry_history.submission_id is 'Submission the registry came in.';
comment on column core.household_registry_history.lake_file is 'Absolute path of the Parquet file in the lake holding the households (pseudonymised).';
comment on column core.household_registry_history.households is 'Households of the county in that file.';
comment on column core.household_registry_history.persons is 'Household members of the county in that file, persons.';
comment on column core.household_registry_history.valid_from is 'When the submission was received: its households are valid from then.';
comment on column core.household_registry_history.valid_to is 'When a newer registry of the same county × year replaced it; null while current.';
create or replace view core.household_registry as
    select * exclude (valid_from, valid_to) from core.household_registry_history where valid_to is null;
