"""Fault points: where the crash-safety tests kill a run with a real SIGKILL.

``FUPIN_KILL_AT=<stage>`` in the environment makes the process SIGKILL itself when it reaches
that stage (pull, convert, lake, load, marts, swap). Unset — always, outside those tests — it does nothing.
"""

from __future__ import annotations

import os
import signal


def fault_point(stage: str) -> None:
    """SIGKILL this process if the crash tests asked for it at ``stage``."""
    if os.environ.get("FUPIN_KILL_AT") == stage:
        os.kill(os.getpid(), signal.SIGKILL)
