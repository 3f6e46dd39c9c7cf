"""A person's decision on a held submission: approve it (its facts take effect now) or discard it.

A submission is held when the plausibility gate finds it beyond its contract's bounds (tasks/gate.py).
Both flows take the run lock, load through the same copy-and-swap as the nightly run, and record the
decision in meta.decisions; the figures it changes are in marts.indicator_changes. Called as flows (a
deployment, or `fupin approve` where PREFECT_API_URL names a server) they are Prefect runs; `fupin approve`
without a server calls their functions (``approve.fn``) in process: the same lock, load and ledger, no
Prefect server started for it.
"""

from __future__ import annotations

import getpass
import os
import shutil
from datetime import UTC, datetime
from typing import Any

from prefect import flow
from prefect.context import FlowRunContext

from fupin.core.config import Paths
from fupin.core.locking import run_lock
from fupin.core.messages import say
from fupin.tasks.archive import ledger_outcome_records
from fupin.tasks.deferred import get_run_logger
from fupin.tasks.load import load_warehouse
from fupin.tasks.records import Outcome


class DecisionError(ValueError):
    """The submission cannot be decided (unknown, or not held), with the reason in Chinese."""


def decider(by: str | None) -> str:
    """Who decides: --by, else the operating system user."""
    return by or os.environ.get("USER") or getpass.getuser()


def held_outcome(paths: Paths, submission_id: str) -> Outcome:
    """The held submission as an outcome ready to load again; DecisionError when it is not held."""
    found = ledger_outcome_records(paths, only={submission_id})
    if not found:
        raise DecisionError(say("submission_not_found", id=submission_id))
    outcome = found[0]
    if outcome.status != "held":
        why = f"：{outcome.message}" if outcome.message and outcome.status == "superseded" else ""
        raise DecisionError(
            say("submission_not_held", id=submission_id, name=outcome.file_name, status=outcome.status, why=why)
        )
    return outcome


def _decide(paths: Paths, outcome: Outcome, decision: dict[str, Any]) -> dict[str, Any]:
    path = outcome.save(paths.staging / "decisions" / f"{outcome.submission_id}.json")
    try:
        # a task run inside a flow run; in process (no flow run, no server) the same function called directly
        load = load_warehouse if FlowRunContext.get() else load_warehouse.fn
        loaded = load([str(path)], paths, decisions=[decision])
    finally:
        shutil.rmtree(paths.staging / "decisions", ignore_errors=True)
    result = {
        "submission_id": outcome.submission_id,
        "file_name": outcome.file_name,
        "status": outcome.status,
        "decision": decision["decision"],
        "decided_by": decision["decided_by"],
        "indicator_changes": loaded.get("indicator_changes", 0),
        "incomplete_figures": loaded.get("incomplete", []),  # headline figures lacking counties after the decision
    }
    get_run_logger().info("decision: %s", result)
    return result


@flow(name="approve")
def approve(
    submission_id: str, by: str | None = None, home: str | None = None, lock_wait_seconds: float = 60.0
) -> dict[str, Any]:
    """Apply a held submission now: its facts become current, recorded as approved by ``by``."""
    paths = Paths.from_home(home)
    with run_lock(paths.lock, lock_wait_seconds):
        outcome = held_outcome(paths, submission_id)
        now = datetime.now(UTC).isoformat(timespec="microseconds")
        who = decider(by)
        outcome.status = "partially_loaded" if outcome.rows_rejected else "loaded"
        outcome.applied_at, outcome.approved = now, True
        outcome.message = say("approved", who=who, earlier=outcome.message or "")
        outcome.message_code = "approved"
        return _decide(
            paths,
            outcome,
            {"submission_id": submission_id, "decision": "approved", "decided_by": who, "decided_at": now},
        )


@flow(name="discard")
def discard(
    submission_id: str,
    reason: str,
    by: str | None = None,
    home: str | None = None,
    lock_wait_seconds: float = 60.0,
) -> dict[str, Any]:
    """Close a held submission without applying it; the published figures stay as they are."""
    if not reason.strip():
        raise DecisionError(say("reason_required"))
    paths = Paths.from_home(home)
    with run_lock(paths.lock, lock_wait_seconds):
        outcome = held_outcome(paths, submission_id)
        now = datetime.now(UTC).isoformat(timespec="microseconds")
        who = decider(by)
        outcome.status = "discarded"
        outcome.message = say("discarded", who=who, reason=reason.strip(), earlier=outcome.message or "")
        outcome.message_code = "discarded"
        return _decide(
            paths,
            outcome,
            {
                "submission_id": submission_id,
                "decision": "discarded",
                "decided_by": who,
                "decided_at": now,
                "reason": reason.strip(),
            },
        )
