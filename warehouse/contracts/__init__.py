"""Data contracts: one YAML file per dataset, read once, from which the rest of fupin is derived.

Each ``<dataset>.yaml`` declares the dataset's canonical columns (type, unit, Chinese and English
labels, comment), its grain key, the header fields a form must carry, the header vocabulary
(synonyms and meaning-bearing words), the value vocabularies and the checks. ``_common.yaml`` holds
what every dataset shares. From these come the DDL of ``core.fct_*_history`` and its current view
(``ddl``), the lake's Parquet schemas (``tasks.lake``), the normaliser's vocabulary and row
building (``tasks.normalise``), the validators (``tasks.validate``), the export labels
(``fupin.export``), the data dictionary (from the COMMENTs) and the generic data tests
(``data_tests``). ``FUPIN_CONTRACTS`` points at another folder (tests use it to prove the derivation); its
``relations/`` holds the specs of the warehouse's other relations (ledger, households, reference tables, run
records: ``fupin.warehouse.relations``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa

from fupin.core import yamltext
from fupin.core.sql import escape_literal as _quote
from fupin.warehouse.relations import chinese_names, folder, titled

ARROW_TYPES = {
    "varchar": pa.string(),
    "integer": pa.int32(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "decimal(18, 2)": pa.decimal128(18, 2),
    "uuid": pa.uuid(),  # a household's pseudonym (fupin/core/pseudonym.py)
}
# the columns a row's county cell fills: its county, or (datasets with prefecture targets) its whole prefecture
PLACE_COLUMNS = ("county_code", "prefecture_code")
# the bookkeeping columns around a dataset's own in the history table: (before, after)
_LEADING = ("province_code",)
# (source_sheet and source_unit last: an older warehouse gains them at the end, evolve() in warehouse/migrations.py)
_TRAILING = ("submission_id", "source_row", "valid_from", "valid_to", "source_sheet", "source_unit")


@dataclass(frozen=True)
class Value:
    """One accepted value of a coded column, its Chinese label and how forms write it."""

    code: str
    zh: str
    headers: tuple[str, ...]
    default_level: str | None = None
    en: str | None = None  # English label (core.labels.name_en); the code when not given


@dataclass(frozen=True)
class Column:
    """A canonical column: stored type, unit, labels and how forms head it (``field``: the header field)."""

    name: str
    type: str
    nullable: bool = False
    unit: str | None = None
    zh: str | None = None
    en: str | None = None
    label: str | None = None  # how a clerk heads it, when not the Chinese label
    comment: str = ""
    field: str = ""
    headers: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    not_words: tuple[str, ...] = ()
    values: tuple[Value, ...] = ()
    # a resident ID number read from the form and stored only as its keyed hash (tasks/identity/hashing.py)
    pseudonym: bool = False

    @property
    def arrow_type(self) -> pa.DataType:
        return ARROW_TYPES[self.type]

    @property
    def kind(self) -> str:
        """How a cell becomes a value: money, fraction, count, pseudonym, code or text."""
        if self.pseudonym:
            return "pseudonym"
        if self.unit == "yuan":
            return "money"
        if self.unit == "fraction":
            return "fraction"
        if self.type in ("bigint", "integer"):
            return "count"
        return "code" if self.values else "text"


@dataclass(frozen=True)
class Rule:
    """A check on one column: not_zero, not_above (``limit``) or between (``low``..``high``)."""

    column: str
    reason: str
    field: str
    limit: str | None = None
    low: float | None = None
    high: float | None = None
    columns: tuple[str, ...] = ()  # any_of: at least one of these is not null


@dataclass(frozen=True)
class Plausibility:
    """How far a submission may move a dataset's published figures before the gate holds it (tasks/gate.py).

    ``max_fall`` and ``max_rise`` bound a province × year total (a share it may fall by; a multiple it may rise
    to), ``county_factor`` one fact's value corrected in place (at most ×factor or ÷factor), ``outlier_factor`` a
    new or corrected value above the median of its other years and of its province's other counties (each
    used where it exists; ``min_peers`` counties at least; below them only a unit slip holds). A ratio within
    ×/÷``unit_tolerance`` of 10⁴ or 10⁸ (or their inverses) in a money column is named a likely unit error
    (元/万元/亿元).
    """

    max_fall: float = 0.10
    max_rise: float = 3.0
    max_retired_share: float = 0.2
    county_factor: float = 3.0
    outlier_factor: float = 20.0
    min_peers: int = 3
    unit_tolerance: float = 2.0


@dataclass(frozen=True)
class Contract:
    """Everything fupin knows about one dataset."""

    dataset: str
    zh: str
    en: str
    grain: str
    key: tuple[str, ...]
    required: tuple[str, ...]  # header fields; 'a|b' is either
    columns: tuple[Column, ...]
    inputs: tuple[Column, ...]  # header fields read but not stored (county name, ignorable columns)
    table_columns: tuple[Column, ...]
    non_negative: tuple[str, ...] = ()
    not_zero: tuple[Rule, ...] = ()
    not_above: tuple[Rule, ...] = ()
    between: tuple[Rule, ...] = ()
    any_of: tuple[Rule, ...] = ()
    # totals per province × year that the shrink guard watches (tasks/load/apply.py): a submission lowering one
    # by more than the guard is held for a person
    guarded_totals: tuple[str, ...] = ()
    # what a row's county cell may name: a county, or also a whole prefecture (凉山州) for programmes held there
    targets: tuple[str, ...] = ("county",)
    # a form that states no money unit is read in 元 only when its amounts look like 元: when most non-zero
    # amounts are below this many 元 they are taken for 万元 written without their unit and the file is refused
    unitless_money_yuan_at_least: int | None = None
    # the plausibility gate's bounds on the guarded totals: _common.yaml's, overridden by the dataset's own
    plausibility: Plausibility = Plausibility()

    @property
    def table(self) -> str:
        return f"core.fct_{self.dataset}_history"

    @property
    def view(self) -> str:
        return f"core.fct_{self.dataset}"

    @property
    def optional(self) -> tuple[str, ...]:
        """Header fields a form may carry beyond the required ones."""
        required = {f for alt in self.required for f in alt.split("|")}
        return tuple(c.field for c in self.columns if c.field not in required and c.name not in PLACE_COLUMNS)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def history_columns(self) -> list[Column]:
        """Columns of the history table in order: province, the dataset's own, then the bookkeeping ones."""
        around = {c.name: c for c in self.table_columns}
        return [*(around[n] for n in _LEADING), *self.columns, *(around[n] for n in _TRAILING)]

    def arrow_schema(self) -> pa.Schema:
        """The lake file's schema: province and year live in the partition path, not in the file."""
        own = [(c.name, c.arrow_type) for c in self.columns if c.name != "year"]
        return pa.schema(
            [
                *own,
                ("source_row", pa.int32()),
                ("submission_id", pa.string()),
                ("source_sheet", pa.string()),
                ("source_unit", pa.string()),
            ]
        )

    def ddl(self) -> str:
        """History table, its comments and the current view (an older warehouse: warehouse/migrations.py)."""
        quote = _quote
        lines = [f"create table if not exists {self.table} ("]
        lines.append(
            ",\n".join(f"    {c.name} {c.type}{'' if c.nullable else ' not null'}" for c in self.history_columns())
        )
        lines.append(");")
        every = f"Every version of {self.view} with its validity (valid_from, valid_to); {self.en}: {self.grain}."
        # 中文名｜English, as every comment reads
        lines.append(f"comment on table {self.table} is '{quote(titled(chinese_names()[0].get(self.table), every))}';")
        lines += [
            f"comment on column {self.table}.{c.name} is '{quote(titled(column_zh(self.table, c.name), c.comment))}';"
            for c in self.history_columns()
        ]
        lines.append(
            f"create or replace view {self.view} as "
            f"select * exclude (valid_from, valid_to) from {self.table} where valid_to is null;"
        )
        return "\n".join(lines)

    def data_tests(self) -> dict[str, tuple[str, list[Any]]]:
        """Generic data tests: name → (SQL returning the offending rows, parameters)."""
        keys = ", ".join(self.key)
        tests = {
            f"assert_{self.dataset}_keys_unique": (
                f"select {keys}, count(*) as n from {self.view} group by {keys} having count(*) > 1",
                [],
            ),
        }
        required = [c.name for c in self.columns if not c.nullable]
        tests[f"assert_{self.dataset}_required_not_null"] = (
            f"select * from {self.view} where " + " or ".join(f"{c} is null" for c in required),
            [],
        )
        if "prefecture" in self.targets:  # a row is about one county or one whole prefecture, never both or neither
            tests[f"assert_{self.dataset}_one_place"] = (
                f"select * from {self.view} where (county_code is null) = (prefecture_code is null) "
                "or prefecture_code not in (select prefecture_code from core.dim_prefecture)",
                [],
            )
        for c in self.columns:
            if c.values:
                tests[f"assert_{self.dataset}_{c.name}_accepted_values"] = (
                    f"select {c.name} from {self.view} where {c.name} not in (select unnest(?))",
                    [[v.code for v in c.values]],
                )
        return tests


