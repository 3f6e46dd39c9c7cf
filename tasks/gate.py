"""The plausibility gate: a submission that would move published figures beyond its contract's bounds is held.

Checked inside the submission's load transaction (tasks/load/apply.py), after its facts are applied and before
they are committed: a held submission is rolled back and waits for ``fupin approve`` / ``fupin discard``.
Four checks, each with its own code; the held message carries the most specific one found (CODES' order):

- a province × dataset × year total falls by more than ``max_fall`` or a full resubmission retires more
  than ``max_retired_share`` of its keys (``held_shrink_guard``, the shrink guard of before);
- a total rises beyond ``max_rise`` times, or one fact (a county's value under its grain key) is corrected
  to more than ``county_factor`` times or less than its inverse (``held_rise``; a fall: ``held_shrink_guard``);
- a ratio near 10⁴ or 10⁸ (or their inverses) in a money column: a likely 元/万元/亿元 slip
  (``held_unit_error``, named before anything else);
- a new or corrected value more than ``outlier_factor`` times the median of the same key in the province's
  other years and of the province's other counties that year, each where it exists (``held_outlier``); a
  value below them only when it is as far below as a unit slip (10⁴ ÷ ``unit_tolerance`` times): a small
  county share is often real (an urban district, a fund given by project) and moves a total by little.

A slice's first submission has no published total or value to compare: only the outlier check applies to it,
against whatever history and peers there are. Bounds live in the contracts (``plausibility:``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

import duckdb

from fupin.core.formatting import wan_yuan_text
from fupin.core.messages import Message, message
from fupin.core.reference import submitters
from fupin.tasks.records import Outcome
from fupin.warehouse.contracts import Contract, Plausibility, contracts

# the order a held message names its code in: the most specific diagnosis first
CODES = ("held_unit_error", "held_outlier", "held_shrink_guard", "held_rise")
# per check, the facts named in the message; the rest counted
LISTED = 5
PLACE = ("county_code", "prefecture_code")


@dataclass(frozen=True)
class Problem:
    """One reason to hold a submission: its code and the Chinese sentence for the ledger and the receipt."""

    code: str
    text: str


def _partition(lake_file: str) -> tuple[str, str, int]:
    p = Path(lake_file)
    return p.parents[2].name, p.parents[1].name.split("=", 1)[1], int(p.parent.name.split("=", 1)[1])


def guarded(dataset: str) -> list[tuple[str, str, str]]:
    """(column, Chinese label, display unit) of each total the gate watches for a dataset."""
    if dataset == "household_registry" or dataset not in contracts():
        return []  # a registry is complete for its county: never guarded
    contract = contracts()[dataset]
    return [
        (name, contract.column(name).zh or name, "万元" if contract.column(name).unit == "yuan" else "人")
        for name in contract.guarded_totals
    ]


def slices(o: Outcome) -> list[tuple[str, int]]:
    """(dataset, year) of the guarded form facts the submission touches."""
    return sorted({(d, y) for d, _, y in map(_partition, o.lake_files) if guarded(d)})


def _shown(unit: str, value) -> str:
    return wan_yuan_text(value) if unit == "万元" else f"{int(value):,}人"


def _times(ratio: float) -> str:
    """A ratio as a clerk reads it: 为原来的 10,000.0 倍 / 0.0001 倍."""
    if ratio >= 1:
        return f"为原来的 {ratio:,.1f} 倍"
    return f"为原来的 {ratio:.2g} 倍"


def unit_slip(ratio: float, tolerance: float) -> str | None:
    """The unit mix-up a money ratio points to (10⁴: 元 read as 万元 …), or None when it points to none."""
    if ratio <= 0:
        return None
    exponent = math.log10(ratio)
    slack = math.log10(tolerance)
    for power, words in (
        (4, "约为 1 万倍：疑似以“元”为单位的数填在了“万元”列（或“万元”的数填在了“亿元”列），请核对金额单位"),
        (-4, "约为万分之一：疑似以“万元”为单位的数填在了“元”列（或“亿元”的数填在了“万元”列），请核对金额单位"),
        (8, "约为 1 亿倍：疑似以“元”为单位的数填在了“亿元”列，请核对金额单位"),
        (-8, "约为亿分之一：疑似以“亿元”为单位的数填在了“元”列，请核对金额单位"),
    ):
        if abs(exponent - power) <= slack:
            return words
    return None


def bounds(dataset: str, guard: float | None) -> Plausibility:
    """The dataset's bounds; ``guard`` (the run's shrink_guard, when given) replaces its max_fall."""
    own = contracts()[dataset].plausibility
    if guard is None:
        return own
    return replace(own, max_fall=float(guard))


def _table(dataset: str) -> str:
    return contracts()[dataset].table


def snapshot(con: duckdb.DuckDBPyConnection, o: Outcome) -> dict[tuple[str, int], tuple]:
    """The slices the submission touches as they stand now: (keys, totals) each, and their facts in temp tables."""
    out = {}
    for k, (dataset, year) in enumerate(slices(o)):
        columns = [c for c, _, _ in guarded(dataset)]
        sums = ", ".join(f"coalesce(sum({c}), 0)" for c in columns)
        where = "where province_code = ? and year = ? and valid_to is null"
        out[(dataset, year)] = con.execute(
            f"select count(*), {sums} from {_table(dataset)} {where}", [o.province_code, year]
        ).fetchone()
        keys = [c for c in contracts()[dataset].key if c != "year"]
        con.execute(
            f"create or replace temp table gate_before_{k} as select {', '.join([*keys, *columns])} "
            f"from {_table(dataset)} {where}",
            [o.province_code, year],
        )
    return out


def _match(keys: list[str], left: str, right: str) -> str:
    return " and ".join(f"{left}.{k} is not distinct from {right}.{k}" for k in keys) or "true"


class _Names:
    """Chinese names of places and coded values, for the held message."""

    def __init__(self, con: duckdb.DuckDBPyConnection, contract: Contract):
        self.places = dict(con.execute("select county_code, county_name from core.dim_county").fetchall())
        try:
            self.places.update(
                con.execute("select prefecture_code, prefecture_name from core.dim_prefecture").fetchall()
            )
        except duckdb.Error:
            pass
        self.contract = contract
        self.coded = {c.name: {v.code: v.zh for v in c.values} for c in contract.columns if c.values}

    def rest(self, key: dict) -> str:
        """民政事业费·中央 — a fact's key but its place, year and household, in Chinese."""
        return "·".join(
            str(self.coded.get(k, {}).get(v, v))
            for k, v in key.items()
            if k not in (*PLACE, "year", "household_key", "household_id") and v not in (None, "")
        )

    def fact(self, key: dict) -> str:
        """茶陵县（430224）民政事业费·中央 — a fact's place and the rest of its key."""
        place = next((key[p] for p in PLACE if key.get(p)), None)
        where = f"{self.places.get(place, place)}（{place}）" if place else ""
        rest = [
            self.coded.get(k, {}).get(v, v)
            for k, v in key.items()
            if k not in (*PLACE, "year", "household_key") and v not in (None, "")
        ]
        return where + "·".join(map(str, rest))


