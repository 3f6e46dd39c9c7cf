"""The analysts' sandbox: a read-only warehouse connection that can read the warehouse and nothing else.

DuckDB's own controls do the fencing, not a hand-made SQL filter: the file is opened read-only,
file access but to the lake files the warehouse lists (its households' registry files, which a warehouse not yet
migrated still reads through a view) and ``<home>/runs`` (the JSON behind ``meta.runs``) is disabled (a file there
that is a link, hard or symbolic, is never readable: the lake file is left out, the runs folder closed), extensions
are neither installed nor loaded, and the configuration is locked so that no ``SET`` can undo any of it. The raw
archive, the key file, staging and other homes stay out of reach (but for one thing: the warehouse names its files
relative to its home, so ``lake/`` and ``runs/`` are allowed as written too, and DuckDB looks for those in the
working folder before the home — a query run from inside another home could read that home's
pseudonymised lake). Because COPY and EXPORT may write inside the allowed
folders, a query an analyst types must also be exactly one SELECT, as DuckDB's parser classifies it.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from fupin.core.files import plain_file
from fupin.core.messages import say
from fupin.core.sql import quote_identifier

# what an analyst's statement may be; DESCRIBE, SHOW, SUMMARIZE, FROM … and WITH … parse as SELECT
_ALLOWED_STATEMENTS = {duckdb.StatementType.SELECT}


class QueryRefused(ValueError):
    """A statement the analysts' sandbox does not run, with a one-line Chinese reason and a code."""


def readable_folders(warehouse: Path) -> list[Path]:
    """The folders beside the warehouse that its views read: the lake and the run records."""
    home = Path(warehouse).resolve().parent
    return [home / "lake", home / "runs"]


def listed_lake_files(con: duckdb.DuckDBPyConnection, database: str | None = None) -> list[str]:
    """The lake files the warehouse's views read (households), as it names them (relative to the home);
    ``database``: the attached warehouse's name when it is not the connection's current database."""
    table = (
        f"{quote_identifier(database)}.core.household_registry_history"
        if database
        else "core.household_registry_history"
    )
    try:
        rows = con.execute(f"select distinct lake_file from {table}").fetchall()
    except duckdb.CatalogException:  # a warehouse without households' registry table
        return []
    return [f for (f,) in rows if f and not f.startswith("/") and ".." not in Path(f).parts]


def _plain_folder(folder: Path) -> bool:
    """A folder (not a link) holding plain files only (the run records), or absent."""
    if not folder.exists():
        return True
    if folder.is_symlink():
        return False
    try:
        return all(plain_file(entry) for entry in folder.iterdir())
    except OSError:
        return False


def connect_readonly(warehouse: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to ``warehouse`` that reads its lake and run records and no other file."""
    # attached to an in-memory database rather than opened directly: DuckDB refuses a second connection to
    # one file with another configuration in the same process (a flow's or a test's plain read-only one)
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        con.execute("attach ? as warehouse (read_only)", [str(warehouse)])
        con.execute("use warehouse")
        fence(con, warehouse, listed_lake_files(con))
    except BaseException:
        con.close()
        raise
    return con


def fence(con: duckdb.DuckDBPyConnection, warehouse: Path, lake_files: list[str]) -> None:
    """Lock ``con`` down to reading ``warehouse`` and its own files: the ``lake_files`` it lists (each a plain
    file) and its run records; no other file, no extension, and no ``SET`` can undo it."""
    # the views name their files relative to the home (fupin/core/home.py): resolved through the search path,
    # after DuckDB has checked the name as written, hence the relative forms beside the absolute ones.
    # A trailing separator so that <home>/lake-copy is not inside <home>/lake.
    folders = readable_folders(warehouse)
    home = folders[0].parent
    con.execute("set file_search_path = ?", [str(home)])
    # the lake: only the files the warehouse lists, each a plain file (a link planted there, hard or
    # symbolic, may lead to the raw archive); the run records: the folder while it holds nothing else
    lake = [f for f in lake_files if plain_file(home / f)]
    runs = folders[1]
    allowed = [f"{runs}/", f"{runs.name}/"] if _plain_folder(runs) else []
    con.execute("set allowed_directories = ?", [allowed])
    con.execute("set allowed_paths = ?", [[str(home / f) for f in lake] + lake])
    con.execute("set enable_external_access = false")
    con.execute("set allow_community_extensions = false")
    con.execute("set lock_configuration = true")


def single_select(sql: str) -> str:
    """``sql`` when it is exactly one SELECT statement; otherwise QueryRefused saying why."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryRefused(say("query_syntax", error=str(exc).splitlines()[0])) from None
    if len(statements) != 1:
        raise QueryRefused(say("query_not_single", count=len(statements)))
    kind = statements[0].type
    if kind not in _ALLOWED_STATEMENTS:
        name = kind.name if hasattr(kind, "name") else str(kind)
        raise QueryRefused(say("query_not_select", statement=name))
    return sql


def refusal_of(exc: duckdb.Error) -> str:
    """One line for an error DuckDB raised inside the sandbox, naming a refused file access as such."""
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, duckdb.PermissionException):
        return say("access_denied", error=first)
    if "configuration has been locked" in first or "Cannot change configuration" in first:
        return say("config_locked", error=first)
    return first
