"""The warehouse as it stood at a past moment: facts valid then, marts rebuilt from them in memory."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from fupin.core.messages import say
from fupin.core.sql import quote_literal
from fupin.warehouse.build import build_marts

SHANGHAI = ZoneInfo("Asia/Shanghai")


def parse_moment(text: str, option: str = "--as-of") -> datetime:
    """'2018-10-30' → the end of that day in Asia/Shanghai; a full ISO datetime is taken as given.

    ValueError, in Chinese with its code and naming ``option``, for a text that is neither."""
    try:
        day = date.fromisoformat(text)
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=SHANGHAI)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(say("moment_invalid", option=option, text=text)) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


def connect_as_of(warehouse: Path, moment: datetime) -> duckdb.DuckDBPyConnection:
    """An in-memory connection whose core, meta and marts show the warehouse as of ``moment``.

    The warehouse file is attached read-only; nothing is written to it.
    """
    con = duckdb.connect()
    con.execute(f"attach {quote_literal(warehouse)} as wh (read_only)")
    stamp = moment.isoformat()  # from a datetime object, never from user text
    for schema in ("core", "meta", "marts"):
        con.execute(f"create schema {schema}")
    objects = con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = 'wh' "
        "and schema_name in ('core', 'meta')"  # households included: a table like every fact's history
    ).fetchall()
    for schema, name in objects:
        source = f"wh.{schema}.{name}"
        if name.endswith("_history"):
            current = name.removesuffix("_history")
            con.execute(
                f"create view core.{current} as select * exclude (valid_from, valid_to) from {source} "
                f"where valid_from < timestamptz '{stamp}' and (valid_to is null or valid_to >= timestamptz '{stamp}')"
            )
        elif schema == "meta" and name == "submissions":
            con.execute(
                f"create view meta.submissions as select * from {source} where received_at < timestamptz '{stamp}'"
            )
        else:
            con.execute(f"create view {schema}.{name} as select * from {source}")
    build_marts(con)
    # the published figures' changes are a ledger, never rebuilt: those made by then
    con.execute(
        "create view marts.indicator_changes as select * from wh.marts.indicator_changes "
        f"where changed_at < timestamptz '{stamp}'"
    )
    return con
