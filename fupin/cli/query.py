"""`fupin query`: one read-only SELECT against the warehouse, for people (a table) or pipes (CSV, JSON)."""

from __future__ import annotations

import csv
import json
import re
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from fupin.cli.app import HomeOption, connect, fail, text
from fupin.core.formatting import is_number, json_value, number_text


def query(
    sql: Annotated[str, typer.Argument(help="SQL to run read-only against the warehouse.")],
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV output for pipes.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON rows for pipes.")] = False,
    home: HomeOption = None,
) -> None:
    """Run one read-only SELECT against the warehouse (no files, ATTACH, COPY, SET or extensions)."""
    import duckdb  # lazy: DuckDB (~60 ms) only when a query runs, not for --help

    from fupin.core.readonly import QueryRefused, refusal_of, single_select  # lazy: imports DuckDB

    try:
        single_select(sql)
    except QueryRefused as exc:
        fail(str(exc))
    with connect(home) as con:
        try:
            cur = con.execute(sql)
        except duckdb.Error as exc:
            fail(refusal_of(exc))
        cols = [d[0] for d in cur.description] if cur.description else []
        rows = cur.fetchall()
    if as_json:
        records = [dict(zip(cols, r, strict=True)) for r in rows]
        typer.echo(json.dumps(records, ensure_ascii=False, default=json_value))
    elif as_csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(cols)
        writer.writerows(rows)
    else:
        _print_query(cols, rows)


_YEAR_COLUMN = re.compile(r"(?:^|_)(?:year|period)$|年", re.IGNORECASE)


def _print_query(cols: list[str], rows: list[tuple]) -> None:
    """A query's rows for people: numbers right-aligned with thousands separators, every digit kept, the count last."""
    numeric = [
        any(is_number(r[i]) for r in rows) and all(r[i] is None or is_number(r[i]) for r in rows)
        for i in range(len(cols))
    ]
    # a year is a label, not a quantity: 2017, never 2,017
    plain = [bool(_YEAR_COLUMN.search(c)) for c in cols]
    table = Table()
    for c, right in zip(cols, numeric, strict=True):
        table.add_column(text(c), justify="right" if right else "left")
    for r in rows:
        table.add_row(*[text(v) if p or not is_number(v) else number_text(v) for v, p in zip(r, plain, strict=True)])
    console = Console(width=200)
    console.print(table)
    console.print(f"共 {len(rows)} 行")
