"""`fupin status`: the reporting calendar today (报送情况): who sent what, who is late, what is held or failed."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from fupin.cli.app import HomeOption, connect, fail, paths, shanghai_day, text
from fupin.core.messages import say


def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON rows.")] = False,
    everything: Annotated[
        bool, typer.Option("--all", help="Every expected submission, not only the late ones.")
    ] = False,
    home: HomeOption = None,
) -> None:
    """The reporting calendar today: who sent what, who is late, what is held or failed (报送情况)."""
    # lazy: the calendar reads the warehouse through the pipeline's modules (Prefect, ~5 s), not for --help
    from fupin.core.config import ConfigError
    from fupin.tasks.calendar import ATTENTION, STATUS_LABELS, calendar_file, submission_status
    from fupin.warehouse.contracts import contracts

    where = paths(home)
    if not calendar_file(where).exists():
        fail(say("no_calendar", file=calendar_file(where)))
    try:
        with connect(home) as con:
            rows = submission_status(con, where)
    except ConfigError as exc:
        fail(str(exc))
    shown = rows if everything else [r for r in rows if r["status"] in ATTENTION]
    if as_json:
        typer.echo(json.dumps(shown, ensure_ascii=False, indent=1, default=str))
        return
    table = Table(title="报送情况（fupin status）" + ("" if everything else "：需要跟进的"), title_justify="left")
    for col in ("省份", "数据集", "期间", "截止日期", "状态", "逾期天数", "最近收到"):
        table.add_column(col, overflow="fold")
    for r in sorted(
        shown, key=lambda r: (ATTENTION.index(r["status"]) if r["status"] in ATTENTION else 9, r["province_code"])
    ):
        label = contracts()[r["dataset"]].zh if r["dataset"] in contracts() else r["dataset"]
        table.add_row(
            *map(
                text,
                (
                    r["province_name"] or r["province_code"],
                    label,
                    r["period"],
                    r["due_date"],
                    STATUS_LABELS[r["status"]],
                    r["days_late"] or "",
                    shanghai_day(r["last_received"]) if r["last_received"] else "",
                ),
            )
        )
    console = Console(width=160)
    console.print(table)
    counts = {s: sum(r["status"] == s for r in rows) for s in STATUS_LABELS}
    console.print("；".join(f"{STATUS_LABELS[s]} {n}" for s, n in counts.items() if n) or "日历中没有应报项目")
