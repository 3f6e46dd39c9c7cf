"""The warehouse's schema version and the numbered steps that bring an older warehouse up to it.

``meta.schema_version`` holds one row: the version the warehouse's tables have, when it was reached and by
which fupin. Every load runs ``migrate`` inside its transaction, before the DDL (warehouse.build.apply_ddl):

- a new warehouse (no table yet) has nothing to migrate: the DDL creates it as ``CURRENT`` and stamps it;
- a warehouse at version n gets each step above n, in order, each stamped as it is done (a step runs once);
- a warehouse with tables and no version was written before versions existed: it is at version 0;
- a warehouse newer than the code is refused (``SchemaTooNew``, code ``schema_too_new``): nothing is written.

Readers assume the current shape: the nightly run migrates the warehouse even when nothing new arrived.
A column added to a dataset's contract needs no step (``evolve`` adds it to an existing warehouse at every
load). Any other change: change the DDL or the contract (which a new warehouse is created from) and append a
step here that ALTERs an existing warehouse to the same shape; ``CURRENT`` follows the last step. A step must
leave a warehouse already in its shape as it is: ledger copies (tasks/archive.py) carry no version and are
migrated from 0 whenever they are read.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from fupin.core.home import home_of, search_home
from fupin.core.messages import CODE_SQL, CodedError, message, render
from fupin.core.pseudonym import UUID_TYPE, from_legacy_hex, is_legacy, legacy_hex_sql
from fupin.warehouse.attribution import attribute
from fupin.warehouse.contracts import contracts
from fupin.warehouse.relations import of_build, relation

log = logging.getLogger(__name__)

# an absolute lake path as warehouses before version 1 could store it → the part from the home's lake folder on
LEGACY_ABSOLUTE = r"^.*/(lake/[^/]+/province=[^/]+/year=[^/]+/[^/]+)$"

SCHEMAS = ("meta", "core", "marts")


class SchemaTooNew(RuntimeError):
    """The warehouse was written by a newer fupin: this code does not know its shape and leaves it alone."""


@dataclass(frozen=True)
class Migration:
    number: int
    description: str
    apply: Callable[[duckdb.DuckDBPyConnection], None]


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    """Column name → DuckDB type of a base table; empty when there is no such table."""
    return dict(
        con.execute(
            "select column_name, data_type from duckdb_columns() where schema_name = ? and table_name = ? "
            "and table_name in (select table_name from duckdb_tables() where schema_name = ?)",
            [schema, table, schema],
        ).fetchall()
    )


def _before_versions(con: duckdb.DuckDBPyConnection) -> None:
    """Any shape fupin wrote before schema versions → version 1 (idempotent: a current shape is left as it is)."""
    submissions = _columns(con, "meta", "submissions")
    if submissions and "applied_at" not in submissions:  # before key-level revisions and held submissions
        con.execute("alter table meta.submissions add column kind varchar default 'correction'")
        con.execute("alter table meta.submissions add column applied_at timestamptz")
        # before held submissions existed, whatever loaded took effect on arrival
        con.execute(
            "update meta.submissions set applied_at = received_at "
            "where status in ('loaded', 'partially_loaded', 'superseded')"
        )
    if submissions and "message_code" not in submissions:  # before message codes: read from the message
        con.execute("alter table meta.submissions add column message_code varchar")
        con.execute(f"update meta.submissions set message_code = {CODE_SQL.format('message')}")
    rejections = _columns(con, "meta", "rejections")
    if rejections and "reason_code" not in rejections:
        con.execute("alter table meta.rejections add column reason_code varchar")
    mappings = _columns(con, "meta", "header_mappings")
    if mappings and "source" not in mappings:
        con.execute("alter table meta.header_mappings add column source varchar")
        con.execute("update meta.header_mappings set source = 'header'")  # before, only headers were read
    changes = _columns(con, "marts", "indicator_changes")
    for column in ("value_before", "value_after"):  # DOUBLE before values were exact (marts.indicators.value)
        if changes.get(column) == "DOUBLE":
            con.execute(f"alter table marts.indicator_changes alter {column} type decimal(38, 6)")
    if changes and "indicator_name" not in changes:
        con.execute("alter table marts.indicator_changes add column indicator_name varchar")
    if changes and _columns(con, "core", "indicator_definition"):  # rows from before the column: named since
        con.execute(
            "update marts.indicator_changes as c set indicator_name = d.name from core.indicator_definition as d "
            "where c.indicator_name is null and d.indicator = c.indicator"
        )
    # fact tables' columns added since and ones that became nullable: evolve(), which every migration ends with
    if _columns(con, "core", "household_registry_history"):  # lake files named relative to the home
        con.execute(
            "update core.household_registry_history set lake_file = regexp_replace(lake_file, ?, '\\1') "
            "where lake_file like '/%'",
            [LEGACY_ABSOLUTE],
        )


def _chinese_definitions(con: duckdb.DuckDBPyConnection) -> None:
    """core.indicator_definition gains definition_zh (the report's Chinese definitions); every load then refills
    the table from the seed (warehouse.build.load_reference)."""
    if _columns(con, "core", "indicator_definition"):
        con.execute("alter table core.indicator_definition add column if not exists definition_zh varchar")


def _reattribute_changes(con: duckdb.DuckDBPyConnection) -> None:
    """Name on every recorded change each submission whose facts moved the figure (fupin.warehouse.attribution):
    before, a multi-year file was named on its first year and the span only, and an area's first publication
    missed the provinces whose files were not listed first. A run's submissions are those applied after the
    previous run that recorded changes and before its own changes (its changed_at); the facts' history tables
    tell what each changed. Idempotent: the same history gives the same names."""
    needed = ("marts.indicator_changes", "meta.submissions", "core.indicator_definition", "core.area_place")
    if not all(_columns(con, *table.split(".")) for table in needed):
        return  # nothing recorded yet, or reference tables to come with the next load's: nothing to re-attribute
    con.execute(
        """
        create or replace temp table applied_runs as
        with runs as (
            select cast(changed_at as varchar) as run_key, changed_at,
                   lag(changed_at) over (order by changed_at) as previous
            from (select distinct changed_at from marts.indicator_changes)
        )
        select r.run_key, s.submission_id
        from runs as r
        join meta.submissions as s
            on s.applied_at <= r.changed_at and (r.previous is null or s.applied_at > r.previous)
        where s.status in ('loaded', 'partially_loaded', 'superseded')
        """
    )
    con.execute(
        "create or replace temp table changed_figures as select distinct cast(changed_at as varchar) as run_key, "
        "indicator, scope_code, period from marts.indicator_changes"
    )
    attribute(con)
    con.execute(
        "update marts.indicator_changes as c set submissions = (select f.submissions from figure_causes as f "
        "where f.run_key = cast(c.changed_at as varchar) and f.indicator = c.indicator "
        "and f.scope_code = c.scope_code and f.period = c.period)"
    )
    for temp in ("applied_runs", "changed_figures", "applied_stamps", "moved_facts", "figure_causes"):
        con.execute(f"drop table if exists temp.{temp}")


def _households_in_the_warehouse(con: duckdb.DuckDBPyConnection) -> None:
    """core.fct_household_history, a view over the lake's registry files (named relative to the home, so a client
    had to set file_search_path), becomes a table holding the same rows: any client reads it with no setting.

    The rows are read as the view read them: each file core.household_registry_history lists, joined with its
    county's version, with the home (the folder of the warehouse file being built) as the search path. A listed
    file that is gone fails the step, and so the run, leaving the warehouse as it was: `fupin doctor` names it.
    """
    views = [
        name
        for (name,) in con.execute(
            "select view_name from duckdb_views() where schema_name = 'core' "
            "and view_name in ('fct_household', 'fct_household_history') order by view_name"
        ).fetchall()
    ]
    if not views:  # a new warehouse, or one whose households are a table already
        return
    _lake_keys_as_uuids(con)  # the files hold the old text keys still: the table's are UUIDs (step 6)
    for name in views:
        con.execute(f"drop view core.{name}")
    spec = relation("core.fct_household_history")
    con.execute(spec.ddl())  # the table, its current view core.fct_household and their comments
    if not _columns(con, "core", "household_registry_history"):
        return
    files = [f for (f,) in con.execute("select distinct lake_file from core.household_registry_history").fetchall()]
    if not files:
        return
    home = _home(con)
    gone = sorted(f for f in files if not (Path(home) / f).is_file())
    if gone:
        raise CodedError(message("households_not_migrated", count=len(gone), example=gone[0]))
    from_lake = [c for c in spec.column_names if c not in ("province_code", "year", "valid_from", "valid_to")]
    con.execute(
        f"insert into core.fct_household_history by name select r.province_code, r.year, "
        f"{', '.join('h.' + c for c in from_lake)}, r.valid_from, r.valid_to "
        "from read_parquet(?, union_by_name = true) h join core.household_registry_history r "
        "on h.submission_id = r.submission_id and h.county_code = r.county_code",
        [sorted(files)],
    )


def _home(con: duckdb.DuckDBPyConnection) -> Path:
    """The home whose lake the warehouse names: the search path set, else the folder of the file being built."""
    return Path(con.execute("select current_setting('file_search_path')").fetchone()[0] or search_home(con))


# the lake's datasets whose files hold household_key
KEYED_DATASETS = ("household_registry", "household_grant")
# rows a lake file is rewritten by: a batch of pseudonyms in memory at a time
REWRITE_BATCH_ROWS = 256 * 1024


def _pseudonyms_as_uuids(con: duckdb.DuckDBPyConnection) -> None:
    """A household's pseudonym becomes a 16-byte version 8 UUID (fupin/core/pseudonym.py), 64 hex characters before.

    The new key of an old one is its first 32 hex characters as 16 bytes with the version and variant bits set:
    what the new code derives from the same ID number, so old and new submissions of a household still join, and
    no PII key is needed. Every lake file holding text keys is rewritten (registry and grant files: a rebuild reads
    them again), then every warehouse table holding them is altered; the marts are rebuilt by the load.
    """
    _lake_keys_as_uuids(con)
    tables = con.execute(
        "select c.schema_name, c.table_name from duckdb_columns() c join duckdb_tables() t "
        "on t.schema_name = c.schema_name and t.table_name = c.table_name and t.database_name = c.database_name "
        "where c.database_name = current_database() and c.column_name = 'household_key' "
        "and c.data_type = 'VARCHAR' order by 1, 2"
    ).fetchall()
    for schema, table in tables:
        con.execute(
            f"alter table {schema}.{table} alter household_key type uuid using {legacy_hex_sql('household_key')}"
        )


def _lake_keys_as_uuids(con: duckdb.DuckDBPyConnection) -> None:
    """Rewrite every lake file of the home that still holds text pseudonyms (idempotent: a rewritten file is left).

    The home: the search path set, else the folder of the warehouse file; an in-memory warehouse (the ledger's
    copies, read into one) has no lake beside it."""
    try:
        home = Path(con.execute("select current_setting('file_search_path')").fetchone()[0] or home_of(con))
    except ValueError:
        return
    files = {home / d for d in _listed_registry_files(con)}
    for dataset in KEYED_DATASETS:
        files.update((home / "lake" / dataset).rglob("*.parquet"))
    rewritten = sum(rewrite_lake_keys(f) for f in sorted(files) if f.is_file())
    if rewritten:
        log.info("household pseudonyms rewritten as UUIDs in %s lake files", rewritten)


def _listed_registry_files(con: duckdb.DuckDBPyConnection) -> list[str]:
    if not _columns(con, "core", "household_registry_history"):
        return []
    return [f for (f,) in con.execute("select distinct lake_file from core.household_registry_history").fetchall()]


def rewrite_lake_keys(path: Path) -> bool:
    """One lake file's text pseudonyms as UUIDs, streamed by batches into a file beside it that is renamed over it.

    False when the file holds no text household_key (already rewritten, or never had one). A crash leaves the
    original whole (the next run starts again); the Parquet options of each column (codec, dictionary) are kept.
    """
    tmp = path.with_name(f".{path.name}.uuid.tmp")
    source = pq.ParquetFile(path)
    schema = source.schema_arrow
    at = schema.get_field_index("household_key")
    if at < 0 or not is_legacy(schema.field(at).type):
        source.close()
        tmp.unlink(missing_ok=True)  # a rerun after the rename: nothing left to do
        return False
    target = schema.set(at, pa.field("household_key", UUID_TYPE, schema.field(at).nullable))
    meta = source.metadata
    chunks = [meta.row_group(0).column(i) for i in range(meta.num_columns)] if meta.num_row_groups else []
    stored = {c.path_in_schema: c for c in chunks}  # how the first row group stored each column
    options = {
        "compression": {n: "none" if n == "household_key" else c.compression.lower() for n, c in stored.items()}
        or "zstd",
        "use_dictionary": [n for n, c in stored.items() if c.has_dictionary_page and n != "household_key"],
        "write_statistics": [n for n, c in stored.items() if c.is_stats_set and n != "household_key"],
    }
    try:
        with pq.ParquetWriter(tmp, target, **options) as writer:
            for batch in source.iter_batches(batch_size=REWRITE_BATCH_ROWS):
                columns = batch.columns
                columns[at] = from_legacy_hex(columns[at])
                writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=target))
        with open(tmp, "rb") as written:
            os.fsync(written.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    os.replace(tmp, path)
    return True


def _rebuild_marts(con: duckdb.DuckDBPyConnection) -> None:
    """Nothing to alter: the marts are rebuilt by the load that applies this step. The step exists so that a
    warehouse whose marts lack a column the readers now expect is rebuilt by the next run, even one that
    receives nothing new (an up-to-date warehouse is left as it is)."""


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "a warehouse from before schema versions", _before_versions),
    Migration(2, "Chinese definitions of the indicators", _chinese_definitions),
    Migration(3, "changed figures name every submission whose facts moved them", _reattribute_changes),
    Migration(4, "households stored in the warehouse, no longer a view over the lake", _households_in_the_warehouse),
    # marts.indicators and marts.headline: counties_expected, counties_covered, missing_counties,
    # missing_county_codes, coverage_note (a growth over an incomplete span withheld)
    Migration(5, "indicators carry their county coverage", _rebuild_marts),
    Migration(6, "household pseudonyms as 16-byte UUIDs, in the warehouse and the lake", _pseudonyms_as_uuids),
)
CURRENT = MIGRATIONS[-1].number


def evolve(con: duckdb.DuckDBPyConnection) -> None:
    """Additive changes that need no step: a column a relation spec or contract gained is added to its existing
    table (its default, or null, in older rows), and one a contract made nullable loses NOT NULL (county_code, once
    prefectures could be targeted); a bookkeeping column every fact table gained (source_sheet, source_unit: where a
    row came from) likewise. Run at every migration: adding a column is an edit of its spec alone."""
    for spec in of_build("table"):
        present = _columns(con, *spec.relation.split("."))
        for c in spec.columns if present else ():
            if c.name not in present:
                default = "" if c.default is None else f" default {c.default}"
                con.execute(f"alter table {spec.relation} add column {c.name} {c.type}{default}")
    for contract in contracts().values():
        schema, table = contract.table.split(".")
        present = _columns(con, schema, table)
        if not present:
            continue
        for column in contract.history_columns():  # bookkeeping columns since (source_sheet, source_unit): null
            if column.name not in present and column not in contract.columns:
                con.execute(f"alter table {contract.table} add column {column.name} {column.type}")
        for column in contract.columns:
            if column.name not in present:
                con.execute(f"alter table {contract.table} add column {column.name} {column.type}")
            elif column.nullable:
                con.execute(f"alter table {contract.table} alter column {column.name} drop not null")


def stored_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The warehouse's schema version: None for a new (empty) one, 0 for one from before versions."""
    if _columns(con, "meta", "schema_version"):
        row = con.execute("select max(version) from meta.schema_version").fetchall()[0]
        if row[0] is not None:
            return row[0]
    found = con.execute(
        "select count(*) from duckdb_tables() where schema_name in (select unnest(?))", [list(SCHEMAS)]
    ).fetchall()[0][0]
    return 0 if found else None


