"""Progress of a run, per province and stage, for whoever listens (the `fupin run` command).

Tasks call ``report``; with no listener (deployments, Dask workers, tests) it does nothing.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.live import Live
from rich.table import Table

from fupin.core.reference import submitters

# the stages a run reports, as the live table names them (the code beside)
STAGES = {
    "pull": "拉取",
    "parse": "解析",
    "normalise": "规范化",
    "validate": "校验",
    "lake": "写入湖",
    "load": "入仓库",
}

_listener: Callable[[str, str, str], None] | None = None
_lock = threading.Lock()


def report(province: str, stage: str, detail: str = "") -> None:
    """Tell the listener that ``province`` finished ``stage`` (for ``detail``, e.g. a file name)."""
    if _listener is not None:
        with _lock:
            _listener(province, stage, detail)


@contextmanager
def shown(stream=None, verbose: bool = False) -> Iterator[None]:
    """Show progress while the block runs: a live table on a terminal, cleared when done; elsewhere (cron, CI)
    one plain line per step only when ``verbose`` (the command prints one line per file once the run is over).
    """
    global _listener
    stream = stream or sys.stdout
    if not stream.isatty() and not verbose:
        yield
        return
    if stream.isatty():
        state: dict[str, tuple[str, str, int]] = {}
        started = time.monotonic()

        names = {**submitters(), "all": "全部"}

        def render() -> Table:
            table = Table(title=f"fupin run — 已用 {time.monotonic() - started:.0f} 秒", title_justify="left")
            for col in ("省份", "阶段", "已完成步骤", "最近处理"):
                table.add_column(col)
            for province, (stage, detail, done) in sorted(state.items()):
                shown_stage = f"{STAGES.get(stage, stage)} [{stage}]"
                table.add_row(f"{names.get(province, province)} {province}", shown_stage, str(done), detail[:60])
            return table

        with Live(render(), console=Console(file=stream), refresh_per_second=8, transient=True) as live:

            def on_event(province: str, stage: str, detail: str) -> None:
                done = state.get(province, ("", "", 0))[2] + 1
                state[province] = (stage, detail, done)
                live.update(render())

            _listener = on_event
            try:
                yield
            finally:
                _listener = None
    else:

        def on_line(province: str, stage: str, detail: str) -> None:
            print(f"progress: {province} {stage} {detail}".rstrip(), file=stream, flush=True)

        _listener = on_line
        try:
            yield
        finally:
            _listener = None
