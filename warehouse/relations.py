"""Relation specs: every relation of the warehouse that is not a dataset's fact table, declared once.

``contracts/relations/<schema>.<name>.yaml`` declares one relation — the ledger (``meta.*``,
``marts.indicator_changes``), the household registries and households, the reference tables and the run
records — as the dataset contracts declare the facts::

    relation: meta.decisions          # schema.name
    build: table                      # table: created from this spec (create table if not exists);
                                      # reference: rewritten from python-stdnum and the seeds (warehouse.build);
                                      # lake: a view over the lake's files (none now); runs: over <home>/runs/*.json
    zh: 待确认报送的处理决定             # Chinese title (the comment's first part)
    en: One row per decision …        # English description
    primary_key: [submission_id]      # enforced (table)
    ledger: true                      # copied beside the warehouse (<home>/ledger/<relation>.parquet)
    history: true                     # not derivable from the lake and the ledger rows: carried into a rebuild
    compare: true                     # a rebuilt warehouse must reproduce it (or {exclude: [columns]}; false)
    current: {relation: core.x, zh: …, en: …}   # its current-version view (valid_to is null)
    columns:
      - {name: submission_id, type: varchar, nullable: false, default: null, zh: 报送编号, label: 报送编号, en: …}

A column's ``zh`` is its Chinese name in this relation (the comment's first part); ``label`` the header it has in
every export and report CSV (``column_labels``), when it has one. From these come the DDL, the comments, the
ledger's export and re-reading, rebuild's comparison and the column labels. The specs live in the contracts'
folder (``$FUPIN_CONTRACTS`` or the one shipped), so a test's copy of the contracts carries its own.

``seeds/names_zh.csv`` keeps the Chinese names of the relations no spec declares (marts, the facts' bookkeeping
columns): ``chinese_names``.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from fupin.core import yamltext
from fupin.core.sql import escape_literal as _quote

SEPARATOR = "｜"  # every comment reads <Chinese name>｜<English description>
BUILDS = ("table", "reference", "lake", "runs")
VALIDITY = ("valid_from", "valid_to")  # left out of a current-version view


def folder() -> Path:
    """The contracts' folder: ``$FUPIN_CONTRACTS`` or the one shipped beside fupin.warehouse."""
    override = os.environ.get("FUPIN_CONTRACTS")
    return Path(override) if override else _shipped()


@cache
def _shipped() -> Path:
    """The contracts shipped with fupin (looked up once: a load asks for them thousands of times)."""
    return Path(str(resources.files("fupin.warehouse").joinpath("contracts")))


def titled(zh: str | None, text: str | None) -> str:
    """``text`` with ``zh`` in front (unchanged when it has it already, or there is none)."""
    if not zh or (text or "").startswith(zh + SEPARATOR):
        return text or ""
    return zh + SEPARATOR + (text or "")


@dataclass(frozen=True)
class RelationColumn:
    name: str
    type: str
    nullable: bool = True
    default: str | None = None  # a SQL expression
    zh: str = ""
    en: str = ""
    label: str | None = None  # header in exports and report CSVs, the same in every relation

    @property
    def comment(self) -> str:
        return titled(self.zh, self.en)


@dataclass(frozen=True)
class CurrentView:
    relation: str
    zh: str
    en: str


@dataclass(frozen=True)
class Relation:
    """One declared relation of the warehouse."""

    relation: str
    build: str
    zh: str
    en: str
    columns: tuple[RelationColumn, ...]
    primary_key: tuple[str, ...] = ()
    ledger: bool = False
    history: bool = False
    compare: bool = False
    compare_exclude: tuple[str, ...] = ()
    current: CurrentView | None = None

    @property
    def comment(self) -> str:
        return titled(self.zh, self.en)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> RelationColumn:
        return next(c for c in self.columns if c.name == name)

    def create_sql(self, *, replace: bool = False) -> str:
        """``create table`` of this relation (if not exists, or ``replace``)."""
        lines = [
            f"    {c.name} {c.type}"
            + ("" if c.default is None else f" default {c.default}")
            + ("" if c.nullable else " not null")
            for c in self.columns
        ]
        if self.primary_key:
            lines.append(f"    primary key ({', '.join(self.primary_key)})")
        head = "create or replace table" if replace else "create table if not exists"
        return f"{head} {self.relation} (\n" + ",\n".join(lines) + "\n);"

    def comment_sql(self, kind: str = "table") -> str:
        """COMMENT statements of the relation (a ``kind``: table or view) and its columns, Chinese name first."""
        lines = [f"comment on {kind} {self.relation} is '{_quote(self.comment)}';"]
        lines += [f"comment on column {self.relation}.{c.name} is '{_quote(c.comment)}';" for c in self.columns]
        if self.current:
            view = self.current.relation
            lines.append(f"comment on view {view} is '{_quote(titled(self.current.zh, self.current.en))}';")
            lines += [
                f"comment on column {view}.{c.name} is '{_quote(c.comment)}';"
                for c in self.columns
                if c.name not in VALIDITY
            ]
        return "\n".join(lines)

    def current_view_sql(self) -> str:
        assert self.current is not None
        return (
            f"create or replace view {self.current.relation} as "
            f"select * exclude ({', '.join(VALIDITY)}) from {self.relation} where valid_to is null;"
        )

    def ddl(self) -> str:
        """Table, current view and comments of a ``build: table`` relation (idempotent)."""
        parts = [self.create_sql()]
        if self.current:
            parts.append(self.current_view_sql())
        parts.append(self.comment_sql())
        return "\n".join(parts)

    def compared_sql(self) -> str | None:
        """The query whose rows a rebuilt warehouse must reproduce (its current view when it has one)."""
        if not self.compare:
            return None
        target = self.current.relation if self.current else self.relation
        exclude = f" exclude ({', '.join(self.compare_exclude)})" if self.compare_exclude else ""
        return f"select *{exclude} from {target}"


