"""Summarise a run: what was received, loaded and rejected, and the exit code it deserves."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fupin.core.config import Paths
from fupin.core.files import write_text_atomic
from fupin.core.home import search_home
from fupin.core.messages import say
from fupin.core.raw import RawArchiveError
from fupin.core.reference import submitters
from fupin.tasks.deferred import NO_CACHE, task
from fupin.tasks.identity.hashing import MissingKeyError
from fupin.tasks.records import Outcome
from fupin.warehouse.relations import relation

EXIT_OK, EXIT_FAILED, EXIT_REJECTED = 0, 1, 3

# meta.runs reads these files; the types are fixed (contracts/relations/meta.runs.yaml) so that an empty or odd file
# cannot change them
RUN_COLUMNS = {c.name: c.type.upper() for c in relation("meta.runs").columns}


class RunFailed(Exception):
    """A run in which some province failed: the others loaded, and ``summary`` says what happened."""

    def __init__(self, message: str, summary: dict[str, Any]):
        super().__init__(message)
        self.summary = summary

    def __reduce__(self):  # picklable with its summary (a state's data may travel between processes)
        return (RunFailed, (str(self), self.summary))


def handled_failure(exc: BaseException) -> bool:
    """A failure fupin reports itself (a source that stays down, a registry waiting for its key): no traceback.

    Anything else raised in a task is a bug in fupin and keeps its traceback in the logs.
    """
    # aiohttp's ClientError: an http(s) source answering 5xx or not at all (fsspec's HTTP file system); read from
    # the loaded module, so that the commands reading run records do not import aiohttp (~0.4 s): without it
    # loaded, no exception can be one of its
    client_error = getattr(sys.modules.get("aiohttp"), "ClientError", OSError)
    return isinstance(exc, (OSError, MissingKeyError, client_error, RawArchiveError))


class HandledTracebacks(logging.Filter):
    """Drops the traceback from Prefect's task-run error line when fupin handles the failure; keeps the line.

    The record is marked ``fupin_handled`` so that a console (HandledOnConsole) can leave it out: fupin says the
    failure itself, in one Chinese line with its code.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and handled_failure(exc):
            record.exc_info, record.exc_text = None, None
            record.fupin_handled = True
        return True


class RunFailedLine(logging.Filter):
    """The engine's "exited with unexpected exception" of a nightly that ended Failed by design (RunFailed): one
    line, the run's Chinese message with its code, instead of a traceback of the engine.

    A deployment's flow run (a worker's ``python -m prefect.engine``) raises the Failed state's exception after
    the flow returned it, and logs that with its traceback; a flow that raised (a bug) keeps its traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, RunFailed):
            record.msg, record.args = str(exc), ()
            record.exc_info, record.exc_text = None, None
        return True


class HandledOnConsole(logging.Filter):
    """On a console: Prefect's lines about a task run whose failure fupin handles are left out (its exception
    line and then its "Finished in state Failed" line), since fupin says it in one Chinese line; with
    ``said_too`` (``fupin run``, which prints its own summary) fupin's own such lines too (``fupin_said``).
    Prefect's API (the UI's log) still gets them all.
    """

    def __init__(self, said_too: bool = False):
        super().__init__()
        self.said_too = said_too
        self.handled_runs: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        run = getattr(record, "task_run_id", None)
        if getattr(record, "fupin_handled", False):
            if run:
                self.handled_runs.add(str(run))
            return False
        if run and str(run) in self.handled_runs and str(record.getMessage()).startswith("Finished in state"):
            return False
        return not (self.said_too and getattr(record, "fupin_said", False))


def quiet_handled_tracebacks(said_too: bool = False) -> None:
    """Install, once per process: HandledTracebacks on Prefect's task-run logger, RunFailedLine on its flow-run
    logger, HandledOnConsole on the console's handlers (``said_too``: also fupin's own lines, for ``fupin run``)."""
    for name, kind in (("prefect.task_runs", HandledTracebacks), ("prefect.flow_runs", RunFailedLine)):
        logger = logging.getLogger(name)
        if not any(isinstance(f, kind) for f in logger.filters):
            logger.addFilter(kind())
    for handler in logging.getLogger().handlers:
        if not isinstance(handler, logging.StreamHandler):
            continue
        present = [f for f in handler.filters if isinstance(f, HandledOnConsole)]
        if present:
            present[0].said_too = present[0].said_too or said_too
        else:
            handler.addFilter(HandledOnConsole(said_too))


def failure_reason(file_name: str, exc: BaseException) -> str:
    """One failed file: its name and why; a handled failure in its own words, a bug with its exception type."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{file_name}: {text}" if handled_failure(exc) and text else f"{file_name}: {type(exc).__name__}: {text}"


