"""`fupin run`, `fupin approve`, `fupin discard`: the commands that start a flow in this process."""

from __future__ import annotations

import os
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from fupin.cli.app import HomeOption, connect, fail, paths, text, warehouse
from fupin.cli.indicators import print_headline
from fupin.core.messages import say
from fupin.core.progress import shown
from fupin.core.safe_text import printable


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
    # lazy: Prefect reads the settings above when imported, and --help must not pay for it (~1 s)
    from prefect.settings import PREFECT_API_URL

    from fupin.ephemeral import start_server_early

    server_started = start_server_early()  # Prefect's temporary server boots while the flow is imported
    # lazy, and after the server's start: the flow imports Prefect, pandas and the pipeline (~5 s), which
    # `fupin --help` must not pay and the temporary server boots beside
    from fupin.core.config import ConfigError, Limits
    from fupin.core.locking import RunLocked, run_lock
    from fupin.flows.nightly import resolve_sources, run_nightly
    from fupin.tasks.summary import quiet_handled_tracebacks

    where = paths(home)
    server_down(PREFECT_API_URL.value())  # a configured server (env or profile) that does not answer: one line
    try:
        Limits.from_env()  # a FUPIN_LIMIT_* that is no number: one line now, not a rejection per file later
        # checked here first so that the usual mistakes get one line, not a failed flow run's traceback
        resolve_sources(str(sources) if sources else None, None if sources else str(inbox or where.home / "inbox"))
        with run_lock(where.lock, wait):
            pass
    except (ConfigError, RunLocked) as exc:
        fail(str(exc))
    if not verbose:  # a handled failure is one Chinese line of the summary, not Prefect's lines about it too
        quiet_handled_tracebacks(said_too=True)
    try:
        server_started()
        with nullcontext() if quiet else shown(verbose=verbose):
            summary = run_nightly(
                dask,
                sources_file=str(sources) if sources else None,
                inbox=None if sources else str(inbox or where.home / "inbox"),
                home=str(where.home),
                lock_wait_seconds=wait,
            )
    except (ConfigError, RunLocked) as exc:
        fail(str(exc))
    except Exception as exc:  # Prefect has logged a bug's traceback; the user gets one line
        if "ephemeral" in str(exc).lower() or "temporary server" in str(exc).lower():
            fail(say("server_not_started", seconds=os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"]))
        fail(say("run_not_finished", error=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"))
    _print_summary(summary, quiet)
    if where.warehouse.exists() and not quiet:
        with connect(home) as con:
            print_headline(con)
    raise typer.Exit(summary["exit_code"])


def server_down(api_url: str | None) -> None:
    """One Chinese line, exit 1, when a configured Prefect server does not answer (not Prefect's retries, then a
    traceback of its client)."""
    if not api_url:
        return
    from fupin.ephemeral import unreachable  # lazy: imports Prefect's settings and httpx

    why = unreachable(api_url)
    if why:
        fail(say("server_unreachable", url=api_url, error=why))


# problems the cron mail (--quiet) still lists file by file
_PROBLEM_STATUSES = ("held", "rejected", "partially_loaded")


def _print_summary(summary: dict[str, Any], quiet: bool = False) -> None:
    """One line per file received (with --quiet only those with problems), the counts, then what went wrong; in
    Chinese, each status and dataset with its code beside it."""
    # lazy: the division list and the ledger's labels (~15 ms), after the run
    from fupin.core.reference import submitters
    from fupin.tasks.summary import incomplete_message
    from fupin.warehouse.labels import label

    def named(kind: str, code: str | None) -> str:
        return f"{label(kind, code)} [{code}]" if code else "-"

    names = submitters()
    console = Console(width=160, highlight=False)
    for s in summary["submissions"]:
        if quiet and s["status"] not in _PROBLEM_STATUSES:
            continue
        datasets = "、".join(named("dataset", d) for d in (s["dataset"] or "").split(",") if d) or "-"
        line = Text.assemble(
            text(f"{names.get(s['province_code'], s['province_code'])} {s['province_code']}  "),
            text(s["file_name"]),
            text(f"  {named('submission_status', s['status'])}："),
            # a held file's rows wait for a person: not in the warehouse yet
            text(f"{'待确认' if s['status'] == 'held' else '入库'} {s['rows_loaded']:,} 行，"),
            text(f"退回 {s['rows_rejected']:,} 行  {datasets}"),  # the counts first: a long name may be cut
            text(f"  {s['message']}" if s["message"] else ""),
        )
        console.print(line, no_wrap=True, overflow="ellipsis")  # one line per file; `fupin submissions` has it all
    statuses = "，".join(f"{label('submission_status', k)} {n}" for k, n in sorted(summary["by_status"].items()))
    counts = say(
        "run_counts",
        received=summary["received"],
        statuses=statuses or "无新报送",
        loaded=summary["rows_loaded"],
        rejected=summary["rows_rejected"],
    )
    console.print(text(counts), soft_wrap=True)
    for province, reason in sorted(summary["failed_provinces"].items()):
        console.print(
            Text.assemble(("失败 ", "red"), text(f"{names.get(province, province)} {province}"), "：", text(reason)),
            soft_wrap=True,  # one line, however long: the terminal wraps it, a log keeps it whole
        )
    for held in summary.get("held", []):
        console.print(
            Text.assemble(
                ("待确认 ", "bold yellow"),
                (held["submission_id"], "bold yellow"),
                " ",
                text(held["file_name"]),
                "：",
                text(held["message"] or ""),
            ),
            soft_wrap=True,
        )
    for r in summary.get("unreconciled", []):
        line = say(
            "registry_mismatch",
            county=r["county_name"],
            year=r["year"],
            registry_poor=r["registry_poor"],
            declared_poor=r["declared_poor"],
            registry_lifted=r["registry_lifted"],
            declared_lifted=r["declared_lifted"],
        )
        console.print(Text(printable(line), style="yellow"), soft_wrap=True)
    for test, n in summary["data_tests_failed"].items():
        console.print(Text(printable(say("data_test_rows", test=test, rows=n)), style="yellow"), soft_wrap=True)
    if incomplete := incomplete_message(summary):
        console.print(Text.assemble(text(incomplete), style="yellow"), soft_wrap=True)  # one line, however long


def approve(
    submission_id: Annotated[str, typer.Argument(help="Id of the held submission (fupin submissions).")],
    by: Annotated[str | None, typer.Option("--by", help="Who approves (default: $USER).")] = None,
    home: HomeOption = None,
) -> None:
    """Apply a held submission: its facts take effect now, recorded with who approved it."""
    _decide("approve", submission_id, home, by=by)


def discard(
    submission_id: Annotated[str, typer.Argument(help="Id of the held submission (fupin submissions).")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is closed without applying (recorded).")],
    by: Annotated[str | None, typer.Option("--by", help="Who discards (default: $USER).")] = None,
    home: HomeOption = None,
) -> None:
    """Close a held submission without applying it; the published figures stay as they are."""
    if not reason.strip():
        fail(say("reason_required"))
    _decide("discard", submission_id, home, reason=reason, by=by)


def _decide(flow_name: str, submission_id: str, home: Path | None, **parameters: Any) -> None:
    """A Prefect flow run where a server is configured (PREFECT_API_URL); else the same decision in process.

    Without a server the decision is not worth starting Prefect's temporary one (5–10 s, and a database nobody
    watches): the flow's function runs here, under the same run lock, and the ledger records it
    (meta.decisions, the receipt, marts.indicator_changes) exactly as the flow run does.
    """
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")  # the command prints its own line
    # lazy: the decision's flows import Prefect (~2 s) and the loader, not for --help
    from prefect.settings import PREFECT_API_URL

    from fupin.flows import decide

    where = paths(home)
    warehouse(home)
    server_down(PREFECT_API_URL.value())
    step = getattr(decide, flow_name)
    try:
        decide.held_outcome(where, submission_id)  # one line for the usual mistakes, before a flow run
        run = step if PREFECT_API_URL.value() else step.fn
        result = run(submission_id=submission_id, home=str(where.home), **parameters)
    except decide.DecisionError as exc:
        fail(str(exc))
    except Exception as exc:  # Prefect has logged the traceback; the user gets one line
        fail(f"the {flow_name} run failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    verb = "已确认入库" if flow_name == "approve" else "已放弃（未入库）"
    typer.echo(
        f"{result['submission_id']}（{result['file_name']}）{verb}，决定人 {result['decided_by']}；"
        f"{result['indicator_changes']} 项已发布指标随之变动（fupin indicators --changes）"
    )
    from fupin.tasks.summary import incomplete_message  # lazy: imports Prefect, loaded by the flow by now

    if incomplete := incomplete_message(result):
        typer.echo(incomplete)
