"""`fupin check FILE`: a dry run of one form, writing nothing to the home."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from fupin.cli.app import HomeOption, fail, paths
from fupin.core.formatting import json_value


def check(
    file: Annotated[Path, typer.Argument(help="The form to check (XLSX, CSV, JSON …), as a province would send it.")],
    province: Annotated[
        str | None,
        typer.Option(help="Who sends it: code, Chinese name or pinyin (default: the home's inbox folder holding it)."),
    ] = None,
    home: HomeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
) -> None:
    """Dry run: how a run would read FILE and what it would change; writes nothing to the home.

    Exit 0 when every row would load, 3 when rows or the file would be rejected or held, 1 on error.
    """
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    # lazy, after Prefect's settings above: the pipeline's tasks import Prefect and pandas (~5 s)
    from fupin.core.config import ConfigError
    from fupin.tasks.check import CheckError, check_file, render
    from fupin.tasks.identity.hashing import MissingKeyError

    where = paths(home)
    try:
        found = check_file(file, where.home, province)
    except (CheckError, ConfigError, MissingKeyError) as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(found.as_json(), ensure_ascii=False, indent=1, default=json_value))
    else:
        for line in render(found, where.home):
            typer.echo(line)
    raise typer.Exit(found.exit_code)
