"""`fupin demo`: the demo inbox (and its reporting calendar), or a synthetic registry for the benchmarks."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from fupin.cli.app import HomeOption, paths
from fupin.core.messages import say

CALENDAR_SEED = "warehouse/seeds/calendar.demo.yaml"


def demo(
    out: Annotated[
        Path | None,
        typer.Option(
            help="Folder to write the demo inbox to (default <home>/inbox); the demo's reporting calendar goes to "
            "<home>/config/ only when --home or $FUPIN_HOME names the home."
        ),
    ] = None,
    households: Annotated[
        int | None,
        typer.Option(help="Instead: a synthetic registry of N households over every province (benchmarks)."),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Write the demo inbox: Jiangxi's and Hunan's submissions in the forms provinces use."""
    # lazy: the demo's forms need pandas and the pipeline's calendar (Prefect), which --help must not pay
    from fupin.demo import write_demo
    from fupin.demo.registry import synthetic_inbox
    from fupin.tasks.calendar import calendar_file

    # with --out, the home is the one named (--home or $FUPIN_HOME): never data/ of the current folder by default
    home_named = home is not None or bool(os.environ.get("FUPIN_HOME"))
    target = out or paths(home).home / "inbox"
    files = synthetic_inbox(target, households) if households else write_demo(target)
    typer.echo(f"wrote {len(files)} demo submissions to {target}")
    if not households and out is not None and not home_named:
        typer.echo(say("demo_calendar_not_written", calendar=CALENDAR_SEED))
    elif not households and not (calendar := calendar_file(paths(home))).exists():
        # the reporting calendar the demo's provinces follow
        calendar.parent.mkdir(parents=True, exist_ok=True)
        demo_calendar = resources.files("fupin.warehouse").joinpath(CALENDAR_SEED.removeprefix("warehouse/"))
        calendar.write_text(demo_calendar.read_text(encoding="utf-8"), encoding="utf-8")
        typer.echo(f"wrote the demo reporting calendar to {calendar}")
    for f in files:
        typer.echo(f"  {f.relative_to(target)}")
