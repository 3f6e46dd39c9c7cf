"""Recovery: a damaged or missing warehouse set aside and rebuilt from the lake and the ledger copies.

Its own module: it loads (tasks.load), and the load writes the ledger copies it reads (tasks.archive).
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from prefect import get_run_logger

from fupin.core.config import Paths
from fupin.core.messages import say
from fupin.core.sql import quote_literal
from fupin.tasks.archive import damaged, export_ledger, ledger_dir, ledger_outcome_records, write_history
from fupin.tasks.load import load_warehouse
from fupin.warehouse.relations import history_tables


def recover_warehouse(paths: Paths) -> str | None:
    """Set a damaged warehouse aside (renamed, never deleted) and rebuild it from the lake and the ledger copies;
    a missing warehouse whose ledger copies exist is rebuilt too.

    Returns what was done, in one line, or None when the warehouse reads (or the home is new).
    """
    copies = ledger_dir(paths) / "meta.submissions.parquet"
    if paths.warehouse.exists():
        why = damaged(paths.warehouse)
        if why is None:
            return None
        if not copies.exists():
            raise RuntimeError(
                say("warehouse_unrecoverable", warehouse=paths.warehouse, why=why, ledger=ledger_dir(paths))
            )
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        aside = paths.warehouse.with_name(f"{paths.warehouse.name}.damaged-{stamp}")
        os.replace(paths.warehouse, aside)
        wal = Path(f"{paths.warehouse}.wal")
        if wal.exists():
            os.replace(wal, aside.with_name(aside.name + ".wal"))
        what = f"仓库无法读取（{why}）：已改名保留为 {aside.name}"
    elif copies.exists():
        what = "仓库文件不存在"
    else:
        return None  # a new home
    staging = paths.staging / "recover"
    # decisions and published changes live only in the copies: kept aside, since the rebuild rewrites the copies
    history = {
        table: duckdb.sql(f"select * from read_parquet({quote_literal(copy)})").to_arrow_table()
        for table in history_tables()
        if (copy := ledger_dir(paths) / f"{table}.parquet").exists()
    }
    outcomes = [str(o.save(staging / f"{o.submission_id}.json")) for o in ledger_outcome_records(paths)]
    load_warehouse(outcomes, paths, replay=True)  # replays what was decided: nothing is held again
    write_history(paths.warehouse, history)
    export_ledger(paths)
    shutil.rmtree(staging, ignore_errors=True)
    done = say("warehouse_rebuilt", what=what, count=len(outcomes))
    get_run_logger().warning(done)
    return done
