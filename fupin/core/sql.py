"""Small SQL helpers shared by the CLI, the tasks and the warehouse: rows as dicts, quoting.

Values go in as bound parameters; quoting is for what DuckDB cannot bind: identifiers
from the catalogue, file paths in ATTACH/COPY/read_parquet, and COMMENT text.
"""

from __future__ import annotations

from typing import Any


def dicts(cursor: Any) -> list[dict[str, Any]]:
    """Every remaining row of an executed DuckDB cursor as a dict keyed by column name."""
    columns = [d[0] for d in cursor.description] if cursor.description else []
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def quote_identifier(name: str) -> str:
    """A schema, table or column name as a double-quoted SQL identifier, inner double quotes doubled."""
    return '"' + str(name).replace('"', '""') + '"'


def escape_literal(text: object) -> str:
    """Text to put between single quotes in SQL: inner single quotes doubled."""
    return str(text).replace("'", "''")


def quote_literal(text: object) -> str:
    """Text (a path, a comment) as a single-quoted SQL string literal."""
    return f"'{escape_literal(text)}'"
