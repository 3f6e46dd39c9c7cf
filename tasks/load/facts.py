"""Facts into their history tables: each keeps every version, core.fct_* views show the current ones.

A submission's lake files are applied with its validity stamp: the versions it replaces get ``valid_to``, its
own rows ``valid_from``. A household registry lists its counties (core.household_registry_history) and its
households go into core.fct_household_history, so any DuckDB client reads them with no setting.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from fupin.core.faults import fault_point
from fupin.core.home import stored_lake_path
from fupin.tasks.records import Outcome
from fupin.warehouse.contracts import contracts
from fupin.warehouse.migrations import KEYED_DATASETS, rewrite_lake_keys
from fupin.warehouse.relations import VALIDITY, relation

REGISTRY_TABLE = "core.household_registry_history"  # the registry's lake file per county
HOUSEHOLDS_TABLE = "core.fct_household_history"  # its households


def fact_table(dataset: str) -> str:
    """The history table of a dataset's facts: each keeps every version, core.fct_* views show the current ones."""
    return REGISTRY_TABLE if dataset == "household_registry" else contracts()[dataset].table


def fact_tables() -> list[str]:
    return [*(c.table for c in contracts().values()), REGISTRY_TABLE]


def partition(lake_file: str) -> tuple[str, str, int]:
    """(dataset, province, year) from data/lake/<dataset>/province=<p>/year=<y>/<id>.parquet."""
    p = Path(lake_file)
    return p.parents[2].name, p.parents[1].name.split("=", 1)[1], int(p.parent.name.split("=", 1)[1])


def key_match(dataset: str, left: str, right: str) -> str:
    """Same grain key within one province × year (the year lives in the lake file's partition, not its rows)."""
    return " and ".join(f"{left}.{k} is not distinct from {right}.{k}" for k in contracts()[dataset].key if k != "year")


def apply_facts(con: duckdb.DuckDBPyConnection, o: Outcome, stamp: str) -> None:
    """Supersede the facts this submission replaces and insert its own, valid from ``stamp``.

    A correction (更正/补报) replaces only the keys it carries, and a row marked 撤销/作废 withdraws its key;
    a full resubmission (全量重报) retires every current key of the province × year that it does not carry —
    unless some of its rows were rejected: a rejected row never removes the fact it would have replaced.
    """
    full = o.kind == "full" and not o.rows_rejected
    for lake_file in o.lake_files:
        dataset, province, year = partition(lake_file)
        if dataset in KEYED_DATASETS and Path(lake_file).is_file():  # a lake from before UUIDs, read by a rebuild
            rewrite_lake_keys(Path(lake_file))
        if dataset == "household_registry":
            load_registry(con, o, province, year, lake_file, stamp)
            fault_point("load")
            continue
        table = fact_table(dataset)
        con.execute(
            "create or replace temp table incoming as select * from read_parquet(?, hive_partitioning = false)",
            [lake_file],
        )
        present = {d[0] for d in con.execute("select * from incoming limit 0").description}
        has_action = "row_action" in present
        for column in contracts()[dataset].columns:  # a lake file written before the column existed: null in it
            if column.name not in present and column.name not in ("year", "row_action"):
                con.execute(f"alter table incoming add column {column.name} {column.type}")
        retire = "" if full else f" and exists (select 1 from incoming where {key_match(dataset, 'incoming', 't')})"
        con.execute(
            f"update {table} as t set valid_to = ? where province_code = ? and year = ? and valid_to is null{retire}",
            [stamp, province, year],
        )
        keep = "where row_action is distinct from 'withdraw'" if has_action else ""
        con.execute(
            f"insert into {table} by name select ? as province_code, ? as year, ? as valid_from, "
            f"{'* exclude (row_action)' if has_action else '*'} from incoming {keep}",
            [province, year, stamp],
        )
        con.execute("drop table incoming")
        fault_point("load")


def load_registry(
    con: duckdb.DuckDBPyConnection, o: Outcome, province: str, year: int, lake_file: str, stamp: str
) -> None:
    """List a registry's counties and load its households, valid from ``stamp``.

    Registries come one county at a time: a county's new registry replaces that county's only (its registry row
    and its households). The file is listed relative to the home (fupin/core/home.py): a rebuild reads it again.
    """
    con.execute(
        "create or replace temp table incoming as select county_code, count(*) as households, "
        "sum(members) as persons from read_parquet(?) group by county_code",
        [lake_file],
    )
    for table in (REGISTRY_TABLE, HOUSEHOLDS_TABLE):
        con.execute(
            f"update {table} set valid_to = ? where province_code = ? and year = ? "
            "and valid_to is null and county_code in (select county_code from incoming)",
            [stamp, province, year],
        )
    con.execute(
        "insert into core.household_registry_history select ?, ?, county_code, ?, ?, households, persons, ?, null "
        "from incoming order by county_code",
        [province, year, o.submission_id, stored_lake_path(lake_file), stamp],
    )
    columns = [c for c in relation(HOUSEHOLDS_TABLE).column_names if c not in ("province_code", "year", *VALIDITY)]
    # in any order: DuckDB then inserts on every core without keeping the file's (10M rows: 4.0 s, not 6.0);
    # every reader of households orders what it shows
    con.execute("set preserve_insertion_order = false")
    try:
        con.execute(
            f"insert into {HOUSEHOLDS_TABLE} by name select ? as province_code, ? as year, "
            f"{', '.join(columns)}, ? as valid_from from read_parquet(?)",
            [province, year, stamp, lake_file],
        )
    finally:
        con.execute("reset preserve_insertion_order")
    con.execute("drop table incoming")
