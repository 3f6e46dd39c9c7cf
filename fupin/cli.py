"""The ``fupin`` command line (design.md, "Contract: command line")."""

from __future__ import annotations

import json
import os
import re
import sys
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer

from fupin.core.messages import codes_in, say

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


def _fail(message: str, code: int = 1) -> None:
    from fupin.core.safe_text import printable

    typer.echo(f"error: {printable(message)}", err=True)
    raise typer.Exit(code)


def _text(value: Any, limit: int | None = None):
    """A stored value for a rich table or line: never read as markup, control characters shown escaped."""
    from rich.text import Text

    from fupin.core.safe_text import printable

    shown = "" if value is None else printable(value)
    return Text(shown[:limit] if limit else shown)


def _paths(home: Path | None):
    from fupin.core.config import Paths

    os.umask(0o077)  # what a command writes (exports, reports, the demo's registries) is the owner's alone
    return Paths.from_home(home)


def _warehouse(home: Path | None) -> Path:
    """The warehouse file, or a one-line error when no run has built it yet."""
    path = _paths(home).warehouse
    if not path.exists():
        _fail(f"no warehouse at {path}: run `fupin run` first")
    return path


def _connect(home: Path | None, as_of=None):
    """The analysts' sandbox (fupin.warehouse.read): the warehouse and its lake readable, nothing else."""
    import duckdb

    from fupin.warehouse import read

    path = _warehouse(home)
    try:
        return read.connect(path, as_of)
    except duckdb.Error as exc:
        _fail(say("warehouse_unreadable", path=path, error=str(exc).splitlines()[0]))