def source_failure(source: Any, exc: BaseException, tries: int) -> str:
    """Why a province's source failed: a handled failure (down, refusing, missing) in one Chinese line with its
    code; a bug in fupin with its exception type (its traceback is in the pull task's log)."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    if handled_failure(exc):
        url = re.sub(r"//[^/@]*@", "//", str(getattr(source, "url", "")))  # never a password written in a URL
        return say("source_failed", url=url, tries=tries, error=text or type(exc).__name__)
    return f"{type(exc).__name__}: {text}"


def join_reasons(reasons: list[str]) -> str:
    """'a.csv: why; b.csv: why' with the files that failed for the same reason named together (a.csv、b.csv: why)."""
    by_reason: dict[str, list[str]] = {}
    for reason in reasons:
        name, sep, why = reason.partition(": ")
        by_reason.setdefault(why if sep else reason, []).append(name if sep else "")
    return "; ".join(
        f"{'、'.join(n for n in names if n)}: {why}" if any(names) else why for why, names in by_reason.items()
    )


def failure_message(summary: dict[str, Any]) -> str:
    """One Chinese line naming every failed province (name and code), its files and why, with the code
    ``run_failed``: the flow run's state message, the worker's log line and the alert's text."""
    failed, names = summary["failed_provinces"], submitters()
    reasons = "；".join(f"{names.get(p, p)} {p}：{reason.splitlines()[0]}" for p, reason in sorted(failed.items()))
    listed = "、".join(f"{names.get(p, p)} {p}" for p in sorted(failed))
    return say("run_failed", count=len(failed), provinces=listed, reasons=reasons)


def province_lines(summary: dict[str, Any]) -> list[str]:
    """One line per province of the run for the engineer: name and code, files, rows loaded and rejected, status."""
    names = submitters()
    codes = sorted(
        set(summary.get("provinces", []))
        | {s["province_code"] for s in summary["submissions"]}
        | set(summary["failed_provinces"])
    )
    lines = []
    for code in codes:
        mine = [s for s in summary["submissions"] if s["province_code"] == code]
        loaded = sum(s["rows_loaded"] for s in mine if s["status"] in ("loaded", "partially_loaded"))
        rejected = sum(s["rows_rejected"] for s in mine)
        statuses: dict[str, int] = {}
        for s in mine:
            statuses[s["status"]] = statuses.get(s["status"], 0) + 1
        if code in summary["failed_provinces"]:
            status = "failed"
        elif "held" in statuses:
            status = "held"
        elif rejected or "rejected" in statuses:
            status = "rejected rows"
        else:
            status = "ok" if mine else "nothing new"
        counts = ", ".join(f"{n} {k}" for k, n in sorted(statuses.items()))
        line = (
            f"province {names.get(code, code)} ({code}): {status}; {len(mine)} files"
            f"{f' ({counts})' if counts else ''}, {loaded} rows loaded, {rejected} rejected"
        )
        if code in summary["failed_provinces"]:
            line += f"; failed: {summary['failed_provinces'][code].splitlines()[0]}"
        lines.append(line)
    return lines


