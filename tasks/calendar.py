"""The reporting calendar (报送日历) and the state of every submission, expected or received.

``<home>/config/calendar.yaml`` lists what is expected; ``warehouse/queries/submission_status.sql`` sets it beside
the ledger: per province × dataset × period, received (on time), late (received after the due date), held
(waiting for a person, even when the period was received before), failed (its latest file refused, or the
province's source failed in the last run), discarded (held, then closed by a person), missing (nothing, past the
due date) or pending (not due yet), with days late. Without a calendar the same query gives what the ledger holds:
received, held, failed and discarded, never late. ``marts.submission_status`` (each run), ``fupin status``, the
run's artifact and the report's banner all read that one query. A late or missing province is a warning for the
operator, never a failure of the run.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import yaml

from fupin.core import yamltext
from fupin.core.config import ConfigError, Paths
from fupin.core.messages import message
from fupin.core.reference import provinces, resolve_province, submitters
from fupin.core.sql import quote_literal
from fupin.tasks.summary import run_records
from fupin.warehouse import read
from fupin.warehouse.contracts import contracts
from fupin.warehouse.labels import labels_of

STATUS_LABELS = labels_of("calendar_status")  # seeds/labels.csv, as core.labels has them
# what the morning view lists first: what needs someone
ATTENTION = ("failed", "held", "discarded", "missing", "late")
CALENDAR_SCHEMA = pa.schema(
    [("province_code", pa.string()), ("dataset", pa.string()), ("period", pa.int32()), ("due_date", pa.date32())]
)


def calendar_file(paths: Paths) -> Path:
    return paths.home / "config" / "calendar.yaml"


FIRST_YEAR, LAST_YEAR = 2000, 2100  # the years a calendar may name


def _due(value, year: int, where: str) -> date:
    text = str(value).strip()
    try:
        if len(text) == 5:  # MM-DD of the year after the period
            return date.fromisoformat(f"{year + 1}-{text}")
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(message("calendar_due_invalid", where=where, value=value)) from None


def _year(value, where: str) -> int:
    """A year of ``years``: a whole number from 2000 to 2100, written as a number or as digits."""
    text = value.strip() if isinstance(value, str) else None
    if isinstance(value, int) and not isinstance(value, bool):
        year = value
    elif text and text.isascii() and text.isdigit() and len(text) <= 4:
        year = int(text)
    else:
        year = None
    if year is None or not FIRST_YEAR <= year <= LAST_YEAR:
        shown = str(value)[:40]
        raise ConfigError(message("calendar_year_invalid", where=where, value=shown, first=FIRST_YEAR, last=LAST_YEAR))
    return year


def _list(entry: dict, key: str, what: str, where: str) -> list:
    value = entry[key]
    if isinstance(value, list) and value:
        return value
    raise ConfigError(message("calendar_invalid.list", where=where, key=key, what=what))


def load_calendar(paths: Paths) -> pa.Table:
    """The calendar's expectations, one row per province × dataset × period; empty when the home has none.

    Every mistake in the file is a ConfigError: one Chinese line naming the entry and the field, with its code.
    """
    file = calendar_file(paths)
    if not file.exists():
        return CALENDAR_SCHEMA.empty_table()
    try:
        doc = yamltext.safe_load(file.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(message("calendar_invalid.yaml", file=file, error=type(exc).__name__)) from None
    entries = doc.get("expected") if isinstance(doc, dict) else None
    if not isinstance(entries, list | None):
        raise ConfigError(message("calendar_invalid.expected", file=file))
    rows = []
    for i, entry in enumerate(entries or [], start=1):
        where = f"{file}：第 {i} 项"
        if not isinstance(entry, dict) or not {"provinces", "datasets", "years", "due"} <= set(entry):
            raise ConfigError(message("calendar_invalid.entry", where=where))
        names = entry["provinces"]
        try:
            codes = (
                sorted(provinces())
                if names == "all"
                else [resolve_province(str(p)) for p in _list(entry, "provinces", "省份", where)]
            )
        except ValueError as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(message("calendar_invalid.provinces", where=where, error=exc)) from None
        datasets = _list(entry, "datasets", "数据集", where)
        unknown = [str(d) for d in datasets if d not in contracts() and d != "household_registry"]
        if unknown:
            raise ConfigError(
                message(
                    "calendar_invalid.datasets", where=where, unknown="、".join(unknown), known=", ".join(contracts())
                )
            )
        years = [_year(y, where) for y in _list(entry, "years", "年份", where)]
        for code in codes:
            for dataset in datasets:
                for year in years:
                    rows.append((code, dataset, year, _due(entry["due"], year, where)))
    return pa.Table.from_pylist([dict(zip(CALENDAR_SCHEMA.names, r, strict=True)) for r in rows], CALENDAR_SCHEMA)


def _failed_in_last_run(paths: Paths) -> list[str]:
    """Provinces whose source or files failed in the latest finished nightly run."""
    finished = [r for _, r in run_records(paths) if r.get("flow_name") == "nightly" and r.get("ended_at")]
    return (finished[-1].get("failed_provinces") or []) if finished else []


# the calendar beside the ledger (warehouse/queries/submission_status.sql): `fupin status` and the mart
STATUS_SQL = read.query_sql("submission_status")


def submission_status(con: duckdb.DuckDBPyConnection, paths: Paths) -> list[dict]:
    """marts.submission_status's rows computed now, from the home's calendar and the connection's ledger; the
    Ministry's own departments (00) named as submitters too."""
    rows = read.submission_status(con, load_calendar(paths), _failed_in_last_run(paths))
    names = submitters()
    for r in rows:
        r["province_name"] = r["province_name"] or names.get(r["province_code"], r["province_code"])
    return rows


