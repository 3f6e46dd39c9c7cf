"""The data dictionary: every table, view and column of the warehouse from its DuckDB comments.

``fupin docs`` writes it as Markdown and HTML (default ``<home>/docs/``), in Chinese (``--lang en``:
English), from the Jinja2 templates ``fupin/templates/data_dictionary.{md,html}.j2``: one section per
relation with its Chinese name, grain, columns, types and comments (a comment reads ``中文名｜English``,
warehouse/comments.py), what feeds it (lineage read from the SQL of ``warehouse/models/marts/*.sql`` and
of the views), and each indicator's name, unit and definition.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import duckdb
import jinja2
import markupsafe

from fupin.core.messages import catalogue_rows
from fupin.warehouse import read
from fupin.warehouse.build import marts
from fupin.warehouse.comments import column_name_zh, split_comment
from fupin.warehouse.labels import label

SCHEMAS = ("meta", "core", "marts")
# a reference in a model's or view's SQL to another relation of the warehouse
_REFERENCE = re.compile(r"\b(core|marts|meta)\.([a-z_][a-z0-9_]*)\b", re.IGNORECASE)


@dataclass
class Column:
    name: str
    data_type: str
    comment: str | None
    relation: str = ""

    @property
    def name_zh(self) -> str:
        """Its Chinese name: the comment's first part, else the name the warehouse's seeds give it."""
        return split_comment(self.comment)[0] or column_name_zh(self.relation, self.name) or ""

    @property
    def description(self) -> str:
        return split_comment(self.comment)[1]


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

    @property
    def name_zh(self) -> str:
        return split_comment(self.comment)[0]

    @property
    def description(self) -> str:
        return split_comment(self.comment)[1]

    @property
    def description_zh(self) -> str:
        """What it holds, in Chinese, for the officials reading the Chinese dictionary (seeds/descriptions_zh.csv);
        empty for a relation not described there yet (its English description still shows)."""
        return descriptions_zh().get(self.qualified, "")


@cache
def descriptions_zh() -> dict[str, str]:
    """Relation → its Chinese description (warehouse/seeds/descriptions_zh.csv)."""
    text = resources.files("fupin.warehouse").joinpath("seeds/descriptions_zh.csv").read_text(encoding="utf-8")
    return {r["relation"]: r["description_zh"] for r in csv.DictReader(text.splitlines())}


def references(sql: str, *, exclude: str | None = None) -> list[str]:
    """The schema.relation names a piece of SQL reads, in order of first mention, without ``exclude``."""
    found: list[str] = []
    for schema, name in _REFERENCE.findall(sql):
        qualified = f"{schema.lower()}.{name.lower()}"
        if qualified != exclude and qualified not in found:
            found.append(qualified)
    return found


def mart_lineage() -> dict[str, list[str]]:
    """marts.<model> → the core tables and marts its SQL file reads (its documentation comments left out)."""
    return {
        f"marts.{m.name}": references(re.sub(r"--[^\n]*", "", m.sql), exclude=f"marts.{m.name}")
        for m in sorted(marts(), key=lambda m: m.name)
    }


def read_relations(con: duckdb.DuckDBPyConnection) -> list[Relation]:
    """Every table and view of the warehouse's schemas with its comments and lineage."""
    relations: dict[str, Relation] = {}
    found = read.catalog(con, SCHEMAS)
    for t in found["tables"]:
        relations[f"{t['schema_name']}.{t['table_name']}"] = Relation(
            t["schema_name"], t["table_name"], "table", t["comment"]
        )
    for v in found["views"]:
        qualified = f"{v['schema_name']}.{v['view_name']}"
        relations[qualified] = Relation(
            v["schema_name"], v["view_name"], "view", v["comment"], feeds_from=references(v["sql"], exclude=qualified)
        )
    for c in found["columns"]:
        qualified = f"{c['schema_name']}.{c['table_name']}"
        relation = relations.get(qualified)
        if relation is not None:
            relation.columns.append(Column(c["column_name"], c["data_type"], c["comment"], qualified))
    for qualified, sources in mart_lineage().items():
        if qualified in relations:
            relations[qualified].feeds_from = sources
    order = {s: i for i, s in enumerate(SCHEMAS)}
    return sorted(relations.values(), key=lambda r: (order[r.schema], r.name))


def read_indicators(con: duckdb.DuckDBPyConnection) -> list[dict[str, str]]:
    """Each indicator (id, Chinese and English name, unit, unit in Chinese, definition) in the printed order."""
    return [{**r, "name_en": label("indicator", r["indicator"], "en")} for r in read.indicator_definitions(con)]


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


