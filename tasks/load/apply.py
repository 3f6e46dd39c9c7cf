"""One submission in one transaction: its facts applied, the plausibility gate, its ledger row.

A submission the gate finds beyond its contract's bounds is rolled back and held for a person; what a
submission replaces entirely is marked superseded in the ledger.
"""

from __future__ import annotations

import duckdb

from fupin.core.messages import code_in, render, say
from fupin.tasks import gate
from fupin.tasks.load.facts import apply_facts, fact_tables
from fupin.tasks.load.ledger import LIVE, supersede_held, write_ledger
from fupin.tasks.records import Outcome


def load_submission(con: duckdb.DuckDBPyConnection, o: Outcome, guard: float | None, replay: bool) -> list[str]:
    """Ledger row, rejections and facts of one submission, in one transaction; returns the ids it superseded.

    A submission the plausibility gate finds beyond its contract's bounds (tasks/gate.py: a total falling or
    rising too far, a value corrected by too large a factor, a likely unit slip, an outlier) is held instead:
    none of its facts are applied until a person approves it. ``guard`` replaces the contracts' max_fall.
    """
    con.execute("begin")
    if o.status not in LIVE:
        write_ledger(con, o)
        con.execute("commit")
        return []
    stamp = o.applied_at or o.received_at
    guarded = not o.approved and not replay  # approved, or replayed by a rebuild: never held again
    before = gate.snapshot(con, o) if guarded else {}
    apply_facts(con, o, stamp)
    found = gate.problems(con, o, before, stamp, guard) if guarded else []
    if found:
        retired = gate.retired(con, o, before, stamp)  # what a person weighs before approving: kept past the rollback
        con.execute("rollback")
        con.execute("begin")
        con.execute("delete from meta.held_retirements where submission_id = ?", [o.submission_id])
        if retired:
            con.executemany(
                "insert into meta.held_retirements (submission_id, dataset, year, county_code, prefecture_code, "
                "key_detail) values (?, ?, ?, ?, ?, ?)",
                retired,
            )
        o.status, o.applied_at = "held", None
        held = gate.held(o, found)
        o.message, o.message_code = render(held), held.code
    else:
        gate.drop_snapshot(con, before)
        o.applied_at = stamp
        if o.kind == "full" and o.rows_rejected:
            note = say("full_with_rejections")
            o.message = "；".join(filter(None, [o.message, note]))
            o.message_code = o.message_code or code_in(o.message)
    supersede_held(con, o)
    write_ledger(con, o)
    superseded = []
    if o.status in LIVE:
        facts = " union all ".join(f"select submission_id from {t} where valid_to is null" for t in fact_tables())
        ever = " union all ".join(f"select submission_id from {t}" for t in fact_tables())
        superseded = [
            sid
            for (sid,) in con.execute(
                f"select submission_id from meta.submissions where province_code = ? and status in ('loaded', "
                f"'partially_loaded') and submission_id <> ? and submission_id not in ({facts}) "
                f"and submission_id in ({ever})",
                [o.province_code, o.submission_id],
            ).fetchall()
        ]
        for sid in superseded:
            con.execute(
                "update meta.submissions set status = 'superseded', message = ?, message_code = 'superseded' "
                "where submission_id = ?",
                [say("superseded", id=o.submission_id, name=o.file_name), sid],
            )
    con.execute("commit")
    return superseded
