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
    verify_archive: Annotated[
        bool,
        typer.Option(
            "--verify-archive",
            help="Also read every file of the raw archive through and compare its SHA-256 with the one received.",
        ),
    ] = False,
) -> None:
    """Check a home: warehouse opens, stale WAL, lake files present, raw archive and key permissions, receipts."""
    # lazy: the checks read the warehouse through the pipeline's modules (DuckDB, Prefect), not for --help
    from fupin.core.locking import RunLocked
    from fupin.doctor import ERROR, check_home, fix_home
    from fupin.doctor import verify_archive as verify

    if fix:
        try:
            for line in fix_home(paths(home)):
                typer.echo(line)
        except RunLocked:
            fail(say("run_in_progress"))
    findings = check_home(paths(home))
    if verify_archive:
        damaged, intact = verify(paths(home))
        findings += damaged
        typer.echo(say("raw_verified", count=intact) if not damaged else say("raw_checked", count=intact))
    for finding in findings:
        typer.echo(finding.line())
    if not findings:
        typer.echo(say("ok"))
    raise typer.Exit(1 if any(f.level == ERROR for f in findings) else 0)