def _column(name: str, spec: dict[str, Any], base: dict[str, Any] | None = None) -> Column:
    merged = {**(base or {}), **spec}
    values = tuple(
        Value(code, v["zh"], tuple(map(str, v.get("headers", ()))), v.get("default_level"), v.get("en"))
        for code, v in (merged.get("values") or {}).items()
    )
    return Column(
        name=name,
        type=merged.get("type", "varchar"),
        nullable=bool(merged.get("nullable", False)),
        unit=merged.get("unit"),
        zh=merged.get("zh"),
        en=merged.get("en"),
        label=merged.get("label"),
        comment=merged.get("comment", ""),
        field=merged.get("field", name),
        headers=tuple(map(str, merged.get("headers", ()))),
        words=tuple(merged.get("words", ())),
        not_words=tuple(merged.get("not_words", ())),
        values=values,
        pseudonym=bool(merged.get("pseudonym", False)),
    )


def _rules(specs: list[dict[str, Any]]) -> tuple[Rule, ...]:
    return tuple(
        Rule(
            column=s.get("column", (s.get("columns") or [""])[0]),
            reason=s["reason"],
            field=s.get("field") or s.get("column") or s["columns"][0],
            limit=s.get("limit"),
            low=s.get("min"),
            high=s.get("max"),
            columns=tuple(s.get("columns", ())),
        )
        for s in specs
    )


