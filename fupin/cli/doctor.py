"""`fupin doctor`: checks a home and says what to do, one Chinese line per finding (--fix repairs first)."""

from __future__ import annotations

from typing import Annotated

import typer

from fupin.cli.app import HomeOption, fail, paths
from fupin.core.messages import say


def doctor(
    home: HomeOption = None,
    fix: Annotated[
        bool, typer.Option("--fix", help="First repair what needs no judgement: receipts rewritten from the ledger.")
    ] = False,
) -> None:
    """Check a home: warehouse opens, stale WAL, lake files present, raw archive and key permissions, receipts."""
    # lazy: the checks read the warehouse through the pipeline's modules (DuckDB, Prefect), not for --help
    from fupin.core.locking import RunLocked
    from fupin.doctor import ERROR, check_home, fix_home

    if fix:
        try:
            for line in fix_home(paths(home)):
                typer.echo(line)
        except RunLocked:
            fail(say("run_in_progress"))
    findings = check_home(paths(home))
    for finding in findings:
        typer.echo(finding.line())
    if not findings:
        typer.echo(say("ok"))
    raise typer.Exit(1 if any(f.level == ERROR for f in findings) else 0)
