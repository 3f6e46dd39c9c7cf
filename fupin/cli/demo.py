"""`fupin demo`: the demo inbox (and its reporting calendar), or a synthetic registry for the benchmarks."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from fupin.cli.app import HomeOption, paths


def demo(
    out: Annotated[Path | None, typer.Option(help="Folder to write the demo inbox to (default <home>/inbox).")] = None,
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

    target = out or paths(home).home / "inbox"
    files = synthetic_inbox(target, households) if households else write_demo(target)
    typer.echo(f"wrote {len(files)} demo submissions to {target}")
    calendar = calendar_file(paths(home))
    if not households and not calendar.exists():  # the reporting calendar the demo's provinces follow
        calendar.parent.mkdir(parents=True, exist_ok=True)
        demo_calendar = resources.files("fupin.warehouse").joinpath("seeds/calendar.demo.yaml")
        calendar.write_text(demo_calendar.read_text(encoding="utf-8"), encoding="utf-8")
        typer.echo(f"wrote the demo reporting calendar to {calendar}")
    for f in files:
        typer.echo(f"  {f.relative_to(target)}")
