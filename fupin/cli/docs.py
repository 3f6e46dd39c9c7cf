"""`fupin docs` and `fupin report`: the data dictionary and the day's HTML report, from the warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fupin.cli.app import HomeOption, connect, fail, paths
from fupin.core.messages import say


def report(home: HomeOption = None) -> None:
    """Rebuild today's HTML report (<home>/reports/<date>.html, Asia/Shanghai) from the warehouse."""
    from fupin.tasks.report import write_report  # lazy: the report's queries and Prefect (~5 s), not for --help

    where = paths(home)
    connect(home).close()  # one line, not a traceback, when the warehouse does not open
    target = write_report(where)
    typer.echo(f"wrote {target} ({target.stat().st_size / 1e6:.1f} MB)")


def docs(
    out: Annotated[Path | None, typer.Option(help="Folder for the data dictionary (default <home>/docs).")] = None,
    lang: Annotated[str, typer.Option("--lang", help="zh (Chinese, the default) or en (English).")] = "zh",
    home: HomeOption = None,
) -> None:
    """Write the data dictionary (Markdown and HTML) from the warehouse's comments."""
    from fupin.docs import LANGUAGES, write_docs  # lazy: the contracts and the warehouse's models, not for --help

    if lang not in LANGUAGES:
        fail(say("unknown_language", languages=" 或 ".join(LANGUAGES), lang=lang))
    where = paths(home)
    connect(home).close()  # one line, not a traceback, when the warehouse does not open
    for written in write_docs(where.warehouse, out or where.home / "docs", lang):
        typer.echo(f"wrote {written}")
