"""The data dictionary: every table, view and column of the warehouse from its DuckDB comments.

``fupin docs`` writes it as Markdown and HTML (default ``<home>/docs/``): one section per
relation with its grain, columns, types and comments, what feeds it (lineage read from the SQL
of ``warehouse/models/marts/*.sql`` and of the views), and each indicator's definition.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import duckdb

from fupin.readonly import connect_readonly

SCHEMAS = ("meta", "core", "marts")
# a reference in a model's or view's SQL to another relation of the warehouse
_REFERENCE = re.compile(r"\b(core|marts|meta)\.([a-z_][a-z0-9_]*)\b", re.IGNORECASE)


@dataclass
class Column:
    name: str
    data_type: str
    comment: str | None


@dataclass
class Relation:
    schema: str
    name: str
    kind: str  # table or view
    comment: str | None
    columns: list[Column] = field(default_factory=list)
    feeds_from: list[str] = field(default_factory=list)

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


def references(sql: str, *, exclude: str | None = None) -> list[str]:
    """The schema.relation names a piece of SQL reads, in order of first mention, without ``exclude``."""
    found: list[str] = []
    for schema, name in _REFERENCE.findall(sql):
        qualified = f"{schema.lower()}.{name.lower()}"
        if qualified != exclude and qualified not in found:
            found.append(qualified)
    return found


def mart_lineage() -> dict[str, list[str]]:
    """marts.<model> → the core tables and marts its SQL file reads."""
    folder = resources.files("warehouse").joinpath("models/marts")
    lineage = {}
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".sql"):
            name = f"marts.{entry.name.removesuffix('.sql')}"
            lineage[name] = references(entry.read_text(encoding="utf-8"), exclude=name)
    return lineage


def read_relations(con: duckdb.DuckDBPyConnection) -> list[Relation]:
    """Every table and view of the warehouse's schemas with its comments and lineage."""
    relations: dict[str, Relation] = {}
    for schema, name, comment in con.execute(
        "select schema_name, table_name, comment from duckdb_tables() "
        "where not internal and schema_name in (select unnest(?)) order by schema_name, table_name",
        [list(SCHEMAS)],
    ).fetchall():
        relations[f"{schema}.{name}"] = Relation(schema, name, "table", comment)
    for schema, name, comment, sql in con.execute(
        "select schema_name, view_name, comment, sql from duckdb_views() "
        "where not internal and schema_name in (select unnest(?)) order by schema_name, view_name",
        [list(SCHEMAS)],
    ).fetchall():
        qualified = f"{schema}.{name}"
        relations[qualified] = Relation(schema, name, "view", comment, feeds_from=references(sql, exclude=qualified))
    for schema, name, column, data_type, comment in con.execute(
        "select schema_name, table_name, column_name, data_type, comment from duckdb_columns() "
        "where not internal and schema_name in (select unnest(?)) order by schema_name, table_name, column_index",
        [list(SCHEMAS)],
    ).fetchall():
        relation = relations.get(f"{schema}.{name}")
        if relation is not None:
            relation.columns.append(Column(column, data_type, comment))
    for qualified, sources in mart_lineage().items():
        if qualified in relations:
            relations[qualified].feeds_from = sources
    order = {s: i for i, s in enumerate(SCHEMAS)}
    return sorted(relations.values(), key=lambda r: (order[r.schema], r.name))