def problems(
    con: duckdb.DuckDBPyConnection, o: Outcome, before: dict, stamp: str, guard: float | None
) -> list[Problem]:
    """What the applied submission would move beyond its bounds, worded for the ledger; empty when nothing."""
    province = submitters().get(o.province_code, o.province_code)
    found: list[Problem] = []
    after = {}
    for dataset, year in before:
        sums = ", ".join(f"coalesce(sum({c}), 0)" for c, _, _ in guarded(dataset))
        after[(dataset, year)] = con.execute(
            f"select count(*), {sums} from {_table(dataset)} where province_code = ? and year = ? and valid_to is null",
            [o.province_code, year],
        ).fetchone()
    for k, ((dataset, year), (keys_before, *totals_before)) in enumerate(before.items()):
        contract, limit = contracts()[dataset], bounds(dataset, guard)
        label = f"{province}{contract.zh} {year}年"
        _, *totals_after = after[(dataset, year)]
        for (column, name, unit), b, a in zip(guarded(dataset), totals_before, totals_after, strict=True):
            found += _total(label, name, unit, b, a, limit, contract.column(column).unit == "yuan")
        table = _table(dataset)
        keys = [c for c in contract.key if c != "year"]
        retired = con.execute(
            f"select count(*) from {table} as h where h.province_code = ? and h.year = ? and h.valid_to = ? "
            f"and not exists (select 1 from {table} as t where t.valid_to is null "
            f"and t.province_code = h.province_code and t.year = h.year and {_match(keys, 't', 'h')})",
            [o.province_code, year, stamp],
        ).fetchone()[0]
        if keys_before and retired > keys_before * limit.max_retired_share:
            found.append(Problem("held_shrink_guard", f"{label}将撤销 {retired} 条（现有 {keys_before} 条）"))
        names = _Names(con, contract)
        found += _corrected(con, o, dataset, year, k, label, limit, names)
        found += _outliers(con, o, dataset, year, k, label, limit, names)
    return found