TEXTS = {
    "zh": {
        "title": "fupin 数据仓库数据字典",
        "intro": "由 `fupin docs` 根据数据仓库自身的注释生成（英文版：`fupin docs --lang en`）。金额单位为元，"
        "以 DECIMAL 精确存储（`amount_yuan` 为 DECIMAL(18,2)，汇总后为 DECIMAL(38,2)）；`marts.indicators` 的数值为 "
        "DECIMAL(38,6)：金额精确到分，比率为小数（0.24 即 24%）并保留 6 位小数；县为现行 6 位行政区划代码；"
        "代码的中文名称见 `core.labels`。",
        "relations": "数据表与视图",
        "relation": "名称",
        "name_zh": "中文名",
        "kind": "类型",
        "table": "表",
        "view": "视图",
        "description_zh": "说明",
        "description": "说明（英文）",
        "column_description": "说明（英文）",
        "fed_by": "数据来源",
        "feeds": "用于",
        "column": "列",
        "type": "数据类型",
        "indicators": "指标（marts.indicators）",
        "indicator": "指标代码",
        "indicator_name": "指标",
        "unit": "单位",
        "definition": "定义",
        "messages": "消息代码",
        "messages_intro": "报送台账（`meta.submissions.message_code`）、退回行（`meta.rejections.reason_code`）、"
        "回执和命令所示消息的代码及其中文措辞（… 处为具体内容）。",
        "code": "代码",
        "message_kind": "类别",
        "message_text": "消息",
    },
    "en": {
        "title": "fupin warehouse: data dictionary",
        "intro": "Generated by `fupin docs --lang en` from the warehouse's own comments (in Chinese: `fupin docs`). "
        "Money is yuan, stored exactly as DECIMAL (`amount_yuan` DECIMAL(18,2), sums DECIMAL(38,2)); "
        "`marts.indicators.value` is DECIMAL(38,6): money exact to the fen, rates as fractions rounded to 6 places; "
        "counties are current 6-digit codes; the Chinese names of codes are in `core.labels`.",
        "relations": "Relations",
        "relation": "relation",
        "name_zh": "Chinese name",
        "kind": "kind",
        "table": "table",
        "view": "view",
        "description_zh": "description in Chinese",
        "description": "grain / description",
        "column_description": "description",
        "fed_by": "Fed by",
        "feeds": "Feeds",
        "column": "column",
        "type": "type",
        "indicators": "Indicators (marts.indicators)",
        "indicator": "indicator",
        "indicator_name": "name",
        "unit": "unit",
        "definition": "definition",
        "messages": "Message codes",
        "messages_intro": "The codes of the messages the ledger (`meta.submissions.message_code`, "
        "`meta.rejections.reason_code`), receipts and commands show, with their wording (… stands for the details).",
        "code": "code",
        "message_kind": "kind",
        "message_text": "message",
    },
}
LANGUAGES = tuple(TEXTS)


def _environment(markdown: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("fupin", "templates"),
        autoescape=not markdown,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["md"] = _md
    return env


def _context(relations: list[Relation], indicators: list[dict[str, str]], lang: str) -> dict:
    if lang not in TEXTS:
        raise ValueError(f"unknown language '{lang}': {' or '.join(LANGUAGES)}")
    texts = dict(TEXTS[lang])
    escaped = str(markupsafe.escape(texts["intro"]))
    texts["intro_html"] = markupsafe.Markup(re.sub(r"`([^`]*)`", r"<code>\1</code>", escaped))
    return {
        "t": texts,
        "zh": lang == "zh",
        "relations": relations,
        "indicators": indicators,
        "used_by": _fed_by(relations),
        "messages": catalogue_rows(lang),
    }


def render_markdown(relations: list[Relation], indicators: list[dict[str, str]], lang: str = "zh") -> str:
    """The data dictionary as Markdown (templates/data_dictionary.md.j2), in Chinese or English."""
    template = _environment(markdown=True).get_template("data_dictionary.md.j2")
    return template.render(_context(relations, indicators, lang))


def render_html(relations: list[Relation], indicators: list[dict[str, str]], lang: str = "zh") -> str:
    """The data dictionary as one self-contained HTML page (templates/data_dictionary.html.j2)."""
    return (
        _environment(markdown=False)
        .get_template("data_dictionary.html.j2")
        .render(_context(relations, indicators, lang))
    )


def write_docs(warehouse: Path, out: Path, lang: str = "zh") -> list[Path]:
    """Write data_dictionary.md and data_dictionary.html for the warehouse file into ``out`` (Chinese, or ``en``)."""
    with read.connect(warehouse) as con:
        relations = read_relations(con)
        indicators = read_indicators(con)
    out.mkdir(parents=True, exist_ok=True)
    md, page = out / "data_dictionary.md", out / "data_dictionary.html"
    md.write_text(render_markdown(relations, indicators, lang), encoding="utf-8")
    page.write_text(render_html(relations, indicators, lang), encoding="utf-8")
    return [md, page]