@app.command()
def demo(
    out: Annotated[Path | None, typer.Option(help="Folder to write the demo inbox to (default <home>/inbox).")] = None,
    households: Annotated[
        int | None,
        typer.Option(help="Instead: a synthetic registry of N households over every province (benchmarks)."),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Write the demo inbox: Jiangxi's and Hunan's submissions in the forms provinces use."""
    from fupin.demo import write_demo
    from fupin.demo.registry import synthetic_inbox

    target = out or _paths(home).home / "inbox"
    files = synthetic_inbox(target, households) if households else write_demo(target)
    typer.echo(f"wrote {len(files)} demo submissions to {target}")
    from fupin.tasks.calendar import calendar_file

    calendar = calendar_file(_paths(home))
    if not households and not calendar.exists():  # the reporting calendar the demo's provinces follow
        calendar.parent.mkdir(parents=True, exist_ok=True)
        demo_calendar = resources.files("fupin.warehouse").joinpath("seeds/calendar.demo.yaml")
        calendar.write_text(demo_calendar.read_text(encoding="utf-8"), encoding="utf-8")
        typer.echo(f"wrote the demo reporting calendar to {calendar}")
    for f in files:
        typer.echo(f"  {f.relative_to(target)}")


@app.command()
def run(
    sources: Annotated[
        Path | None, typer.Option("--sources", help="sources.yaml listing one source per province.")
    ] = None,
    inbox: Annotated[
        Path | None, typer.Option(help="Folder with one subfolder per province (default <home>/inbox).")
    ] = None,
    home: HomeOption = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for another run to finish.")] = 60.0,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            "--dask-address",
            help="Fan the tasks out on Dask: 'local' starts a LocalCluster, tcp://host:8786 joins a cluster.",
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", help="For cron: only the summary line and the problems (failed, held).")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Prefect's own INFO log lines too.")] = False,
) -> None:
    """Run the nightly flow once, in process; exit 0 all loaded, 1 failed, 3 some rejected or held."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if not verbose:  # Prefect's INFO lines repeat what fupin prints; warnings and errors still show
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    # Prefect's temporary server waits 20 s by default: a loaded machine's first run needs longer
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    from fupin.ephemeral import start_server_early

    server_started = start_server_early()  # Prefect's temporary server boots while the flow is imported
    from fupin.core.config import ConfigError, Limits
    from fupin.core.locking import RunLocked, run_lock
    from fupin.flows.nightly import resolve_sources, run_nightly

    paths = _paths(home)
    try:
        Limits.from_env()  # a FUPIN_LIMIT_* that is no number: one line now, not a rejection per file later
        # checked here first so that the usual mistakes get one line, not a failed flow run's traceback
        resolve_sources(str(sources) if sources else None, None if sources else str(inbox or paths.home / "inbox"))
        with run_lock(paths.lock, wait):
            pass
    except (ConfigError, RunLocked) as exc:
        _fail(str(exc))
    from contextlib import nullcontext

    from fupin.core.progress import shown

    try:
        server_started()
        with nullcontext() if quiet else shown(verbose=verbose):
            summary = run_nightly(
                dask,
                sources_file=str(sources) if sources else None,
                inbox=None if sources else str(inbox or paths.home / "inbox"),
                home=str(paths.home),
                lock_wait_seconds=wait,
            )
    except (ConfigError, RunLocked) as exc:
        _fail(str(exc))
    except Exception as exc:  # Prefect has logged the traceback; the user gets one line
        if "ephemeral" in str(exc).lower() or "temporary server" in str(exc).lower():
            _fail(
                "Prefect's temporary server did not start in time "
                f"({os.environ['PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS']} s): raise "
                "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, or start `prefect server start` once and set "
                "PREFECT_API_URL=http://127.0.0.1:4200/api"
            )
        _fail(f"the run failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    _print_summary(summary, quiet)
    if paths.warehouse.exists() and not quiet:
        with _connect(home) as con:
            _print_headline(con)
    raise typer.Exit(summary["exit_code"])


# problems the cron mail (--quiet) still lists file by file
_PROBLEM_STATUSES = ("held", "rejected", "partially_loaded")


def _print_summary(summary: dict[str, Any], quiet: bool = False) -> None:
    """One line per file received (with --quiet only those with problems), the counts, then what went wrong."""
    from rich.console import Console
    from rich.text import Text

    from fupin.core.reference import submitters
    from fupin.core.safe_text import printable

    names = submitters()
    console = Console(width=160, highlight=False)
    for s in summary["submissions"]:
        if quiet and s["status"] not in _PROBLEM_STATUSES:
            continue
        line = Text.assemble(
            _text(f"{names.get(s['province_code'], s['province_code'])} {s['province_code']}  "),
            _text(s["file_name"]),
            _text(f"  {s['dataset'] or '-'}  {s['status']}: {s['rows_loaded']} rows, {s['rows_rejected']} rejected"),
            _text(f"  {s['message']}" if s["message"] else ""),
        )
        console.print(line, no_wrap=True, overflow="ellipsis")  # one line per file; `fupin submissions` has it all
    statuses = ", ".join(f"{n} {k}" for k, n in sorted(summary["by_status"].items())) or "nothing new"
    console.print(
        f"received {summary['received']} files: {statuses}; "
        f"{summary['rows_loaded']} rows loaded, {summary['rows_rejected']} rows rejected"
    )
    for province, reason in sorted(summary["failed_provinces"].items()):
        console.print(
            Text.assemble(("failed ", "red"), _text(f"{names.get(province, province)} {province}"), ": ", _text(reason))
        )
    for held in summary.get("held", []):
        console.print(
            Text.assemble(
                ("待确认 ", "bold yellow"),
                (held["submission_id"], "bold yellow"),
                " ",
                _text(held["file_name"]),
                ": ",
                _text(held["message"] or ""),
            )
        )
    for r in summary.get("unreconciled", []):
        console.print(
            f"[yellow]registry ≠ county figures[/yellow] {r['county_name']} {r['year']}: poor {r['registry_poor']} "
            f"vs {r['declared_poor']}, lifted {r['registry_lifted']} vs {r['declared_lifted']} (over 0.5%)"
        )
    for test, n in summary["data_tests_failed"].items():
        console.print(Text(f"data test {printable(test)}: {n} offending rows", style="yellow"))


# the few figures `fupin run` ends with, per area (each area shows those it has): the seed's F1–F13 at a glance;
# `fupin indicators` prints the whole table
_BRIEF = (
    "civil_affairs_funds",
    "civil_affairs_funds_growth",
    "poverty_incidence",
    "social_org_funds_landed",
    "grant_funds",
    "grant_households",
    "grant_amount_per_household",
    "social_service_projects",
    "social_service_funds",
    "training_sessions",
    "training_organisations",
)


def _brief_order(period: str) -> tuple[bool, str]:
    """Which period an area's line shows: a span of years (2015-2017) over a single year, then the latest."""
    return ("-" in period, period.split("-")[-1])


def _print_headline(con) -> None:
    """A line per area (not its provincial parts or counties) with its latest brief figures, then where the rest is."""
    from rich.console import Console

    from fupin.core.formatting import figure_text
    from fupin.warehouse import read

    definitions = read.indicator_definitions(con)
    labels = {d["indicator"]: d["name"] for d in definitions}
    unit_names = {d["indicator"]: d["unit_name"] for d in definitions}
    areas: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {}
    for r in _indicator_rows(con, "headline"):
        if r["indicator"] not in _BRIEF or ":" in r["scope_code"] or r["scope_code"].isdigit():
            continue
        name, figures = areas.setdefault(r["scope_code"], (r["scope_name"], {}))
        period = str(r["period"])
        if r["indicator"] not in figures or _brief_order(period) >= _brief_order(figures[r["indicator"]][0]):
            text = figure_text(r["value"], r["unit"], unit_names.get(r["indicator"]))
            figures[r["indicator"]] = (period, text)
    console = Console(width=400, highlight=False)  # one line per area, however long: a terminal wraps it
    for name, figures in areas.values():
        parts = [f"{labels.get(i) or i} {figures[i][0]} {figures[i][1]}" for i in _BRIEF if i in figures]
        console.print(_text(f"{name}：" + "；".join(parts)), no_wrap=True)
    console.print("全部指标：fupin indicators（每个县：--all）")


def _indicator_rows(con, scope: str) -> list[dict[str, Any]]:
    """'headline' (marts.headline: shared with the report and the artifact), 'areas' (areas, area parts and the
    Ministry's designated counties) or 'all' (every county too)."""
    from fupin.warehouse import read

    return read.headline(con) if scope == "headline" else read.indicators(con, counties=scope == "all")


def _print_indicators(rows: list[dict[str, Any]], title: str = "指标（marts.indicators）") -> None:
    from rich.console import Console
    from rich.table import Table

    from fupin.core.formatting import figure_text
    from fupin.warehouse.build import indicator_names

    names = indicator_names()
    table = Table(title=title, title_justify="left")
    for col in ("指标", "范围", "期间", "数值"):
        table.add_column(col, justify="right" if col == "数值" else "left")
    for r in rows:
        table.add_row(
            _text(f"{names.get(r['indicator'], '')} [{r['indicator']}]"),
            _text(f"{r['scope_name']} [{r['scope_code']}]"),
            _text(r["period"]),
            figure_text(r["value"], r["unit"]),
        )
    Console(width=160).print(table)


@app.command()
def indicators(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON rows (values in yuan / fractions).")] = False,
    everything: Annotated[bool, typer.Option("--all", help="Every county's rows too, not only areas.")] = False,
    headline: Annotated[bool, typer.Option("--headline", help="Only the headline rows `fupin run` prints.")] = False,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="The table as it stood then (2018-10-30 = end of that day, Asia/Shanghai)."),
    ] = None,
    changes: Annotated[
        bool, typer.Option("--changes", help="Every change to a published figure: before, after, and its cause.")
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
        from fupin.warehouse import read

        try:
            moment = read.moment_of(as_of)
        except ValueError as exc:
            _fail(str(exc))
        with _connect(home) as con:
            first = read.first_received(con)
        if first is None or moment <= first:
            earliest = "尚未收到任何报送" if first is None else f"最早的回执日期为 {_shanghai_day(first)}"
            typer.echo(say("before_first_submission", as_of=as_of, earliest=earliest), err=as_json)
            if as_json:
                typer.echo("[]")
            return
        with _connect(home, moment) as con:
            rows = _indicator_rows(con, scope)
    else:
        with _connect(home) as con:
            rows = _indicator_rows(con, scope)
    if as_json:
        from fupin.core.formatting import json_value

        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1, default=json_value))
    else:
        _print_indicators(rows)


def _shanghai_day(moment) -> str:
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()


def _print_changes(home: Path | None, since: str | None, as_json: bool) -> None:
    """marts.indicator_changes: each changed figure with its value before and after and the submissions behind it."""
    moment = None
    if since:
        from datetime import timedelta

        from fupin.warehouse.asof import parse_moment

        try:
            moment = parse_moment(since) - timedelta(days=1)  # parse_moment gives the end of that day
        except ValueError as exc:
            _fail(str(exc).replace("--as-of", "--since"))
    from fupin.warehouse import read

    with _connect(home) as con:
        rows, first = read.indicator_changes(con, moment)
    if as_json:
        from fupin.core.formatting import json_value

        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1, default=json_value))
        return
    from rich.console import Console
    from rich.table import Table

    from fupin.core.formatting import figure_text

    table = Table(title="已发布指标的变动（marts.indicator_changes）", title_justify="left")
    for col in ("时间", "指标", "范围", "期间", "变动前", "变动后", "来源报送"):
        table.add_column(col, justify="right" if col in ("变动前", "变动后") else "left", overflow="fold")
    for r in rows:
        cells = (
            _shanghai_day(r["changed_at"]),
            f"{r['indicator_name'] or r['indicator']} [{r['indicator']}]",
            f"{r['scope_name']} [{r['scope_code']}]",
            r["period"],
            figure_text(r["value_before"], r["unit"]),
            figure_text(r["value_after"], r["unit"]),
            r["submissions"] or "",
        )
        table.add_row(*map(_text, cells))
    console = Console(width=200)
    console.print(table)
    console.print(f"共 {len(rows)} 项变动；另有 {first} 项为首次发布（不列出）。")