STATUS_COMMENTS = {
    "province_code": "2-digit code of the province expected to send, or that sent.",
    "province_name": "Province name.",
    "dataset": "Dataset expected or received (warehouse/contracts); null for a file refused before it was known.",
    "dataset_name": "Dataset in Chinese (core.labels).",
    "period": "Year the submission is to cover; null for a file refused before its years were read.",
    "due_date": "Date by which it is due (<home>/config/calendar.yaml); null when the calendar does not expect it.",
    "status": "received (on time), late (after the due date), held, failed, discarded, missing (past due, nothing) "
    "or pending.",
    "status_name": "Status in Chinese: 已报送, 迟报, 待确认, 失败, 已放弃, 未报 or 未到期 (core.labels).",
    "days_late": "Days past the due date: when it arrived, or until today while missing; 0 otherwise.",
    "last_received": "When the latest submission covering it that loaded arrived (UTC); null if none.",
    "expected": "Whether the reporting calendar expects it.",
    "received_before": "Held, failed or discarded although the period was received (loaded) before.",
    "first_received": "When the first submission covering it that loaded arrived (UTC); null if none.",
    "submission_id": "The submission that decides the state (the held, refused or discarded one, else the latest "
    "loaded); null when none.",
    "file_name": "That submission's file name.",
}


def build_submission_status(con: duckdb.DuckDBPyConnection, paths: Paths) -> None:
    """Write marts.submission_status (as of this run) into the warehouse being built, with its comments."""
    con.register("expected_rows", load_calendar(paths))
    try:
        con.execute(
            f"create or replace table marts.submission_status as {STATUS_SQL}", {"failed": _failed_in_last_run(paths)}
        )
    finally:
        con.unregister("expected_rows")
    con.execute(
        "comment on table marts.submission_status is 'One row per province × dataset × period the reporting "
        "calendar expects or the ledger holds: received, late, held, failed, discarded, missing or pending, as of "
        "the latest run (fupin status recomputes it for today).'"
    )
    for column, text in STATUS_COMMENTS.items():
        con.execute(f"comment on column marts.submission_status.{column} is {quote_literal(text)}")
