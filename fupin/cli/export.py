"""`fupin export`: the indicator table or a warehouse table as a file an official opens in Excel."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fupin.cli.app import HomeOption, connect, fail, paths


def export(
    out: Annotated[Path, typer.Option("--out", help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="xlsx or csv (UTF-8 with BOM).")] = "xlsx",
    indicators_: Annotated[bool, typer.Option("--indicators", help="Export the indicator table.")] = False,
    table: Annotated[
        str | None, typer.Option("--table", help="Export one warehouse table, e.g. core.dim_county.")
    ] = None,
    home: HomeOption = None,
) -> None:
    """Write the indicator table or a warehouse table as a file an official opens in Excel."""
    from fupin.export import ExportError  # lazy: the exporter's DuckDB and contracts, not for --help
    from fupin.export import export as export_file

    where = paths(home)
    connect(home).close()  # one line, not a traceback, when the warehouse does not open
    try:
        target, rows = export_file(where.warehouse, out, fmt.lower(), indicators=indicators_, table=table)
    except ExportError as exc:
        fail(str(exc))
    typer.echo(f"wrote {rows} rows to {target}")
