"""Start Prefect's temporary server early, so that it boots while `fupin run` imports the flow.

Without PREFECT_API_URL, the first flow call starts Prefect's temporary server (a uvicorn
subprocess, 5–7 s on an idle 2-core machine) and waits for it; before that, the process spends
3–4 s importing Prefect, the tasks and their libraries. Started from a thread at the top of the
command, the server's subprocess boots on the other core during those imports. Prefect's own
start is reused: it is a per-process singleton, so the flow's client finds it running.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


def start_server_early() -> Callable[[], None]:
    """Begin starting the temporary server if this process will need one; returns the wait for it.

    Call the returned function before the first flow call: Prefect's start marks the server running
    before it answers, so a flow must not reach it sooner. A start that failed here is left to
    Prefect, which tries again (and reports) on the flow's first call.
    """
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return lambda: None

    def start() -> None:
        from prefect.server.api.server import SubprocessASGIServer

        try:
            SubprocessASGIServer().start()
        except Exception:  # noqa: BLE001 — the flow's own start tries again and says why
            pass

    thread = threading.Thread(target=start, name="prefect-server-start", daemon=True)
    thread.start()
    return thread.join