def read_indicators(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """(indicator, unit, definition) in the order the indicator table prints them."""
    return con.execute("select indicator, unit, definition from core.indicator_definition order by ordinal").fetchall()


def undocumented(relations: list[Relation]) -> list[str]:
    """Tables, views and columns without a comment, as 'schema.table' or 'schema.table.column'."""
    missing = [r.qualified for r in relations if not (r.comment or "").strip()]
    missing += [f"{r.qualified}.{c.name}" for r in relations for c in r.columns if not (c.comment or "").strip()]
    return missing


def _fed_by(relations: list[Relation]) -> dict[str, list[str]]:
    used_by: dict[str, list[str]] = {}
    for r in relations:
        for source in r.feeds_from:
            used_by.setdefault(source, []).append(r.qualified)
    return used_by


def _md(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def render_markdown(relations: list[Relation], indicators: list[tuple[str, str, str]]) -> str:
    """The data dictionary as Markdown."""
    used_by = _fed_by(relations)
    lines = [
        "# fupin warehouse: data dictionary",
        "",
        "Generated by `fupin docs` from the warehouse's own comments. Money is yuan (`amount_yuan`, "
        "DECIMAL(18,2)), rates are fractions, counties are current 6-digit codes.",
        "",
        "## Relations",
        "",
        "| relation | kind | grain / description |",
        "|---|---|---|",
    ]
    lines += [f"| [`{r.qualified}`](#{r.schema}{r.name}) | {r.kind} | {_md(r.comment)} |" for r in relations]
    for r in relations:
        lines += ["", f"## {r.qualified}", "", f"*{r.kind}* — {_md(r.comment)}", ""]
        if r.feeds_from:
            lines.append("Fed by: " + ", ".join(f"`{s}`" for s in r.feeds_from) + "  ")
        if used_by.get(r.qualified):
            lines.append("Feeds: " + ", ".join(f"`{s}`" for s in used_by[r.qualified]) + "  ")
        if r.feeds_from or used_by.get(r.qualified):
            lines.append("")
        lines += ["| column | type | description |", "|---|---|---|"]
        lines += [f"| `{c.name}` | {c.data_type} | {_md(c.comment)} |" for c in r.columns]
    lines += ["", "## Indicators (marts.indicators)", "", "| indicator | unit | definition |", "|---|---|---|"]
    lines += [f"| `{name}` | {unit} | {_md(definition)} |" for name, unit, definition in indicators]
    return "\n".join(lines) + "\n"


_STYLE = """
body{font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",system-ui,sans-serif;margin:2rem auto;
max-width:70rem;padding:0 1rem;color:#1f2933;line-height:1.45}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}th,td{border:1px solid #d9dee3;padding:.3rem .5rem;
text-align:left;vertical-align:top}th{background:#f1f4f7}code{font-size:.92em}h2{margin-top:2.2rem;
border-bottom:2px solid #c8102e;padding-bottom:.2rem}.kind{color:#6b7785;font-size:.9em}.lineage{color:#3e4c59}
"""


def render_html(relations: list[Relation], indicators: list[tuple[str, str, str]]) -> str:
    """The data dictionary as one self-contained HTML page."""
    e = html.escape
    used_by = _fed_by(relations)

    def link(name: str) -> str:
        return f'<a href="#{e(name)}"><code>{e(name)}</code></a>'

    parts = [
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">',
        "<title>fupin 数据字典 · data dictionary</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>fupin warehouse: data dictionary（数据字典）</h1>",
        "<p>Generated by <code>fupin docs</code> from the warehouse's own comments. Money is yuan "
        "(<code>amount_yuan</code>), rates are fractions, counties are current 6-digit codes.</p>",
        '<h2 id="relations">Relations</h2><table><tr><th>relation</th><th>kind</th><th>grain / description</th></tr>',
    ]
    parts += [f"<tr><td>{link(r.qualified)}</td><td>{r.kind}</td><td>{e(r.comment or '')}</td></tr>" for r in relations]
    parts.append("</table>")
    for r in relations:
        parts.append(f'<h2 id="{e(r.qualified)}">{e(r.qualified)} <span class="kind">{r.kind}</span></h2>')
        parts.append(f"<p>{e(r.comment or '')}</p>")
        if r.feeds_from:
            parts.append(f'<p class="lineage">Fed by: {", ".join(link(s) for s in r.feeds_from)}</p>')
        if used_by.get(r.qualified):
            parts.append(f'<p class="lineage">Feeds: {", ".join(link(s) for s in used_by[r.qualified])}</p>')
        parts.append("<table><tr><th>column</th><th>type</th><th>description</th></tr>")
        parts += [
            f"<tr><td><code>{e(c.name)}</code></td><td>{e(c.data_type)}</td><td>{e(c.comment or '')}</td></tr>"
            for c in r.columns
        ]
        parts.append("</table>")
    parts.append('<h2 id="indicators">Indicators (marts.indicators)</h2>')
    parts.append("<table><tr><th>indicator</th><th>unit</th><th>definition</th></tr>")
    parts += [
        f"<tr><td><code>{e(name)}</code></td><td>{e(unit)}</td><td>{e(definition)}</td></tr>"
        for name, unit, definition in indicators
    ]
    parts.append("</table></body></html>")
    return "\n".join(parts)


def write_docs(warehouse: Path, out: Path) -> list[Path]:
    """Write data_dictionary.md and data_dictionary.html for the warehouse file into ``out``."""
    with connect_readonly(warehouse) as con:
        relations = read_relations(con)
        indicators = read_indicators(con)
    out.mkdir(parents=True, exist_ok=True)
    md, page = out / "data_dictionary.md", out / "data_dictionary.html"
    md.write_text(render_markdown(relations, indicators), encoding="utf-8")
    page.write_text(render_html(relations, indicators), encoding="utf-8")
    return [md, page]