def _total(label: str, name: str, unit: str, b, a, limit: Plausibility, money: bool) -> list[Problem]:
    if not b:
        return []  # nothing published for the slice yet: no total to compare with
    ratio = float(a) / float(b)
    slip = unit_slip(ratio, limit.unit_tolerance) if money else None
    if a < b * (1 - Decimal(str(limit.max_fall))):
        text = f"{label}{name}合计将由 {_shown(unit, b)} 降至 {_shown(unit, a)}（减少 {(b - a) / b:.1%}）"
    elif ratio > limit.max_rise:
        text = f"{label}{name}合计将由 {_shown(unit, b)} 增至 {_shown(unit, a)}（{_times(ratio)}）"
    else:
        return []
    if slip:
        return [Problem("held_unit_error", f"{text}，{slip}")]
    return [Problem("held_shrink_guard" if a < b else "held_rise", text)]


def _listed(found: list[Problem], what: str) -> list[Problem]:
    """At most LISTED problems of one check, the rest counted in the last."""
    if len(found) <= LISTED:
        return found
    rest = len(found) - LISTED
    shown = found[:LISTED]
    last = shown[-1]
    return [*shown[:-1], Problem(last.code, f"{last.text}；另有 {rest} 处{what}")]


def _corrected(con, o: Outcome, dataset, year, k, label, limit: Plausibility, names: _Names) -> list[Problem]:
    """Facts whose published value the submission corrects beyond ×/÷ county_factor."""
    contract = contracts()[dataset]
    keys = [c for c in contract.key if c != "year"]
    found = []
    for column, name, unit in guarded(dataset):
        money = contract.column(column).unit == "yuan"
        rows = con.execute(
            f"select {', '.join('a.' + c for c in keys)}, b.{column}, a.{column} from {_table(dataset)} as a "
            f"join gate_before_{k} as b on {_match(keys, 'a', 'b')} "
            f"where a.province_code = ? and a.year = ? and a.valid_to is null and a.submission_id = ? "
            f"and b.{column} > 0 and a.{column} > 0 "
            f"and (a.{column} > b.{column} * ? or a.{column} * ? < b.{column}) "
            f"order by abs(ln(a.{column} / b.{column})) desc, {', '.join('a.' + c for c in keys)}",
            [o.province_code, year, o.submission_id, limit.county_factor, limit.county_factor],
        ).fetchall()
        for row in rows:
            key, b, a = dict(zip(keys, row[: len(keys)], strict=True)), row[-2], row[-1]
            ratio = float(a) / float(b)
            slip = unit_slip(ratio, limit.unit_tolerance) if money else None
            verb = "增至" if a > b else "降至"
            text = f"{label} {names.fact(key)}{name}将由 {_shown(unit, b)} {verb} {_shown(unit, a)}（{_times(ratio)}）"
            if slip:
                found.append(Problem("held_unit_error", f"{text}，{slip}"))
            else:
                found.append(Problem("held_rise" if a > b else "held_shrink_guard", text))
    return _listed(found, "更正幅度过大")


