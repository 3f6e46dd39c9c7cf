"""A warehouse that travels with its home: the files it names are named relative to the home.

DuckDB resolves a relative path in a view against the working folder first, then against the
folders of the ``file_search_path`` setting (there is no "relative to the database file"). So the
warehouse stores ``lake/household_registry/province=36/year=2017/<id>.parquet`` (the file a registry's
households were loaded from, read again by a rebuild), never an absolute path, and the one view over files,
``meta.runs`` (``runs/*.json``), is read by connections that set ``file_search_path`` to the home: fupin's own
(``search_home``); another client that wants ``meta.runs`` sets it too (README, Warehouse). Every other table,
the households included, needs no setting. Moving or copying the home (warehouse and lake together) then
changes nothing inside the warehouse.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import duckdb

from fupin.core.config import ConfigError
from fupin.core.messages import say


def home_of(con: duckdb.DuckDBPyConnection) -> Path:
    """The folder holding the connection's current database file (the home of a fupin warehouse)."""
    row = con.execute("select path from duckdb_databases() where database_name = current_database()").fetchone()
    if not row or not row[0]:
        raise ValueError("an in-memory database has no home folder")
    return Path(row[0]).resolve().parent


def search_home(con: duckdb.DuckDBPyConnection, home: Path | None = None) -> Path:
    """Make this connection resolve the warehouse's relative paths against ``home`` (default: its file's folder)."""
    home = Path(home).resolve() if home is not None else home_of(con)
    con.execute("set file_search_path = ?", [str(home)])
    return home


def stored_lake_path(lake_file: str | Path) -> str:
    """A lake file as the warehouse names it: ``lake/<dataset>/province=…/year=…/<file>``, relative to the home.

    Taken from the lake's own layout rather than from the connection's folder, so that a warehouse built
    elsewhere (rebuild-warehouse builds in ``<home>/rebuild``) names the same files the same way.
    """
    parts = Path(lake_file).resolve().parts
    if len(parts) < 5 or parts[-5] != "lake":
        raise ValueError(f"{lake_file} is not in a lake's layout (…/lake/<dataset>/province=…/year=…/<file>)")
    return PurePosixPath(*parts[-5:]).as_posix()


def lake_home(lake_file: str | Path) -> Path:
    """The home whose lake holds ``lake_file``."""
    return Path(lake_file).resolve().parents[4]


def in_home(stored: str, home: Path) -> Path:
    """The file a stored path names in ``home``."""
    return Path(home) / stored


# what fupin creates in a home may hold personal data (raw archive, lake, staging, receipts, reports,
# warehouse, exports): files 0600, folders 0700, whoever else uses the machine
PRIVATE_UMASK = 0o077


# the folders a run writes in directly under its home
HOME_FOLDERS = ("raw", "lake", "receipts", "reports", "runs", "ledger", "staging")


def private_home(home: Path) -> Path:
    """Make ``home`` (created if absent) the owner's alone, and everything this process creates from now on.

    The process's umask becomes 077, so every file and folder written afterwards — by fupin, pyarrow,
    DuckDB or Prefect's tasks — is 0600/0700 without each writer having to say so; the home folder
    itself is set to 0700, which closes whatever an older version left readable inside it. A home that
    cannot be written (a read-only mount, ``chmod -w``) is a ``ConfigError`` with one line saying what to do.
    """
    os.umask(PRIVATE_UMASK)
    home = Path(home)
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        if home.stat().st_uid == os.getuid() and home.stat().st_mode & 0o077:
            home.chmod(home.stat().st_mode & 0o700)
    except OSError as exc:
        raise ConfigError(_not_writable(home, exc.strerror or str(exc))) from None
    blocked = unwritable(home)
    if blocked:
        raise ConfigError(_not_writable(*blocked))
    return home


def unwritable(home: Path) -> tuple[Path, str] | None:
    """The first of the home's folders a run could not write in, and why; None when it can write them all.

    Tried with a file made and removed at once: ``os.access`` says yes to root on a read-only mount
    or an immutable folder.
    """
    for folder in (home, *(home / n for n in HOME_FOLDERS)):
        if folder.is_dir():
            probe = folder / f".fupin-write-test-{os.getpid()}"
            try:
                os.close(os.open(probe, os.O_CREAT | os.O_WRONLY, 0o600))
                probe.unlink()
            except OSError as exc:
                return folder, exc.strerror or str(exc)
    return None


def _not_writable(path: Path, why: str) -> str:
    return say("home_not_writable", path=path, why=why)