def _decide(flow_name: str, submission_id: str, home: Path | None, **parameters: Any) -> None:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    from fupin.ephemeral import start_server_early

    server_started = start_server_early()  # as `fupin run`'s: it dies with this process, however it ends
    from fupin.flows import decide

    paths = _paths(home)
    _warehouse(home)
    try:
        decide.held_outcome(paths, submission_id)  # one line for the usual mistakes, before a flow run
        server_started()
        result = getattr(decide, flow_name)(submission_id=submission_id, home=str(paths.home), **parameters)
    except decide.DecisionError as exc:
        _fail(str(exc))
    except Exception as exc:  # Prefect has logged the traceback; the user gets one line
        _fail(f"the {flow_name} run failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    verb = "已确认入库" if flow_name == "approve" else "已放弃（未入库）"
    typer.echo(
        f"{result['submission_id']}（{result['file_name']}）{verb}，决定人 {result['decided_by']}；"
        f"{result['indicator_changes']} 项已发布指标随之变动（fupin indicators --changes）"
    )


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON rows.")] = False,
    everything: Annotated[
        bool, typer.Option("--all", help="Every expected submission, not only the late ones.")
    ] = False,
    home: HomeOption = None,
) -> None:
    """The reporting calendar today: who sent what, who is late, what is held or failed (报送情况)."""
    from fupin.tasks.calendar import ATTENTION, STATUS_LABELS, calendar_file, submission_status

    paths = _paths(home)
    if not calendar_file(paths).exists():
        _fail(say("no_calendar", file=calendar_file(paths)))
    from fupin.core.config import ConfigError

    try:
        with _connect(home) as con:
            rows = submission_status(con, paths)
    except ConfigError as exc:
        _fail(str(exc))
    shown = rows if everything else [r for r in rows if r["status"] in ATTENTION]
    if as_json:
        typer.echo(json.dumps(shown, ensure_ascii=False, indent=1, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    from fupin.warehouse.contracts import contracts

    table = Table(title="报送情况（fupin status）" + ("" if everything else "：需要跟进的"), title_justify="left")
    for col in ("省份", "数据集", "期间", "截止日期", "状态", "逾期天数", "最近收到"):
        table.add_column(col, overflow="fold")
    for r in sorted(
        shown, key=lambda r: (ATTENTION.index(r["status"]) if r["status"] in ATTENTION else 9, r["province_code"])
    ):
        label = contracts()[r["dataset"]].zh if r["dataset"] in contracts() else r["dataset"]
        table.add_row(
            *map(
                _text,
                (
                    r["province_name"] or r["province_code"],
                    label,
                    r["period"],
                    r["due_date"],
                    STATUS_LABELS[r["status"]],
                    r["days_late"] or "",
                    _shanghai_day(r["last_received"]) if r["last_received"] else "",
                ),
            )
        )
    console = Console(width=160)
    console.print(table)
    counts = {s: sum(r["status"] == s for r in rows) for s in STATUS_LABELS}
    console.print("；".join(f"{STATUS_LABELS[s]} {n}" for s, n in counts.items() if n) or "日历中没有应报项目")


@app.command()
def approve(
    submission_id: Annotated[str, typer.Argument(help="Id of the held submission (fupin submissions).")],
    by: Annotated[str | None, typer.Option("--by", help="Who approves (default: $USER).")] = None,
    home: HomeOption = None,
) -> None:
    """Apply a held submission: its facts take effect now, recorded with who approved it."""
    _decide("approve", submission_id, home, by=by)


@app.command()
def discard(
    submission_id: Annotated[str, typer.Argument(help="Id of the held submission (fupin submissions).")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is closed without applying (recorded).")],
    by: Annotated[str | None, typer.Option("--by", help="Who discards (default: $USER).")] = None,
    home: HomeOption = None,
) -> None:
    """Close a held submission without applying it; the published figures stay as they are."""
    if not reason.strip():
        _fail(say("reason_required"))
    _decide("discard", submission_id, home, reason=reason, by=by)


@app.command()
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
    from fupin.core.config import ConfigError
    from fupin.tasks.check import CheckError, check_file, render
    from fupin.tasks.registry import MissingKeyError

    paths = _paths(home)
    try:
        found = check_file(file, paths.home, province)
    except (CheckError, ConfigError, MissingKeyError) as exc:
        _fail(str(exc))
    if as_json:
        from fupin.core.formatting import json_value

        typer.echo(json.dumps(found.as_json(), ensure_ascii=False, indent=1, default=json_value))
    else:
        for line in render(found, paths.home):
            typer.echo(line)
    raise typer.Exit(found.exit_code)


@app.command()
def submissions(
    submission_id: Annotated[str | None, typer.Option("--id", help="Show one submission's rejections.")] = None,
    home: HomeOption = None,
) -> None:
    """The submission ledger, or one submission's rejected rows and how its headers were read (in Chinese)."""
    from rich.console import Console
    from rich.table import Table

    from fupin.core.reference import submitters
    from fupin.tasks.receipt import STATUS_LABELS, column_namer
    from fupin.tasks.records import Outcome, Rejection
    from fupin.tasks.summary import run_records
    from fupin.warehouse import read
    from fupin.warehouse.labels import label

    console = Console(width=160)
    with _connect(home) as con:
        if submission_id:
            one = read.submission(con, submission_id)
            found = (one["file_name"], one["status"], one["message"]) if one else None
            if not found:
                _fail(say("unknown_submission", id=submission_id))
            status = STATUS_LABELS.get(found[1], found[1])
            console.print(_text(f"{submission_id}  {found[0]}  {status}  {found[2] or ''}"))
            found_mappings = read.header_mappings(con, submission_id)  # None: kept only by newer warehouses
            mapped = None if found_mappings is None else [tuple(m.values()) for m in found_mappings]
            rejected = [tuple(r.values()) for r in read.rejections(con, submission_id)]
            outcome = Outcome(submission_id, "", found[0], "", "", rejections=[Rejection(*r) for r in rejected])
            outcome.header_mapping = [
                {"column_name": m[2], "submitted_header": m[1], "matched_by": m[3]} for m in mapped or []
            ]
            column = column_namer(outcome)
            tables = [
                (
                    "退回的行",
                    ("行号", "列", "填报值", "原因", "原因代码"),
                    [(r.row_number, column(r.field, r.reason), r.value, r.reason, r.code) for r in outcome.rejections],
                )
            ]
            if mapped is not None:
                tables.append(
                    (
                        "表头识别",
                        ("工作表", "报送的表头", "对应字段", "识别方式", "来源"),
                        [
                            (m[0], m[1], m[2], label("matched_by", m[3]), label("mapping_source", m[4] or "header"))
                            for m in mapped
                        ],
                    )
                )
            for title, columns, rows in tables:
                table = Table(title=f"{title}（{len(rows)}）", title_justify="left")
                for col in columns:
                    table.add_column(col, overflow="fold")
                for r in rows:
                    table.add_row(*[_text(v) for v in r])
                console.print(table)
            return
        rows = [tuple(r.values()) for r in read.submissions(con)]
    table = Table(title="报送台账", title_justify="left")
    for col in ("编号", "省份", "文件", "数据集", "状态", "读取行数", "入库行数", "退回行数", "说明"):
        table.add_column(col, overflow="fold")
    names = submitters()
    for sid, province, file_name, dataset, status, total, loaded, rejected, message in rows:
        cells = (
            sid,
            names.get(province, province),
            file_name,
            dataset_names(dataset),
            STATUS_LABELS.get(status, status),
        )
        table.add_row(*[_text(v, 100) for v in (*cells, total, loaded, rejected, message)])
    console.print(table)
    # files with ID numbers waiting for the pseudonymisation key are kept in the raw archive, not yet in the
    # ledger: the latest run's failures name them
    records = run_records(_paths(home))
    failed = (records[-1][1].get("failures") or {}) if records else {}
    for code, reason in sorted(failed.items()):
        if "pii_key_missing" in codes_in(reason):
            console.print(_text(f"等待密钥（尚未入台账）：{names.get(code, code)} {reason.splitlines()[0]}"))


def dataset_names(datasets: str | None) -> str:
    """Datasets of a ledger row ('fund_allocation,training') in Chinese: 资金下达、培训."""
    from fupin.warehouse.labels import label

    return "、".join(label("dataset", d) for d in (datasets or "").split(",") if d)


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="SQL to run read-only against the warehouse.")],
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV output for pipes.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON rows for pipes.")] = False,
    home: HomeOption = None,
) -> None:
    """Run one read-only SELECT against the warehouse (no files, ATTACH, COPY, SET or extensions)."""
    import duckdb

    from fupin.core.readonly import QueryRefused, refusal_of, single_select

    try:
        single_select(sql)
    except QueryRefused as exc:
        _fail(str(exc))
    with _connect(home) as con:
        try:
            cur = con.execute(sql)
        except duckdb.Error as exc:
            _fail(refusal_of(exc))
        cols = [d[0] for d in cur.description] if cur.description else []
        rows = cur.fetchall()
    if as_json:
        from fupin.core.formatting import json_value

        records = [dict(zip(cols, r, strict=True)) for r in rows]
        typer.echo(json.dumps(records, ensure_ascii=False, default=json_value))
    elif as_csv:
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(cols)
        writer.writerows(rows)
    else:
        _print_query(cols, rows)


