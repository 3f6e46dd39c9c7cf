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
    raw_path varchar,
    kind varchar default 'correction',
    applied_at timestamptz,
    message_code varchar
);
comment on table meta.submissions is 'The submission ledger: one row per file received, whatever became of it (loaded, partially_loaded, rejected, superseded, duplicate).';
comment on column meta.submissions.submission_id is 'Stable id of the received file: province code and a hash of its path and content.';
comment on column meta.submissions.province_code is '2-digit code of the submitting province (the source''s, never guessed from the file).';
comment on column meta.submissions.dataset is 'Dataset(s) recognised in the file: fund_allocation, poverty_status, social_org_project, training.';
comment on column meta.submissions.file_name is 'File name as the province sent it.';
comment on column meta.submissions.source_path is 'Path of the file relative to the province''s source.';
comment on column meta.submissions.sha256 is 'SHA-256 of the file''s bytes; the raw archive keeps the file under this name.';
comment on column meta.submissions.received_at is 'When fupin first received the file (UTC).';
comment on column meta.submissions.status is 'loaded, partially_loaded (some rows rejected), rejected (nothing loaded), superseded (replaced by a newer submission), duplicate (same content received before), held (would lower a published total beyond the shrink guard: waits for fupin approve / discard), discarded (a held submission a person closed without applying).';
comment on column meta.submissions.years is 'Years the submission''s facts cover, comma-separated.';
comment on column meta.submissions.rows_total is 'Data rows read (loaded + rejected); title, header, total and footer rows are not counted.';
comment on column meta.submissions.rows_loaded is 'Data rows loaded into core tables.';
comment on column meta.submissions.rows_rejected is 'Data rows rejected; see meta.rejections.';
comment on column meta.submissions.message is 'Why the file was rejected, or notes on rejected rows and checks (e.g. a 合计 row that does not add up).';
comment on column meta.submissions.raw_path is 'Where the unchanged file lies in the raw archive.';
comment on column meta.submissions.kind is 'correction (更正/补报: replaces only the keys it carries; the default) or full (全量重报: file name with 全量/重报, JSON envelope 报送类型 全量, or a source with mode: full; retires the keys of its province × years that it does not carry).';
comment on column meta.submissions.message_code is '消息代码（如 not_a_workbook、rows_rejected，供工程师和测试匹配）｜Stable machine code of the message, for engineers and tests; null when there is no message.';
comment on column meta.submissions.applied_at is 'When its facts took effect (its facts'' valid_from): on arrival, or when a person approved it; null while held, or if never applied.';

create table if not exists meta.rejections (
    submission_id varchar not null,
    row_number integer,
    field varchar,
    value varchar,
    reason varchar not null,
    reason_code varchar
);
comment on table meta.rejections is 'One row per problem found: a rejected row (row_number as the submitter sees it in the sheet) or a rejected file (row_number null). A row with several problems has several rows.';
comment on column meta.rejections.submission_id is 'The submission the row came from (meta.submissions).';
comment on column meta.rejections.row_number is 'Row number as the submitter sees it: the Excel row, the CSV line, the JSON record; null when the whole file was rejected.';
comment on column meta.rejections.field is 'Canonical field that failed (e.g. county, amount_yuan, poor_population).';
comment on column meta.rejections.value is 'The value as submitted.';
comment on column meta.rejections.reason is 'Why it was rejected, in words a clerk can act on.';
comment on column meta.rejections.reason_code is 'Stable machine code of the reason (e.g. county_name_code_mismatch), for engineers and tests; null for older rules.';

create table if not exists meta.decisions (
    submission_id varchar not null,
    decision varchar not null,
    decided_by varchar not null,
    decided_at timestamptz not null,
    reason varchar
);
comment on table meta.decisions is 'One row per decision a person took on a held submission (fupin approve / fupin discard).';
comment on column meta.decisions.submission_id is 'The held submission decided (meta.submissions).';
comment on column meta.decisions.decision is 'approved (its facts applied then) or discarded (closed without applying).';
comment on column meta.decisions.decided_by is 'Who decided: --by, or the operating system user.';
comment on column meta.decisions.decided_at is 'When the decision was taken (UTC).';
comment on column meta.decisions.reason is 'Why, as given with --reason (required to discard).';

