"""Shared fixtures: one Prefect test harness per session (for the tests that run flows), one demo run to read."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pytest
from hypothesis import settings

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# a fixed key for the tests' synthetic registries (no real person is behind them); never a production key
os.environ.setdefault("FUPIN_PII_KEY", "tests-only-pseudonymisation-key-0123456789")

FIXTURES = Path(__file__).parent / "fixtures"

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
    from fupin.flows.nightly import nightly

    from fupin.demo import write_demo

    home = tmp_path_factory.mktemp("home")
    write_demo(home / "inbox")
    summary = nightly(inbox=str(home / "inbox"), home=str(home))
    return {"home": home, "summary": summary}


def open_warehouse(home: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to ``home``'s warehouse that finds the households' files (README, Warehouse).

    ``SET`` after connecting rather than ``config=`` at connect: DuckDB refuses a second connection to one
    file with another configuration in the same process, and the code under test opens it plainly.
    """
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    con.execute("set file_search_path = ?", [str(home)])
    return con


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


def run_beside_the_demo(home: Path, province: str, files: dict[str, Path]) -> dict:
    """The demo inbox written under ``home``, ``files`` (path in the inbox folder → file) copied into ``province``'s
    inbox folder beside it, and the nightly flow run once; its summary."""
    from fupin.flows.nightly import nightly

    from fupin.demo import write_demo

    write_demo(home / "inbox")
    folder = home / "inbox" / province
    for rel, path in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, folder / rel)
    return nightly(inbox=str(home / "inbox"), home=str(home))


def indicator_rows(con) -> dict[str, object]:
    """Every published figure: indicator × scope × period → value."""
    rows = con.execute("select indicator || '|' || scope_code || '|' || period, value from marts.indicators").fetchall()
    return dict(rows)


def indicator(con, name: str, scope: str, period: str) -> float:
    """One value of marts.indicators; fails the test if it is not there."""
    row = con.execute(
        "select value from marts.indicators where indicator = ? and scope_code = ? and period = ?",
        [name, scope, period],
    ).fetchone()
    assert row is not None, f"no indicator {name} for {scope} {period}"
    return float(row[0])  # DECIMAL(38, 6) in the warehouse; the tests compare with pytest.approx
