"""The swap's safety: the run copies the whole warehouse and never renames its copy over someone's writes."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from fupin.core.messages import say
from fupin.tasks.deferred import get_run_logger


class WarehouseBusy(RuntimeError):
    """Someone else holds the warehouse read-write: the run does not swap over their work."""


def _holder(warehouse: Path) -> str | None:
    """The PID of another process holding the warehouse read-write, '?' when unknown, None when free."""
    try:
        duckdb.connect(str(warehouse), read_only=True).close()
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise
        found = re.search(r"PID (\d+)", str(exc))
        return found.group(1) if found else "?"
    return None


def claim_warehouse(warehouse: Path) -> tuple[int, int] | None:
    """Make sure the run copies the whole warehouse; its (size, mtime) then, to notice a writer before the swap.

    A read-write session elsewhere that has written (a WAL beside the file) fails the run with one line
    naming it: its data is not in the file yet. A WAL left by a killed session is replayed first; one that
    does not belong to this file (left from before an earlier swap) is set aside under a new name, never
    deleted, and the run goes on.
    """
    if not warehouse.exists():
        return None
    wal = Path(f"{warehouse}.wal")
    if wal.exists():
        holder = _holder(warehouse)
        if holder:
            raise WarehouseBusy(say("warehouse_held", warehouse=warehouse, pid=holder))
        try:
            with duckdb.connect(str(warehouse)) as con:
                con.execute("checkpoint")
            get_run_logger().warning("replayed the WAL a killed session left beside %s", warehouse)
        except duckdb.Error as exc:
            aside = wal.with_name(f"{wal.name}.orphan-{datetime.now(UTC):%Y%m%dT%H%M%S}")
            os.replace(wal, aside)
            get_run_logger().warning(
                "a WAL beside %s does not belong to it (%s): kept as %s", warehouse, type(exc).__name__, aside
            )
    stat = warehouse.stat()
    return stat.st_size, stat.st_mtime_ns


def still_ours(warehouse: Path, claimed: tuple[int, int] | None) -> None:
    """Refuse to swap when the warehouse changed or gained a WAL since the run copied it."""
    if claimed is None:
        return
    stat = warehouse.stat()
    if Path(f"{warehouse}.wal").exists() or (stat.st_size, stat.st_mtime_ns) != claimed:
        holder = _holder(warehouse)
        who = f"进程 PID {holder}" if holder else "另一个会话"
        raise WarehouseBusy(say("warehouse_changed_during_run", who=who, warehouse=warehouse))