def _outliers(con, o: Outcome, dataset, year, k, label, limit: Plausibility, names: _Names) -> list[Problem]:
    """New or corrected values far from the same key's other years and from the province's other counties."""
    contract = contracts()[dataset]
    keys = [c for c in contract.key if c != "year"]
    others = [c for c in keys if c not in PLACE]
    table = _table(dataset)
    found = []
    for column, name, unit in guarded(dataset):
        money = contract.column(column).unit == "yuan"
        factor = limit.outlier_factor
        # a small value moves a published total by little and a county's share may be small for good reasons
        # (an urban district, a fund that comes by project): below its references, only a likely unit slip holds
        low = 10**4 / limit.unit_tolerance
        rows = con.execute(
            f"""
            with incoming as (
                select a.* from {table} as a
                where a.province_code = ? and a.year = ? and a.valid_to is null and a.submission_id = ?
                  and a.{column} > 0
                  and not exists (select 1 from gate_before_{k} as b where {_match(keys, "a", "b")}
                                  and b.{column} > 0
                                  and (b.{column} = a.{column} or a.{column} > b.{column} * ?
                                       or a.{column} * ? < b.{column}))
            ),
            history as (
                select {", ".join("i." + c for c in keys)}, median(h.{column}) as reference
                from incoming as i join {table} as h
                  on h.province_code = i.province_code and h.year <> i.year and h.valid_to is null
                 and h.{column} > 0 and {_match(keys, "h", "i")}
                group by all
            ),
            peers as (
                select {", ".join(others) + "," if others else ""} median({column}) as reference, count(*) - 1 as n
                from {table}
                where province_code = ? and year = ? and valid_to is null and {column} > 0
                group by all
            )
            select {", ".join("i." + c for c in keys)}, i.{column}, h.reference, p.reference, p.n
            from incoming as i
            left join history as h on {_match(keys, "h", "i")}
            left join peers as p on {_match(others, "p", "i")} and p.n >= ?
            where (h.reference is not null or p.reference is not null)
              and (h.reference is null or i.{column} > h.reference * ? or i.{column} * ? < h.reference)
              and (p.reference is null or i.{column} > p.reference * ? or i.{column} * ? < p.reference)
              -- above: ×outlier_factor; below: only as far as a unit slip (÷10⁴ within unit_tolerance)
            order by {", ".join("i." + c for c in keys)}
            """,
            [
                o.province_code,
                year,
                o.submission_id,
                limit.county_factor,
                limit.county_factor,
                o.province_code,
                year,
                limit.min_peers,
                factor,
                low,
                factor,
                low,
            ],
        ).fetchall()
        for row in rows:
            key, value, history, peers, n = dict(zip(keys, row[: len(keys)], strict=True)), *row[len(keys) :]
            against = []
            if history is not None:
                against.append(f"该县其他年度的中位数 {_shown(unit, history)}")
            if peers is not None:
                against.append(f"本省其他 {n} 个县的中位数 {_shown(unit, peers)}")
            reference = history if history is not None else peers
            ratio = float(value) / float(reference)
            slip = unit_slip(ratio, limit.unit_tolerance) if money else None
            text = (
                f"{label} {names.fact(key)}{name}为 {_shown(unit, value)}，远离{'和'.join(against)}"
                f"（{_times(ratio)}，超出 {factor if ratio >= 1 else low:g} 倍的范围）"
            )
            found.append(Problem("held_unit_error", f"{text}，{slip}") if slip else Problem("held_outlier", text))
    return _listed(found, "明显偏离")


def retired(con: duckdb.DuckDBPyConnection, o: Outcome, before: dict, stamp: str) -> list[tuple]:
    """The published facts the applied submission retires, for meta.held_retirements: (submission, dataset, year,
    county, prefecture, the rest of the key in Chinese) each. Read before a held submission is rolled back."""
    found = []
    for dataset, year in before:
        contract = contracts()[dataset]
        table = _table(dataset)
        keys = [c for c in contract.key if c != "year"]
        names = _Names(con, contract)
        cur = con.execute(
            f"select {', '.join('h.' + k for k in keys)} from {table} as h "
            f"where h.province_code = ? and h.year = ? and h.valid_to = ? "
            f"and not exists (select 1 from {table} as t where t.valid_to is null "
            f"and t.province_code = h.province_code and t.year = h.year and {_match(keys, 't', 'h')}) "
            f"order by all",
            [o.province_code, year, stamp],
        )
        for row in cur.fetchall():
            key = dict(zip(keys, row, strict=True))
            found.append(
                (o.submission_id, dataset, year, key.get("county_code"), key.get("prefecture_code"), names.rest(key))
            )
    return found


def drop_snapshot(con: duckdb.DuckDBPyConnection, before: dict) -> None:
    for k in range(len(before)):
        con.execute(f"drop table if exists gate_before_{k}")


def held(o: Outcome, found: list[Problem]) -> Message:
    """The ledger's message of a held submission: its code, every reason, and how a person decides."""
    code = min((p.code for p in found), key=CODES.index)
    earlier = f"。{o.message}" if o.message else ""
    return message(code, reasons="；".join(p.text for p in found), id=o.submission_id, earlier=earlier)