def _plausibility(path: Path, spec: dict[str, Any]) -> Plausibility:
    """The gate's bounds from a contract's ``plausibility:`` block; an unknown key or a bound that cannot hold stops."""
    known = Plausibility.__dataclass_fields__
    unknown = sorted(set(spec) - set(known))
    if unknown:
        raise ValueError(f"{path}: plausibility: unknown {', '.join(unknown)} (known: {', '.join(known)})")
    bounds = Plausibility(**{k: type(getattr(Plausibility, k))(v) for k, v in spec.items()})
    factors = (bounds.max_rise, bounds.county_factor, bounds.outlier_factor, bounds.unit_tolerance)
    if not (0 < bounds.max_fall <= 1 and min(factors) > 1):
        raise ValueError(f"{path}: plausibility: max_fall must be in (0, 1] and every factor above 1")
    return bounds


def contracts() -> dict[str, Contract]:
    """Every dataset's contract, by dataset name, in file-name order."""
    return _load(folder())


@cache
def _load(where: Path) -> dict[str, Contract]:
    common = yamltext.safe_load((where / "_common.yaml").read_text(encoding="utf-8"))
    shared = common["columns"]
    inputs = tuple(_column(n, s) for n, s in common["fields"].items())
    around = tuple(_column(n, s) for n, s in common["table_columns"].items())
    bounds = common.get("plausibility") or {}
    out = {}
    for path in sorted(where.glob("*.yaml")):
        if path.name.startswith("_"):
            continue
        doc = yamltext.safe_load(path.read_text(encoding="utf-8"))
        own = [spec["name"] for spec in doc["columns"]]
        specs = [*doc["columns"], *({"name": n} for n in common.get("every_dataset", ()) if n not in own)]
        columns = tuple(
            _column(spec["name"], {k: v for k, v in spec.items() if k != "name"}, shared.get(spec["name"]))
            for spec in specs
        )
        checks = doc.get("checks") or {}
        # a dataset may add headings to the shared input fields (household_grant: the head's name, read and dropped)
        own_inputs = doc.get("fields") or {}
        dataset_inputs = tuple(
            replace(c, headers=(*c.headers, *map(str, own_inputs[c.name].get("headers", ()))))
            if c.name in own_inputs
            else c
            for c in inputs
        )
        out[doc["dataset"]] = Contract(
            dataset=doc["dataset"],
            zh=doc["zh"],
            en=doc["en"],
            grain=doc["grain"],
            key=tuple(doc["key"]),
            required=tuple(doc["required"]),
            columns=columns,
            inputs=dataset_inputs,
            table_columns=around,
            non_negative=tuple(checks.get("non_negative", ())),
            not_zero=_rules(checks.get("not_zero", [])),
            not_above=_rules(checks.get("not_above", [])),
            between=_rules(checks.get("between", [])),
            any_of=_rules(checks.get("any_of", [])),
            guarded_totals=tuple(doc.get("guarded_totals", ())),
            targets=tuple(doc.get("targets", ("county",))),
            unitless_money_yuan_at_least=doc.get("unitless_money_yuan_at_least"),
            plausibility=_plausibility(path, {**bounds, **(doc.get("plausibility") or {})}),
        )
    return out


def column_labels() -> dict[str, str]:
    """Canonical column → Chinese label, over every contract (the export's headers)."""
    return {c.name: c.zh for contract in contracts().values() for c in contract.columns if c.zh}


def column_zh(relation: str, column: str) -> str | None:
    """The Chinese name of a column no relation spec declares: seeds/names_zh.csv's for ``relation.column``, the
    name the column has everywhere, or its contract's label."""
    _, names = chinese_names()
    return names.get((relation, column)) or names.get(("", column)) or column_labels().get(column)


def fraction_columns() -> set[str]:
    """Canonical columns holding fractions (exported as percent)."""
    return {c.name for contract in contracts().values() for c in contract.columns if c.unit == "fraction"}
