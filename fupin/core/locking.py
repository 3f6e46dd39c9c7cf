"""One run at a time per home folder: an exclusive lock file, waited on for a bounded time."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fupin.core.home import private_home


class RunLocked(RuntimeError):
    """Another fupin run holds the home folder."""


@contextmanager
def run_lock(lock_path: Path, wait_seconds: float = 60.0) -> Iterator[None]:
    """Hold the lock for the duration; raise RunLocked after ``wait_seconds`` of waiting."""
    private_home(lock_path.parent)  # the home and what the run writes in it: the owner's alone
    fh = open(lock_path, "a+")
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    fh.seek(0)
                    holder = fh.read().strip() or "unknown"
                    raise RunLocked(
                        f"another fupin run (pid {holder}) is using {lock_path.parent}; "
                        f"waited {wait_seconds:.0f}s — try again when it has finished"
                    ) from None
                time.sleep(0.2)
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        yield
    finally:
        fh.close()  # closing releases the lock, also when the process is killed
