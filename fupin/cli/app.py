"""The typer app every command registers on, the options they share and the few ways they print and fail.

What `fupin --help` imports stays light (typer, rich, the text helpers): a command loads the warehouse,
DuckDB and Prefect when it runs, not when the help is read.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.text import Text

from fupin.core.messages import say
from fupin.core.safe_text import printable

if TYPE_CHECKING:
    import duckdb

    from fupin.core.config import Paths

app = typer.Typer(
    help="fupin: provincial poverty-alleviation submissions → Parquet lake → DuckDB warehouse → indicators.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="Folder of raw archive, lake and warehouse (default $FUPIN_HOME or data/)."),
]


def fail(message: str, code: int = 1) -> None:
    """One line on stderr, then the exit code (1: an error)."""
    typer.echo(f"error: {printable(message)}", err=True)
    raise typer.Exit(code)


def text(value: Any, limit: int | None = None) -> Text:
    """A stored value for a rich table or line: never read as markup, control characters shown escaped."""
    shown = "" if value is None else printable(value)
    return Text(shown[:limit] if limit else shown)


def paths(home: Path | None) -> Paths:
    """The home's folders; from here on what a command writes is its owner's alone."""
    from fupin.core.config import Paths  # lazy: YAML and the division list (~30 ms) are not needed for --help

    os.umask(0o077)  # what a command writes (exports, reports, the demo's registries) is the owner's alone
    return Paths.from_home(home)


def warehouse(home: Path | None) -> Path:
    """The warehouse file, or a one-line error when no run has built it yet."""
    path = paths(home).warehouse
    if not path.exists():
        fail(say("no_warehouse", path=path))
    return path


def connect(home: Path | None, as_of: datetime | None = None) -> duckdb.DuckDBPyConnection:
    """The analysts' sandbox (fupin.warehouse.read): the warehouse and its lake readable, nothing else."""
    import duckdb  # lazy: DuckDB (~60 ms) only for the commands that open the warehouse, not for --help

    from fupin.warehouse import read  # lazy: imports DuckDB and the contracts

    path = warehouse(home)
    try:
        return read.connect(path, as_of)
    except duckdb.Error as exc:
        fail(say("warehouse_unreadable", path=path, error=str(exc).splitlines()[0]))


def as_of_moment(home: Path | None, as_of: str) -> tuple[datetime, str | None]:
    """``--as-of`` as a moment, and the Chinese line that says it is before the first submission (None: it is
    not). A text that is not a moment ends the command with its message."""
    from fupin.warehouse import read  # lazy: the read API imports DuckDB and the contracts, not for --help

    try:
        moment = read.moment_of(as_of)
    except ValueError as exc:
        fail(str(exc))
    with connect(home) as con:
        first = read.first_received(con)
    if first is None or moment <= first:
        earliest = "尚未收到任何报送" if first is None else f"最早的回执日期为 {shanghai_day(first)}"
        return moment, say("before_first_submission", as_of=as_of, earliest=earliest)
    return moment, None


def shanghai_day(moment: datetime) -> str:
    """The calendar day of a moment in Asia/Shanghai, as the Ministry dates things."""
    return moment.astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