@task(cache_policy=NO_CACHE)
def summarise_run(
    outcome_paths: list[str],
    loaded: dict[str, Any],
    failed: dict[str, str],
    paths: Paths,
    provinces: list[str] | None = None,
) -> dict[str, Any]:
    """Counts per status, one line per submission, failed provinces, and the exit code.

    ``provinces``: every province the run pulled, so that one with nothing new still gets its line.
    """
    outcomes = sorted((Outcome.load(p) for p in outcome_paths), key=lambda o: (o.province_code, o.file_name))
    submissions = [
        {
            "submission_id": o.submission_id,
            "province_code": o.province_code,
            "file_name": o.file_name,
            "dataset": o.dataset,
            "status": o.status,
            "rows_total": o.rows_total,
            "rows_loaded": o.rows_loaded,
            "rows_rejected": o.rows_rejected,
            "message": o.message,
        }
        for o in outcomes
    ]
    superseded = set(loaded.get("superseded", []))
    for s in submissions:
        if s["submission_id"] in superseded:
            s["status"] = "superseded"
    # what waits for a person comes first
    submissions.sort(key=lambda s: s["status"] != "held")
    by_status: dict[str, int] = {}
    for s in submissions:
        by_status[s["status"]] = by_status.get(s["status"], 0) + 1
    rejected = any(o.status in ("rejected", "held") or o.rows_rejected for o in outcomes)
    # a failed data test (a headline figure lacking counties, …) is never a success, though everything loaded
    checks_failed = bool(loaded.get("data_tests"))
    exit_code = EXIT_FAILED if failed else EXIT_REJECTED if rejected or checks_failed else EXIT_OK
    return {
        "home": str(paths.home),
        "provinces": sorted(set(provinces or []) | {o.province_code for o in outcomes} | set(failed)),
        "received": len(outcomes),
        "by_status": by_status,
        "rows_loaded": sum(o.rows_loaded for o in outcomes if o.status in ("loaded", "partially_loaded")),
        "rows_rejected": sum(o.rows_rejected for o in outcomes),
        "submissions": submissions,
        "held": [s for s in submissions if s["status"] == "held"],
        "indicator_changes": loaded.get("indicator_changes", 0),
        "failed_provinces": failed,
        "data_tests_failed": loaded.get("data_tests", {}),
        "incomplete_figures": loaded.get("incomplete", []),
        "unreconciled": loaded.get("unreconciled", []),
        "warehouse_changed": loaded.get("changed", False),
        "exit_code": exit_code,
    }


def incomplete_message(summary: dict[str, Any]) -> str | None:
    """One Chinese line naming the headline figures that lack counties (None when every one is complete)."""
    found = summary.get("incomplete_figures") or []
    if not found:
        return None
    by_note: dict[tuple[str, str], list[str]] = {}  # the figures of one scope that lack the same counties together
    for r in found:
        by_note.setdefault((r["scope_name"], r["coverage_note"]), []).append(f"{r['indicator_name']} {r['period']}")
    figures = "；".join(f"{scope}（{note}）：{'、'.join(named)}" for (scope, note), named in by_note.items())
    return say("headline_incomplete", n=len(found), figures=figures)


def _outcome(summary: dict[str, Any]) -> str:
    """meta.runs.outcome of a finished run: failed, rejected (rows or files rejected, or held), checks_failed
    (everything loaded, but a data test failed: a headline figure lacking counties) or completed."""
    code = summary["exit_code"]
    if code == EXIT_FAILED:
        return "failed"
    if code != EXIT_REJECTED:
        return "completed"
    rejected = summary["rows_rejected"] or summary.get("held") or summary["by_status"].get("rejected")
    return "checks_failed" if summary.get("data_tests_failed") and not rejected else "rejected"


def runs_dir(paths: Paths):
    """<home>/runs: one JSON file per flow run, outside the warehouse so a no-op run leaves it untouched."""
    return paths.home / "runs"


