"""Start Prefect's temporary server early, so that it boots while `fupin run` imports the flow.

Without PREFECT_API_URL, the first flow call starts Prefect's temporary server and waits for it: it
imports Prefect's whole server application in this process (about 4 s of CPU, under the GIL with the
flow's own imports) only to spawn a uvicorn subprocess that imports it all again and boots (5–6 s).
Here the same subprocess is spawned at the top of the command, exactly as Prefect's
``SubprocessASGIServer`` spawns it (its uvicorn command, its environment), without that import: it boots
on the other core while the flow is imported, and the flow reaches it through ``PREFECT_API_URL`` for the
length of the run. A configured API (PREFECT_API_URL) or a disabled ephemeral mode is left as it is.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack

import httpx
import prefect
from prefect.settings import (
    PREFECT_API_URL,
    PREFECT_SERVER_EPHEMERAL_ENABLED,
    PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
    get_current_settings,
    temporary_settings,
)

_SETTINGS = ExitStack()  # Prefect pointed at the spawned server until the process ends

_PR_SET_PDEATHSIG = 1
try:  # loaded here, not in the child between fork and exec
    _LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
except OSError:
    _LIBC = None


def _dies_with_parent(parent: int) -> Callable[[], None]:
    """For ``preexec_fn``: the child gets SIGKILL when its parent dies, however (SIGKILL included).

    Linux's PR_SET_PDEATHSIG fires when the *thread* that forked the child exits: spawn from the main
    thread (the commands do). A parent already gone before the call: the child ends at once.
    """

    def set_up() -> None:
        if _LIBC is not None:
            _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return set_up


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# the server's task-run recorder writes each event the process sent as it consumes it; stopping the server
# while it still has some cancels those writes (two "Error flushing events" tracebacks after a run of 100
# files, and task runs left Running in Prefect's database). Before the stop: wait until the task runs'
# counts by state have stayed the same this long (every recorded event changes one), at most SETTLE_MAX_SECONDS.
SETTLE_QUIET_SECONDS = 1.0
SETTLE_MAX_SECONDS = 60.0
_STATE_GROUPS = (None, ["RUNNING"], ["COMPLETED", "FAILED", "CANCELLED", "CRASHED"])


def _wait_until_recorded(api: str) -> None:
    """Return once Prefect's server has recorded every task-run event it received (its counts are still)."""

    def counts(client: httpx.Client) -> tuple[int, ...]:
        found = []
        for states in _STATE_GROUPS:
            body = {"task_runs": {"state": {"type": {"any_": states}}}} if states else {}
            found.append(client.post(f"{api}/task_runs/count", json=body).json())
        return tuple(found)

    deadline = time.monotonic() + SETTLE_MAX_SECONDS
    try:
        with httpx.Client(timeout=10) as client:
            last, since = counts(client), time.monotonic()
            while time.monotonic() < deadline:
                time.sleep(0.15)
                now = counts(client)
                if now != last:
                    last, since = now, time.monotonic()
                elif time.monotonic() - since >= SETTLE_QUIET_SECONDS:
                    return
    except (httpx.HTTPError, ValueError):  # a server that no longer answers has nothing more to write
        return


def unreachable(api_url: str) -> str | None:
    """Why the Prefect server at ``api_url`` does not answer its health check (one line), or None when it does."""
    try:
        answer = httpx.get(f"{api_url.rstrip('/')}/health", timeout=10)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}" if str(exc) else type(exc).__name__
    return None if answer.status_code == 200 else f"HTTP {answer.status_code}"


def start_server_early() -> Callable[[], None]:
    """Spawn Prefect's temporary server now if this process will need one; returns the wait for it.

    Call the returned function before the first flow call: it waits until the server answers
    (PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS) and points Prefect at it for the rest of the
    process. The server stops when the process exits, after Prefect's workers have sent what they hold.
    """
    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return lambda: None
    # Prefect's own command and environment for its temporary server (SubprocessASGIServer._run_uvicorn_command)
    env = {
        **os.environ,
        "PREFECT_UI_ENABLED": "0",
        "PREFECT__SERVER_EPHEMERAL": "1",
        "PREFECT__SERVER_FINAL": "1",
        **get_current_settings().to_environment_variables(exclude_unset=True),
    }

    def spawn() -> tuple[subprocess.Popen, str]:
        port = str(_free_port())
        app = ["--app-dir", str(prefect.__module_path__.parent), "--factory", "prefect.server.api.server:create_app"]
        where = ["--host", "127.0.0.1", "--port", port, "--log-level", "error", "--lifespan", "on"]
        # the server dies with this process, even when it is killed (no orphan of ~220 MB per killed command)
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", *app, *where], env=env, preexec_fn=_dies_with_parent(os.getpid())
        )
        return process, f"http://127.0.0.1:{port}/api"

    current = list(spawn())  # [the server process, its API url]: a port taken meanwhile gets another
    ready: list[bool] = []  # [True] once it answered

    def stop() -> None:
        server, api = current
        if server.poll() is None:
            if ready:
                _wait_until_recorded(api)
            server.terminate()
            try:
                server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

    # registered before Prefect's log and event workers: at exit they drain to the server first, then it stops
    atexit.register(stop)

    def started() -> None:
        deadline = time.monotonic() + PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()
        with httpx.Client() as client:
            while True:
                server, api = current
                if server.poll() == 3:  # uvicorn's 'address in use', as Prefect's own start handles it
                    current[:] = spawn()
                    continue
                if server.poll() is not None:
                    raise RuntimeError(f"Prefect's temporary server exited with code {server.returncode}")
                try:
                    if client.get(f"{api}/health").status_code == 200:
                        ready.append(True)
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    stop()
                    raise RuntimeError("Timed out while waiting for Prefect's temporary server to start")
                time.sleep(0.1)
        # for the rest of the process, as Prefect's own temporary server serves it: the flow, then the workers
        # that send its last logs and events at exit
        _SETTINGS.enter_context(temporary_settings(updates={PREFECT_API_URL: api}))

    return started
