"""`fupin status`: every expected or received submission's state today (报送情况): who sent what, who is late,
what is held, failed or discarded."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from fupin.cli.app import HomeOption, connect, fail, paths, shanghai_day, text
from fupin.core.messages import say
from fupin.core.safe_text import printable


def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON rows.")] = False,
    everything: Annotated[
        bool, typer.Option("--all", help="Every expected submission, not only those that need someone.")
    ] = False,
    home: HomeOption = None,
) -> None:
    """Every submission's state today: received, late, held, failed, discarded, missing (报送情况)."""
    # lazy: the calendar reads the warehouse through the pipeline's modules (Prefect, ~5 s), not for --help
    from fupin.core.config import ConfigError
    from fupin.tasks.calendar import ATTENTION, STATUS_LABELS, calendar_file, submission_status

    where = paths(home)
    has_calendar = calendar_file(where).exists()
    try:
        with connect(home) as con:
            rows = submission_status(con, where)
    except ConfigError as exc:
        fail(str(exc))
    # without a calendar nothing is late or missing: every row the ledger gives is shown
    shown = rows if everything or not has_calendar else [r for r in rows if r["status"] in ATTENTION]
    if not has_calendar:  # said first, on stderr beside --json
        typer.echo(printable(say("no_calendar", file=calendar_file(where))), err=as_json)
    if as_json:
        typer.echo(json.dumps(shown, ensure_ascii=False, indent=1, default=str))
        return
    console = Console(width=160)
    title = "报送情况（fupin status）" + ("" if everything or not has_calendar else "：需要跟进的")
    table = Table(title=title, title_justify="left")
    for col in ("省份", "数据集", "期间", "截止日期", "状态", "逾期天数", "最近入库", "文件（报送编号）"):
        table.add_column(col, overflow="fold")
    for r in sorted(
        shown,
        key=lambda r: (
            ATTENTION.index(r["status"]) if r["status"] in ATTENTION else 9,
            r["province_code"],
            r["dataset"] or "",
            r["period"] or 0,
        ),
    ):
        state = STATUS_LABELS[r["status"]] + ("（此前已入库）" if r["received_before"] else "")
        if r["status"] == "failed" and not r["dataset"] and not r["submission_id"]:
            state += "（数据来源）"
        table.add_row(
            *map(
                text,
                (
                    r["province_name"],
                    r["dataset_name"] or r["dataset"] or "",
                    r["period"] or "",
                    r["due_date"] or "",
                    state,
                    r["days_late"] or "",
                    shanghai_day(r["last_received"]) if r["last_received"] else "",
                    f"{r['file_name']}（{r['submission_id']}）" if r["submission_id"] else "",
                ),
            )
        )
    console.print(table)
    counts = {s: sum(r["status"] == s for r in rows) for s in STATUS_LABELS}
    console.print("；".join(f"{STATUS_LABELS[s]} {n}" for s, n in counts.items() if n) or "没有应报或已收到的报送")
