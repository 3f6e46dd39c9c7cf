"""Shared fixtures: one Prefect test harness per session (for the tests that run flows), one demo run to read.

Plain functions and constants the tests share are in tests/helpers.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import settings

from fupin.demo import write_demo
from fupin.flows.nightly import nightly

# FIXTURES, indicator, indicator_rows and run_beside_the_demo too, for test files written before tests/helpers.py
# held them: they still import, and unit/test_tests_layout.py names each such import to move to tests.helpers
# (keep only open_warehouse when none is left)
from tests.helpers import (  # noqa: F401
    FIXTURES,
    indicator,
    indicator_rows,
    launch_chromium,
    open_warehouse,
    run_beside_the_demo,
)

# no deadlines: a shared CI machine makes a property test's first example slow now and then, and a timing
# is not what these tests assert (benchmarks/ measures speed)
settings.register_profile("fupin", deadline=None)
settings.load_profile("fupin")


@pytest.fixture(scope="session")
def prefect_harness():
    """Prefect's own engine against a temporary database, started once (it takes ~12 s).

    Only for tests that run a flow or a task outside ``.fn``: they ask for it (directly, through
    ``demo_run``, or with ``pytestmark = pytest.mark.usefixtures("prefect_harness")``) and are marked
    ``prefect`` for it, so that ``make check`` can leave them out.
    """
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``prefect`` every test that needs the harness, however it asked for it."""
    for item in items:
        if "prefect_harness" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.prefect)


@pytest.fixture(scope="session")
def demo_run(prefect_harness, tmp_path_factory) -> dict:
    """The demo inbox written and run through the nightly flow once."""
    home = tmp_path_factory.mktemp("home")
    write_demo(home / "inbox")
    summary = nightly(inbox=str(home / "inbox"), home=str(home))
    return {"home": home, "summary": summary}


@pytest.fixture()
def warehouse(demo_run):
    """A read-only connection to the demo run's warehouse."""
    con = open_warehouse(demo_run["home"])
    yield con
    con.close()


@pytest.fixture()
def demo_home_copy(demo_run, tmp_path) -> Path:
    """A home holding a writable copy of the demo run's warehouse, lake and run records."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(demo_run["home"] / "warehouse.duckdb", home / "warehouse.duckdb")
    for copied in ("lake", "runs"):  # the warehouse names them relative to its home; copies: tests may add to them
        shutil.copytree(demo_run["home"] / copied, home / copied)
    return home


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium driven by Playwright, one per test module (the report's browser tests)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = launch_chromium(p)
        try:
            yield b
        finally:
            b.close()


# each hashing path in turn, chosen as a user would: with $FUPIN_HASHING (native only where the module was built)
HASHING_PATHS = [pytest.param("native", id="native"), pytest.param("python", id="python-fallback")]


@pytest.fixture(params=HASHING_PATHS)
def hashing_path(request, monkeypatch) -> str:
    """The registry's hashing path for this test: native (tasks._hashing) or the pure fallback."""
    from fupin.tasks.identity import hashing  # lazy: as the tests that ask for it

    if request.param == "native":
        pytest.importorskip("fupin.tasks._hashing", reason="the native module was not built")
    monkeypatch.setenv("FUPIN_HASHING", request.param)
    assert hashing.backend_name() == request.param
    return request.param
