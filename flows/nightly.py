"""The nightly flow: pull → parse → normalise → validate → lake → warehouse → indicators."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.futures import PrefectFuture, as_completed
from prefect.states import Completed, Failed, State
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff

from fupin.core.config import Paths, Source, inbox_sources, load_sources
from fupin.core.home import private_home
from fupin.core.locking import run_lock
from fupin.core.reference import submitters
from fupin.tasks.artifacts import publish_artifacts
from fupin.tasks.lake import write_lake
from fupin.tasks.load import SHRINK_GUARD, load_warehouse
from fupin.tasks.load.ledger import read_ledger
from fupin.tasks.process import normalise_submission, parse_submission, validate_submission
from fupin.tasks.pull import pull_source
from fupin.tasks.receipt import restore_receipts
from fupin.tasks.records import Received
from fupin.tasks.recover import recover_warehouse
from fupin.tasks.report import publish_report
from fupin.tasks.summary import (
    RunFailed,
    failure_message,
    failure_reason,
    incomplete_message,
    join_reasons,
    mark_crashed_runs,
    province_lines,
    quiet_handled_tracebacks,
    record_run,
    source_failure,
    summarise_run,
)

# the name of a run's final state when it loaded everything but a data test failed (a headline figure lacking
# counties): Completed in kind, so the summary is its result, named apart so that the UI and automations see it
CHECKS_FAILED = "ChecksFailed"


def resolve_sources(sources_file: str | None, inbox: str | None) -> list[Source]:
    """Sources from a sources.yaml, or one per subfolder of an inbox (default data/inbox)."""
    if sources_file:
        return load_sources(sources_file)
    return inbox_sources(inbox or "data/inbox")


def task_runner_for(dask: str | None = None) -> TaskRunner:
    """Prefect's thread pool by default; ``local`` starts a Dask LocalCluster, ``tcp://…`` joins one."""
    if not dask:
        return ThreadPoolTaskRunner(max_workers=4)
    from prefect_dask import DaskTaskRunner  # lazy: Dask and distributed (~0.2 s) only for a run with --dask

    if dask == "local":
        return DaskTaskRunner(cluster_kwargs={"processes": True, "threads_per_worker": 1})
    return DaskTaskRunner(address=dask)


def submit_chain(received: Received, paths: Paths) -> PrefectFuture:
    """parse → normalise → validate → write lake for one file; the future resolves to its outcome path.

    Each task run is named after the province and the file (``parse 江西省 2017年….xlsx``), as the UI lists them.
    """
    quiet_handled_tracebacks()  # here too for the backfill flow, which submits the same chains
    where = f"{submitters().get(received.province_code, received.province_code)} {received.file_name}"

    def named(step):
        return step.with_options(task_run_name=f"{step.name.split('_')[0]} {where}")

    parsed = named(parse_submission).submit(received, paths)
    normalised = named(normalise_submission).submit(parsed, paths)
    validated = named(validate_submission).submit(normalised, paths)
    written = named(write_lake).submit(validated, paths)
    written.steps = (parsed, normalised, validated)  # where a failure began (collect_outcomes)
    return written


def first_failure(future: PrefectFuture, exc: Exception) -> Exception:
    """The exception of the chain's first step that failed: a step after it never ran (Prefect's UnfinishedRun)."""
    for step in getattr(future, "steps", ()):
        try:
            step.result()
        except Exception as upstream:
            return upstream
    return exc


def collect_outcomes(chains: list[tuple[Received, PrefectFuture]], failed: dict[str, str]) -> list[str]:
    """Outcome paths of the chains that finished; a chain that raised marks its province failed."""
    outcome_paths, reasons = [], {}
    for received, future in chains:
        try:
            outcome_paths.append(future.result())
        except Exception as exc:  # a bug or a missing key, not bad data: the file stays archived, retried next run
            exc = first_failure(future, exc)
            reasons.setdefault(received.province_code, []).append(failure_reason(received.file_name, exc))
    for province, listed in reasons.items():
        failed[province] = "; ".join(filter(None, [failed.get(province), join_reasons(listed)]))
    return outcome_paths


def finish(
    summary: dict[str, Any], paths: Paths, started_at: str, flow_name: str = "nightly"
) -> dict[str, Any] | State:
    """Record the run, then write the day's report and the artifacts; fail the flow run when a province failed."""
    record_run(paths, started_at, summary, flow_name=flow_name)
    logger = get_run_logger()
    for line in province_lines(summary):  # the engineer's view in Prefect's log, one line per province
        logger.info(line)
    publish_report(paths)  # after the record: the report's banner names this run's failures too
    publish_artifacts(summary, paths)
    incomplete = incomplete_message(summary)
    if summary["failed_provinces"]:
        message = "; ".join(filter(None, [failure_message(summary), incomplete]))
        return Failed(message=message, data=RunFailed(message, summary))
    if summary["data_tests_failed"]:  # everything loaded, but the run's checks did not pass: not a plain success
        checks = ", ".join(f"{name} ({n})" for name, n in sorted(summary["data_tests_failed"].items()))
        return Completed(name=CHECKS_FAILED, message=incomplete or f"data tests failed: {checks}", data=summary)
    return summary