@task(cache_policy=NO_CACHE)
def record_run(paths: Paths, started_at: str, summary: dict[str, Any] | None, flow_name: str = "nightly") -> str:
    """Write <home>/runs/<flow_run_id>.json atomically: a start record (summary None) or the run's outcome."""
    from prefect.runtime import flow_run  # lazy: Prefect only in a run, not for the commands reading run records

    run_id = flow_run.id or f"local-{started_at}"
    record: dict[str, Any] = {
        "run_id": run_id,
        "flow_name": flow_name,
        "run_name": flow_run.name,
        "started_at": started_at,
        "ended_at": None,
        "outcome": "running",
        # who runs it: the next run marks a 'running' record whose process is gone as crashed
        "pid": os.getpid(),
        "host": socket.gethostname(),
    }
    if summary is not None:
        code = summary["exit_code"]
        record.update(
            ended_at=datetime.now(UTC).isoformat(timespec="seconds"),
            outcome=_outcome(summary),
            exit_code=code,
            received=summary["received"],
            rows_loaded=summary["rows_loaded"],
            rows_rejected=summary["rows_rejected"],
            failed_provinces=sorted(summary["failed_provinces"]),
            failures=summary["failed_provinces"],  # province → file and reason, for the day's report
            message=failure_message(summary) if summary["failed_provinces"] else None,
            warehouse_changed=summary.get("warehouse_changed", False),
        )
    return str(write_text_atomic(runs_dir(paths) / f"{run_id}.json", json.dumps(record, ensure_ascii=False)))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _is_dead(record: dict[str, Any]) -> bool:
    """A 'running' record whose process is gone; one on another host or of an older format counts as dead too,
    since the caller holds the home's run lock and no run can be under way without it."""
    pid = record.get("pid")
    if not isinstance(pid, int) or record.get("host") != socket.gethostname():
        return True
    return pid != os.getpid() and not _alive(pid)


def run_records(paths: Paths) -> list[tuple[Path, dict[str, Any]]]:
    """Every readable run record (<home>/runs/*.json) with its file, oldest start first."""
    out = []
    for file in runs_dir(paths).glob("*.json"):
        try:
            out.append((file, json.loads(file.read_text(encoding="utf-8"))))
        except (OSError, ValueError):
            continue
    return sorted(out, key=lambda fr: fr[1].get("started_at") or "")


def mark_crashed_runs(paths: Paths) -> list[str]:
    """Rewrite as 'crashed' every run record left 'running' by a run that died; returns their run ids.

    Called under the run lock. A run that waits for the lock has written its start record but is
    alive, so only records whose process is gone are marked; this run's own record is alive too.
    """
    folder = runs_dir(paths)
    from prefect.runtime import flow_run  # lazy: Prefect only in a run, not for the commands reading run records

    marked = []
    own = flow_run.id
    for file in sorted(folder.glob("*.json")) if folder.exists() else []:
        try:
            record = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if record.get("outcome") != "running" or record.get("run_id") == own or not _is_dead(record):
            continue
        record.update(
            outcome="crashed",
            message=say("run_crashed", at=datetime.now(UTC).isoformat(timespec="seconds")),
        )
        write_text_atomic(file, json.dumps(record, ensure_ascii=False))
        marked.append(str(record.get("run_id")))
    return marked


def runs_view_sql(paths: Paths) -> str:
    """DDL of the ``meta.runs`` view over <home>/runs/*.json (a path cannot be a bound parameter in a view)."""
    pattern = f"{runs_dir(paths).relative_to(paths.home).as_posix()}/*.json"  # relative: the home may move
    columns = ", ".join(f"{name}: '{kind}'" for name, kind in RUN_COLUMNS.items())
    return (
        "create or replace view meta.runs as select * from read_json("
        f"'{pattern}', format = 'newline_delimited', columns = {{{columns}}}) order by started_at"
    )


def create_runs_view(con, paths: Paths) -> None:
    """Create ``meta.runs`` (one row per flow run: start, end, outcome, counts) in an open warehouse connection.

    The view binds at creation, so it needs one run file: the flow writes its start record first.
    """
    if not any(runs_dir(paths).glob("*.json")):
        return
    search_home(con, paths.home)
    con.execute(runs_view_sql(paths))
    con.execute(relation("meta.runs").comment_sql("view"))