create table if not exists marts.indicator_changes (
    changed_at timestamptz not null,
    run_id varchar not null,
    indicator varchar not null,
    scope_code varchar not null,
    scope_name varchar,
    period varchar not null,
    value_before decimal(38, 6),
    value_after decimal(38, 6),
    unit varchar,
    submissions varchar,
    indicator_name varchar
);
comment on table marts.indicator_changes is 'One row per published figure (indicator × scope × period) × run that changed it: the value before and after, and the submissions that caused it. Appended by every run; never rebuilt.';
comment on column marts.indicator_changes.changed_at is 'When the run published the new value (UTC).';
comment on column marts.indicator_changes.run_id is 'Prefect flow run id of the run (meta.runs).';
comment on column marts.indicator_changes.indicator is 'Indicator id (core.indicator_definition).';
comment on column marts.indicator_changes.indicator_name is 'Chinese name of the indicator (core.indicator_definition.name), as marts.indicators prints it.';
comment on column marts.indicator_changes.scope_code is 'County code, area code or area part, as in marts.indicators.';
comment on column marts.indicator_changes.scope_name is 'Name of the scope.';
comment on column marts.indicator_changes.period is 'Year or span, as in marts.indicators.';
comment on column marts.indicator_changes.value_before is 'Value published before the run; null when first published.';
comment on column marts.indicator_changes.value_after is 'Value published after the run; null when no longer published.';
comment on column marts.indicator_changes.unit is 'Unit of the values.';
comment on column marts.indicator_changes.submissions is 'Submissions applied in that run that feed this figure (its dataset, a province of its scope, a year of its period), comma-separated.';

create table if not exists meta.header_mappings (
    submission_id varchar not null,
    sheet varchar,
    submitted_header varchar not null,
    column_name varchar,
    matched_by varchar not null,
    source varchar
);
comment on table meta.header_mappings is 'One row per submitted header of a submission''s tables: how fupin read it.';
comment on column meta.header_mappings.submission_id is 'The submission (meta.submissions).';
comment on column meta.header_mappings.sheet is 'Sheet of the workbook; empty for a CSV or JSON file.';
comment on column meta.header_mappings.submitted_header is 'The header as submitted (header rows joined with /).';
comment on column meta.header_mappings.column_name is 'Canonical column or header field it was read as (amount_yuan[type/level] for a wide fund column; unit for a unit stated outside the header); null when not understood.';
comment on column meta.header_mappings.matched_by is 'exact (the canonical name), synonym (the contract''s), operator (headers.yaml), words (scored meaning-bearing words), wide (fund type and level in the heading), stated (a value the form states outside its header), unknown or ambiguous.';
comment on column meta.header_mappings.source is 'Where the value was read: header (a column heading), title (the rows above the header), file_name, metadata (a JSON envelope) or unit_row (a unit row under the header). For title and file_name, submitted_header is that text and column_name the field it gave (year, fund_type, fund_level, county, area, unit).';

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
comment on column core.household_registry_history.lake_file is 'Path of the Parquet file in the lake holding the households (pseudonymised), relative to the home (the folder of warehouse.duckdb): lake/household_registry/province=…/year=…/<submission_id>.parquet. Set file_search_path to the home to read core.fct_household.';
comment on column core.household_registry_history.households is 'Households of the county in that file.';
comment on column core.household_registry_history.persons is 'Household members of the county in that file, persons.';
comment on column core.household_registry_history.valid_from is 'When the submission was received: its households are valid from then.';
comment on column core.household_registry_history.valid_to is 'When a newer registry of the same county × year replaced it; null while current.';
create or replace view core.household_registry as
    select * exclude (valid_from, valid_to) from core.household_registry_history where valid_to is null;