@flow(name="nightly", task_runner=ThreadPoolTaskRunner(max_workers=4))
def nightly(
    sources_file: str | None = None,
    inbox: str | None = None,
    home: str | None = None,
    lock_wait_seconds: float = 60.0,
    pull_retries: int = 3,
    pull_retry_backoff_seconds: float = 2.0,
    source_timeout_seconds: float = 60.0,
    shrink_guard: float | None = SHRINK_GUARD,
) -> dict[str, Any]:
    """Pull every province's new files and load them; provinces run concurrently.

    A submission the plausibility gate finds beyond its contract's bounds (a total falling by more than
    ``shrink_guard`` or rising too far, a county's value corrected by too large a factor, a likely unit slip, an
    outlier; tasks/gate.py) is held for a person: ``fupin approve`` / ``fupin discard``.

    Ends Failed (message naming the provinces, the summary in ``RunFailed.summary``) when a
    province's source or file failed; rejected rows alone leave it Completed. A failed data test (a headline
    figure lacking counties: assert_headline_figures_complete) leaves everything loaded and ends the run
    Completed named ``ChecksFailed``, exit code 3.

    Args:
        sources_file: sources.yaml listing one source per province (folder, http(s)://, s3://); relative to the
            project folder. Leave empty to use ``inbox``.
        inbox: a folder with one subfolder per province, named by code, Chinese name or pinyin (default
            data/inbox).
        home: where the raw archive, lake, warehouse, receipts and reports live (default $FUPIN_HOME or data).
        lock_wait_seconds: how long to wait for another run on the same home before giving up.
        pull_retries: retries of a province's source that does not answer or answers 5xx.
        pull_retry_backoff_seconds: the first wait between those retries; it doubles each time.
        source_timeout_seconds: how long one request to a source may take.
        shrink_guard: hold a submission that would lower a published province × dataset × year total by more
            than this fraction (0.10 = 10%) until a person decides; empty: each contract's plausibility.max_fall.
    """
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    quiet_handled_tracebacks()
    paths = Paths.from_home(home, sources_file)
    private_home(paths.home)  # files 0600, folders 0700; one line for a home that cannot be written
    sources = resolve_sources(sources_file, inbox)
    record_run(paths, started_at, None)
    with run_lock(paths.lock, lock_wait_seconds):
        mark_crashed_runs(paths)
        shutil.rmtree(paths.staging, ignore_errors=True)  # a killed run's leftovers: nothing in them is needed
        recover_warehouse(paths)  # a warehouse that no longer reads is set aside and rebuilt first
        seen = read_ledger(paths)
        pull = pull_source.with_options(
            retries=pull_retries, retry_delay_seconds=exponential_backoff(backoff_factor=pull_retry_backoff_seconds)
        )
        pulls = {
            pull.with_options(task_run_name=f"pull {submitters().get(s.province_code, s.province_code)}").submit(
                s, paths, seen, source_timeout_seconds
            ): s
            for s in sources
        }
        chains, failed = [], {}
        for pulled in as_completed(list(pulls)):
            province = pulls[pulled].province_code
            try:
                files = pulled.result()
            except Exception as exc:  # the source stayed down after retries: the others go on
                failed[province] = source_failure(pulls[pulled], exc, pull_retries + 1)
                name = submitters().get(province, province)
                # the one line of a handled failure (fupin run prints its own, so it leaves this out)
                get_run_logger().error("%s %s：%s", name, province, failed[province], extra={"fupin_said": True})
                continue
            chains.extend((received, submit_chain(received, paths)) for received in files)
        outcome_paths = collect_outcomes(chains, failed)
        loaded = load_warehouse(outcome_paths, paths, shrink_guard)
        restore_receipts(paths)
        summary = summarise_run(outcome_paths, loaded, failed, paths, [s.province_code for s in sources])
        shutil.rmtree(paths.staging, ignore_errors=True)
    return finish(summary, paths, started_at)


def summary_of(state: State) -> dict[str, Any]:
    """The run summary a nightly (or backfill) flow run's final state carries, Completed or Failed."""
    result = state.result(raise_on_failure=False)
    if isinstance(result, RunFailed):
        return result.summary
    if isinstance(result, BaseException):
        raise result
    return result


def run_nightly(dask: str | None = None, **parameters: Any) -> dict[str, Any]:
    """Run the nightly flow in process on the chosen task runner and return its summary, whatever its outcome."""
    flow_ = nightly.with_options(task_runner=task_runner_for(dask)) if dask else nightly
    return summary_of(flow_(**parameters, return_state=True))
