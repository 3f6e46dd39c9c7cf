"""The nightly flow: pull → parse → normalise → validate → lake → warehouse → indicators."""

from __future__ import annotations

import shutil
from typing import Any

from prefect import flow, get_run_logger
from prefect.futures import as_completed
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff

from fupin.config import Paths, Source, inbox_sources, load_sources
from fupin.locking import run_lock
from tasks.lake import write_lake
from tasks.load import load_warehouse, read_ledger
from tasks.process import normalise_submission, parse_submission, validate_submission
from tasks.pull import pull_source
from tasks.summary import summarise_run


def resolve_sources(sources_file: str | None, inbox: str | None) -> list[Source]:
    """Sources from a sources.yaml, or one per subfolder of an inbox (default data/inbox)."""
    if sources_file:
        return load_sources(sources_file)
    return inbox_sources(inbox or "data/inbox")


@flow(name="nightly", task_runner=ThreadPoolTaskRunner(max_workers=4))
def nightly(
    sources_file: str | None = None,
    inbox: str | None = None,
    home: str | None = None,
    lock_wait_seconds: float = 60.0,
    pull_retries: int = 3,
    pull_retry_backoff_seconds: float = 2.0,
    source_timeout_seconds: float = 60.0,
) -> dict[str, Any]:
    """Pull every province's new files and load them; provinces run concurrently."""
    paths = Paths.from_home(home)
    sources = resolve_sources(sources_file, inbox)
    with run_lock(paths.lock, lock_wait_seconds):
        seen = read_ledger(paths)
        pull = pull_source.with_options(
            retries=pull_retries, retry_delay_seconds=exponential_backoff(backoff_factor=pull_retry_backoff_seconds)
        )
        pulls = {pull.submit(s, paths, seen, source_timeout_seconds): s for s in sources}
        outcomes, failed = [], {}
        for pulled in as_completed(list(pulls)):
            province = pulls[pulled].province_code
            try:
                files = pulled.result()
            except Exception as exc:  # the source stayed down after retries: the others go on
                failed[province] = f"{type(exc).__name__}: {exc}"
                get_run_logger().error("province %s failed: %s", province, failed[province])
                continue
            for received in files:
                parsed = parse_submission.submit(received, paths)
                normalised = normalise_submission.submit(parsed, paths)
                validated = validate_submission.submit(normalised, paths)
                outcomes.append((received, write_lake.submit(validated, paths)))
        outcome_paths = []
        for received, future in outcomes:
            try:
                outcome_paths.append(future.result())
            except Exception as exc:  # a bug, not bad data: the file stays archived, retried next run
                failed.setdefault(received.province_code, f"{received.file_name}: {type(exc).__name__}: {exc}")
        loaded = load_warehouse(outcome_paths, paths)
        summary = summarise_run(outcome_paths, loaded, failed, paths)
        shutil.rmtree(paths.staging, ignore_errors=True)
    return summary
