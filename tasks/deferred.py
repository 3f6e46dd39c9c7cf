"""Prefect's task decorator and run logger, imported only when a task first runs.

The modules the read-only commands need (the ledger's records, receipts, the calendar, the report, the
archive's ledger tables) also hold a few of the nightly flow's tasks. Importing Prefect costs about two seconds
and a call of a task outside a flow starts Prefect's temporary server; with ``task`` and ``get_run_logger`` from
here, ``fupin submissions``, ``status``, ``report`` and ``doctor`` import none of it, while a flow calls, submits
and names these tasks exactly as Prefect's own (the real ``prefect.Task`` is built on first use).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

# stands for prefect.cache_policies.NO_CACHE until the task is built
NO_CACHE = "NO_CACHE"

_BUILD = threading.Lock()


class DeferredTask:
    """A function that becomes ``prefect.task(**options)(fn)`` when first called, submitted or asked about.

    ``.fn`` is the plain function, as on a Prefect task, without importing Prefect.
    """

    def __init__(self, fn: Callable[..., Any], options: dict[str, Any]):
        functools.update_wrapper(self, fn)
        self.fn = fn
        self._options = options
        self._task: Any = None

    def task(self) -> Any:
        """The Prefect task (built once, by whichever thread first needs it)."""
        if self._task is None:
            with _BUILD:
                if self._task is None:
                    from prefect import task  # lazy: the point of this module
                    from prefect.cache_policies import NO_CACHE as PREFECT_NO_CACHE  # lazy: as above

                    options = dict(self._options)
                    if options.get("cache_policy") == NO_CACHE:
                        options["cache_policy"] = PREFECT_NO_CACHE
                    self._task = task(**options)(self.fn)
        return self._task

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.task()(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:  # submit, with_options, name, map …: the Prefect task's
        if name.startswith("__") or name in ("_task", "_options", "fn"):
            raise AttributeError(name)
        return getattr(self.task(), name)


def task(fn: Callable[..., Any] | None = None, **options: Any) -> Any:
    """``@task`` or ``@task(cache_policy=NO_CACHE, …)``, as Prefect's decorator, deferred."""
    if fn is not None:
        return DeferredTask(fn, options)
    return lambda f: DeferredTask(f, options)


def get_run_logger() -> logging.Logger | logging.LoggerAdapter:
    """Prefect's logger of the current run; outside a run (a command deciding in process) the ``fupin`` logger."""
    from prefect import get_run_logger as prefect_run_logger  # lazy: only where a run logs
    from prefect.exceptions import MissingContextError  # lazy: as above

    try:
        return prefect_run_logger()
    except MissingContextError:
        return logging.getLogger("fupin")