def _relation(path: Path, doc: dict) -> Relation:
    if doc.get("build") not in BUILDS:
        raise ValueError(f"{path}: build must be one of {', '.join(BUILDS)}")
    compare = doc.get("compare", False)
    current = doc.get("current")
    return Relation(
        relation=doc["relation"],
        build=doc["build"],
        zh=doc.get("zh", ""),
        en=doc.get("en", ""),
        columns=tuple(
            RelationColumn(
                name=c["name"],
                type=c["type"],
                nullable=bool(c.get("nullable", True)),
                default=None if c.get("default") is None else str(c["default"]),
                zh=c.get("zh", ""),
                en=c.get("en", ""),
                label=c.get("label"),
            )
            for c in doc["columns"]
        ),
        primary_key=tuple(doc.get("primary_key", ())),
        ledger=bool(doc.get("ledger", False)),
        history=bool(doc.get("history", False)),
        compare=bool(compare),
        compare_exclude=tuple(compare.get("exclude", ())) if isinstance(compare, dict) else (),
        current=CurrentView(current["relation"], current.get("zh", ""), current.get("en", "")) if current else None,
    )


def relations() -> dict[str, Relation]:
    """Every declared relation, by name, in file-name order."""
    return _load(folder() / "relations")


@cache
def _load(where: Path) -> dict[str, Relation]:
    out: dict[str, Relation] = {}
    for path in sorted(where.glob("*.yaml")):
        spec = _relation(path, yamltext.safe_load(path.read_text(encoding="utf-8")))
        if spec.relation in out or path.stem != spec.relation:
            raise ValueError(f"{path}: declares {spec.relation}; a relation is declared once, in <relation>.yaml")
        out[spec.relation] = spec
    labels: dict[str, tuple[str, str]] = {}
    for spec in out.values():  # a column's export header is one, whichever relation it is in
        for c in spec.columns:
            if c.label is None:
                continue
            seen = labels.setdefault(c.name, (c.label, spec.relation))
            if seen[0] != c.label:
                raise ValueError(f"{c.name}: label {c.label} in {spec.relation}, {seen[0]} in {seen[1]}")
    return out


def relation(name: str) -> Relation:
    return relations()[name]


def of_build(build: str) -> list[Relation]:
    return [r for r in relations().values() if r.build == build]


def ledger_tables() -> tuple[str, ...]:
    """What only the warehouse knows beyond the lake, copied beside it after every change."""
    return tuple(r.relation for r in relations().values() if r.ledger)


def history_tables() -> tuple[str, ...]:
    """Ledger tables that neither the lake nor the ledger rows can give again: carried into a rebuild."""
    return tuple(r.relation for r in relations().values() if r.history)


def column_labels() -> dict[str, str]:
    """Column → header in exports and report CSVs, over every declared relation."""
    return {c.name: c.label for r in relations().values() for c in r.columns if c.label}


def ddl() -> str:
    """Every ``build: table`` relation's DDL and comments."""
    return "\n".join(r.ddl() for r in of_build("table"))


def column_zh(relation_name: str, column: str) -> str | None:
    """The Chinese name a declared relation (or its current view) gives ``column``; None when undeclared."""
    for spec in relations().values():
        if relation_name == spec.relation or (spec.current and relation_name == spec.current.relation):
            return next((c.zh for c in spec.columns if c.name == column), None) or None
    return None


def title_zh(relation_name: str) -> str | None:
    """The Chinese title of a declared relation or its current view; None when undeclared."""
    for spec in relations().values():
        if relation_name == spec.relation:
            return spec.zh or None
        if spec.current and relation_name == spec.current.relation:
            return spec.current.zh or None
    return None


@cache
def chinese_names() -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """(relation → Chinese title, (relation or '', column) → Chinese name) from seeds/names_zh.csv: the names of
    what no spec declares (marts, the facts' views and bookkeeping columns; '' for a column in any relation)."""
    text = resources.files("fupin.warehouse").joinpath("seeds/names_zh.csv").read_text(encoding="utf-8")
    titles: dict[str, str] = {}
    columns: dict[tuple[str, str], str] = {}
    for r in csv.DictReader(text.splitlines()):
        if r["column"]:
            columns[(r["relation"], r["column"])] = r["name_zh"]
        else:
            titles[r["relation"]] = r["name_zh"]
    return titles, columns