def refuse_newer(found: int | None) -> None:
    """Raise ``SchemaTooNew`` (Chinese, with its code; English in the log) for a version above ``CURRENT``."""
    if found is None or found <= CURRENT:
        return
    refused = message("schema_too_new", found=found, current=CURRENT)
    log.error(render(refused, "en"))
    raise SchemaTooNew(render(refused))


def migrate(con: duckdb.DuckDBPyConnection) -> list[int] | None:
    """Apply, in order, every step above the warehouse's version, each stamped as done; the numbers applied.

    None for a new warehouse: the DDL creates it current, and ``stamp`` then records it. Runs in the
    caller's transaction: a step that fails leaves the warehouse as it was.
    """
    found = stored_version(con)
    refuse_newer(found)
    if found is None:
        return None
    applied = []
    for step in MIGRATIONS:
        if step.number > found:
            log.info("migrating the warehouse to schema version %s: %s", step.number, step.description)
            step.apply(con)
            stamp(con, step.number)
            applied.append(step.number)
    evolve(con)
    return applied


def stamp(con: duckdb.DuckDBPyConnection, number: int = CURRENT) -> None:
    """Record that the warehouse's tables have version ``number`` (one row, replaced)."""
    con.execute("create schema if not exists meta")
    con.execute(relation("meta.schema_version").create_sql())  # declared in contracts/relations/
    con.execute("delete from meta.schema_version")
    con.execute("insert into meta.schema_version values (?, now(), ?)", [number, _fupin_version()])


def is_current(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the warehouse has the shape this code reads (refusing one newer than the code)."""
    found = stored_version(con)
    refuse_newer(found)
    return found == CURRENT


def _fupin_version() -> str | None:
    try:
        return version("fupin")
    except PackageNotFoundError:  # run from a source tree that is not installed
        return None
