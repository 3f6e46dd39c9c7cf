"""`fupin indicators`: the published figures now, as they stood on a day, or how they changed; the headline lines."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from fupin.cli.app import HomeOption, as_of_moment, connect, fail, shanghai_day, text
from fupin.core.formatting import figure_text, json_value
from fupin.core.reference import KEY_INDICATORS


def shown_figure(r: dict[str, Any], unit_name: str | None = None) -> str:
    """A figure as printed, with what it lacks: 60.67亿元（17/23 县，缺湖南省 6 县）; a withheld one: 不予公布（…）."""
    figure = figure_text(r["value"], r["unit"], unit_name) if r["value"] is not None else "不予公布"
    return f"{figure}（{r['coverage_note']}）" if r.get("coverage_note") else figure


def coverage_text(r: dict[str, Any]) -> str:
    """The counties a figure covers: 23/23, or its note when it lacks some; empty where coverage does not apply."""
    if r.get("coverage_note"):
        return r["coverage_note"]
    if r.get("counties_expected") is None:
        return ""
    return f"{r['counties_covered']}/{r['counties_expected']} 县"


def _brief_order(period: str) -> tuple[bool, str]:
    """Which period an area's line shows: a span of years (2015-2017) over a single year, then the latest."""
    return ("-" in period, period.split("-")[-1])


def print_headline(con) -> None:
    """A line per area (not its provincial parts or counties) with its latest brief figures, then where the rest is."""
    from fupin.warehouse import read  # lazy: the read API imports DuckDB and the contracts, not for --help

    definitions = read.indicator_definitions(con)
    labels = {d["indicator"]: d["name"] for d in definitions}
    unit_names = {d["indicator"]: d["unit_name"] for d in definitions}
    areas: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {}
    for r in indicator_rows(con, "headline"):
        if r["indicator"] not in KEY_INDICATORS or ":" in r["scope_code"] or r["scope_code"].isdigit():
            continue
        name, figures = areas.setdefault(r["scope_code"], (r["scope_name"], {}))
        period = str(r["period"])
        if r["indicator"] not in figures or _brief_order(period) >= _brief_order(figures[r["indicator"]][0]):
            shown = shown_figure(r, unit_names.get(r["indicator"]))
            figures[r["indicator"]] = (period, shown)
    console = Console(width=400, highlight=False)  # one line per area, however long: a terminal wraps it
    for name, figures in areas.values():
        parts = [f"{labels.get(i) or i} {figures[i][0]} {figures[i][1]}" for i in KEY_INDICATORS if i in figures]
        console.print(text(f"{name}：" + "；".join(parts)), no_wrap=True)
    console.print("全部指标：fupin indicators（每个县：--all）")


def indicator_rows(con, scope: str) -> list[dict[str, Any]]:
    """'headline' (marts.headline: shared with the report and the artifact), 'areas' (areas, area parts and the
    Ministry's designated counties) or 'all' (every county too)."""
    from fupin.warehouse import read  # lazy: the read API imports DuckDB and the contracts, not for --help

    return read.headline(con) if scope == "headline" else read.indicators(con, counties=scope == "all")


def _print_indicators(rows: list[dict[str, Any]], title: str = "指标（marts.indicators）") -> None:
    from fupin.warehouse.build import indicator_names  # lazy: the warehouse's models (~0.5 s) only when printing

    names = indicator_names()
    table = Table(title=title, title_justify="left")
    for col in ("指标", "范围", "期间", "数值", "覆盖县"):
        table.add_column(col, justify="right" if col == "数值" else "left")
    for r in rows:
        table.add_row(
            text(f"{names.get(r['indicator'], '')} [{r['indicator']}]"),
            text(f"{r['scope_name']} [{r['scope_code']}]"),
            text(r["period"]),
            figure_text(r["value"], r["unit"]) if r["value"] is not None else "不予公布",
            text(coverage_text(r)),
        )
    Console(width=160).print(table)


def indicators(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON rows (values in yuan / fractions).")] = False,
    everything: Annotated[bool, typer.Option("--all", help="Every county's rows too, not only areas.")] = False,
    headline: Annotated[bool, typer.Option("--headline", help="Only the headline rows `fupin run` prints.")] = False,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="The table as it stood then (2018-10-30 = end of that day, Asia/Shanghai)."),
    ] = None,
    changes: Annotated[
        bool,
        typer.Option(
            "--changes", help="Every change to a published figure: before, after, and the submissions that moved it."
        ),
    ] = False,
    since: Annotated[
        str | None, typer.Option("--since", help="With --changes: only changes from this date (Asia/Shanghai) on.")
    ] = None,
    home: HomeOption = None,
) -> None:
    """Print the indicator table from the warehouse."""
    if changes:
        _print_changes(home, since, as_json)
        return
    scope = "all" if everything else "headline" if headline else "areas"
    if as_of:
        moment, before_first = as_of_moment(home, as_of)
        if before_first:
            typer.echo(before_first, err=as_json)
            if as_json:
                typer.echo("[]")
            return
        with connect(home, moment) as con:
            rows = indicator_rows(con, scope)
    else:
        with connect(home) as con:
            rows = indicator_rows(con, scope)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1, default=json_value))
    else:
        _print_indicators(rows)


def _print_changes(home: Path | None, since: str | None, as_json: bool) -> None:
    """marts.indicator_changes: each changed figure with its value before and after and the submissions behind it."""
    moment = None
    if since:
        from fupin.warehouse.asof import parse_moment  # lazy: DuckDB and the contracts (~0.4 s)

        try:
            moment = parse_moment(since, "--since") - timedelta(days=1)  # parse_moment gives the end of that day
        except ValueError as exc:
            fail(str(exc))
    from fupin.warehouse import read  # lazy: the read API imports DuckDB and the contracts, not for --help

    with connect(home) as con:
        rows, first = read.indicator_changes(con, moment)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1, default=json_value))
        return
    table = Table(title="已发布指标的变动（marts.indicator_changes）", title_justify="left")
    for col in ("时间", "指标", "范围", "期间", "变动前", "变动后", "来源报送"):
        table.add_column(col, justify="right" if col in ("变动前", "变动后") else "left", overflow="fold")
    for r in rows:
        cells = (
            shanghai_day(r["changed_at"]),
            f"{r['indicator_name'] or r['indicator']} [{r['indicator']}]",
            f"{r['scope_name']} [{r['scope_code']}]",
            r["period"],
            figure_text(r["value_before"], r["unit"]),
            figure_text(r["value_after"], r["unit"]),
        )
        # the submissions behind it, one a line: province《file as received》（kind） [id]
        names = [
            f"{n} [{s['submission_id']}]" for n, s in zip(r["submission_names"] or [], r["sources"] or [], strict=True)
        ]
        table.add_row(*map(text, cells), Text("\n").join(text(n) for n in names or [r["submissions"] or ""]))
    console = Console(width=200)
    console.print(table)
    console.print(f"共 {len(rows)} 项变动；另有 {first} 项为首次发布（不列出）。")