_YEAR_COLUMN = re.compile(r"(?:^|_)(?:year|period)$|年", re.IGNORECASE)


def _print_query(cols: list[str], rows: list[tuple]) -> None:
    """A query's rows for people: numbers right-aligned with thousands separators, every digit kept, the count last."""
    from rich.console import Console
    from rich.table import Table

    from fupin.core.formatting import is_number, number_text

    numeric = [
        any(is_number(r[i]) for r in rows) and all(r[i] is None or is_number(r[i]) for r in rows)
        for i in range(len(cols))
    ]
    # a year is a label, not a quantity: 2017, never 2,017
    plain = [bool(_YEAR_COLUMN.search(c)) for c in cols]
    table = Table()
    for c, right in zip(cols, numeric, strict=True):
        table.add_column(_text(c), justify="right" if right else "left")
    for r in rows:
        table.add_row(*[_text(v) if p or not is_number(v) else number_text(v) for v, p in zip(r, plain, strict=True)])
    console = Console(width=200)
    console.print(table)
    console.print(f"共 {len(rows)} 行")


@app.command()
def report(home: HomeOption = None) -> None:
    """Rebuild today's HTML report (<home>/reports/<date>.html, Asia/Shanghai) from the warehouse."""
    from fupin.tasks.report import write_report

    paths = _paths(home)
    _connect(home).close()  # one line, not a traceback, when the warehouse does not open
    target = write_report(paths)
    typer.echo(f"wrote {target} ({target.stat().st_size / 1e6:.1f} MB)")


