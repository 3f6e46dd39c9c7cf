"""Column comments of relations built outside ddl.sql and the marts (read by the data dictionary)."""

from __future__ import annotations

import duckdb

from fupin.sql import quote_literal

# meta.runs is a view over <home>/runs/*.json (tasks/summary.py); its columns are RUN_COLUMNS there
RUN_COLUMN_COMMENTS = {
    "run_id": "Prefect flow run id (also the JSON file's name).",
    "flow_name": "nightly, backfill or rebuild-warehouse.",
    "run_name": "Prefect's name of the flow run.",
    "started_at": "When the run started (UTC).",
    "ended_at": "When the run ended (UTC); null while running or if it died.",
    "outcome": "running, completed, rejected (some rows or files rejected), failed (a province or step failed) "
    "or crashed (the process died; marked by the next run).",
    "exit_code": "Exit code of `fupin run`: 0 all loaded, 1 failed, 3 some rejected.",
    "received": "Files received in the run, count.",
    "rows_loaded": "Data rows loaded in the run, count.",
    "rows_rejected": "Data rows rejected in the run, count (meta.rejections).",
    "failed_provinces": "2-digit codes of the provinces whose source or files failed.",
    "message": "Why the run failed, in one line; null otherwise.",
    "warehouse_changed": "True when the run replaced the warehouse file (false for a run that loaded nothing).",
}


def comment_runs_columns(con: duckdb.DuckDBPyConnection) -> None:
    """COMMENT every column of meta.runs that exists."""
    present = {
        c
        for (c,) in con.execute(
            "select column_name from duckdb_columns() where schema_name = 'meta' and table_name = 'runs'"
        ).fetchall()
    }
    for column, text in RUN_COLUMN_COMMENTS.items():
        if column in present:
            con.execute(f"comment on column meta.runs.{column} is {quote_literal(text)}")