@app.command()
def docs(
    out: Annotated[Path | None, typer.Option(help="Folder for the data dictionary (default <home>/docs).")] = None,
    lang: Annotated[str, typer.Option("--lang", help="zh (Chinese, the default) or en (English).")] = "zh",
    home: HomeOption = None,
) -> None:
    """Write the data dictionary (Markdown and HTML) from the warehouse's comments."""
    from fupin.docs import LANGUAGES, write_docs

    if lang not in LANGUAGES:
        _fail(say("unknown_language", languages=" 或 ".join(LANGUAGES), lang=lang))
    paths = _paths(home)
    _connect(home).close()  # one line, not a traceback, when the warehouse does not open
    for written in write_docs(paths.warehouse, out or paths.home / "docs", lang):
        typer.echo(f"wrote {written}")


@app.command()
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
    from fupin.export import ExportError
    from fupin.export import export as export_file

    paths = _paths(home)
    _connect(home).close()  # one line, not a traceback, when the warehouse does not open
    try:
        target, rows = export_file(paths.warehouse, out, fmt.lower(), indicators=indicators_, table=table)
    except ExportError as exc:
        _fail(str(exc))
    typer.echo(f"wrote {rows} rows to {target}")


@app.command()
def doctor(
    home: HomeOption = None,
    fix: Annotated[
        bool, typer.Option("--fix", help="First repair what needs no judgement: receipts rewritten from the ledger.")
    ] = False,
) -> None:
    """Check a home: warehouse opens, stale WAL, lake files present, raw archive and key permissions, receipts."""
    from fupin.core.locking import RunLocked
    from fupin.doctor import ERROR, check_home, fix_home

    if fix:
        try:
            for line in fix_home(_paths(home)):
                typer.echo(line)
        except RunLocked:
            _fail(say("run_in_progress"))
    findings = check_home(_paths(home))
    for finding in findings:
        typer.echo(finding.line())
    if not findings:
        typer.echo(say("ok"))
    raise typer.Exit(1 if any(f.level == ERROR for f in findings) else 0)


def main() -> None:
    """Entry point for ``python -m fupin``."""
    app()


if __name__ == "__main__":
    main()
