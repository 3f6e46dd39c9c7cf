"""Normalise: a parsed table with the submitter's headers → canonical rows (yuan, fractions, current county codes)."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa

from fupin.core.config import Limits
from fupin.core.messages import say
from fupin.core.reference import is_county_level, resolve_county_pair, resolve_target_pair
from fupin.tasks.normalise.columns import (
    FAILED,
    ORDINAL,
    POSITION,
    SHEET,
    UNIT,
    Parsed,
    RowError,
    as_records,
    by_distinct,
    by_distinct_pairs,
    cell_columns,
    count_column,
    error_at,
    failed,
    in_row_order,
    is_none,
    money_column,
    refused,
    segment,
    text_column,
    width_of,
)
from fupin.tasks.normalise.context import Stated, stated_values, stated_year
from fupin.tasks.normalise.helpers import (
    AMBIGUOUS_COLUMNS_CODE,
    MISSING_COLUMN_CODE,
    NOT_THIS_YEAR_CODE,
    UNRECOGNISED_CODE,
    Vocabulary,
    ambiguous_columns_message,
    code_of,
    detect_dataset,
    field_label,
    fund_level_of,
    missing_columns_message,
    sheet_unit,
    vocabularies,
)
from fupin.tasks.normalise.numbers import (
    money_unit_of,
    number_sum,
    parse_number,
    plain_factor,
    plain_numbers,
    to_count,
    to_fraction,
    to_yuan,
    unitless_value,
)
from fupin.tasks.normalise.pseudonyms import IdRefused, masked, pseudonym_column, pseudonym_key, pseudonym_of
from fupin.tasks.normalise.values import is_missing, parse_year
from fupin.tasks.normalise.years import by_year, grouped_mapping
from fupin.tasks.records import ALL_REFUSED_CODE, Rejection, all_refused, refused_alike
from fupin.warehouse.contracts import contracts

_SKIP_LABELS = ("合计", "小计", "总计", "合 计")


@dataclass
class Normalised:
    """Canonical records of one table (column ``_row``: the sheet row), or the reason the table was refused."""

    dataset: str | None
    table: pa.Table | None = None
    rejections: list[Rejection] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rows_total: int = 0
    error: str | None = None
    error_field: str | None = None  # the missing canonical column of a file-level error
    error_code: str | None = None  # the message code of ``error``
    header_mapping: list[dict[str, str]] = field(default_factory=list)  # submitted_header → column_name, matched_by

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The records as dicts, each with ``_row``."""
        return as_records(self.table)


def _cell(row: list, index: int | None) -> str | None:
    if index is None or index >= len(row):
        return None
    value = row[index]
    return None if value is None else str(value).strip()


def _convert(field_name: str, raw: str | None, fn, *args):
    try:
        return fn(raw, *args)
    except ValueError as exc:
        raise RowError(field_name, raw, str(exc), getattr(exc, "code", None) or "invalid_value") from None


def submitted_headers(dataset: str, header: list, hmap) -> dict[str, str]:
    """Canonical field, column name or wide 'fund_type/fund_level' → the submitter's own header of that column."""
    contract = contracts()[dataset]
    labels = {i: str(h).strip() for i, h in enumerate(header) if h is not None and str(h).strip()}
    out = {}
    for column in [*contract.inputs, *contract.columns]:
        index = hmap.columns.get(column.field)
        if index in labels:
            out.setdefault(column.field, labels[index])
            out.setdefault(column.name, labels[index])
    for index, key in hmap.wide.items():
        if index in labels:
            out[key.name] = labels[index]
    for index, total in hmap.totals.items():
        if index in labels:
            out[total.name] = labels[index]
    return out


def worded(reason: str, header: str) -> str:
    """A rejection's reason for the clerk: their column header first, then what is wrong and what to send."""
    return f"“{header}”{reason}"


def rejection_of(exc: RowError, row_number: int, dataset: str, headers: dict[str, str]) -> Rejection:
    """A row's rejection, its reason naming the column by the submitter's header (``submitted_headers``)."""
    header = headers.get(exc.field) or field_label(dataset, exc.field)
    return Rejection(row_number, exc.field, exc.value, worded(exc.reason, header), exc.code)


_SUMMARY_WORDS = {"total": "合计行", "subtotal": "小计行"}


def _check_summary_rows(table, columns: list[list[str | None]], hmap, warnings: list[str], where: str) -> None:
    """Compare each 合计/总计 row with the sum of the rows, each 小计 row with the rows since the previous 小计
    (or the first row), column by column; say which 其中 rows (a breakdown of the row above) were skipped."""
    context = table.context
    summaries = context.get("summary_rows")
    if summaries is None:  # a table read before every summary row was kept: its first 合计 row
        declared = context.get("declared_total")
        summaries = [{"kind": "total", "row": context.get("declared_total_row"), "cells": declared}] if declared else []
    skip = {hmap.columns.get(c) for c in ("incidence", "year", "county_code", "county")}
    n = len(table.rows)
    start = 0
    breakdowns = []
    for summary in summaries:
        kind = summary["kind"]
        if kind == "breakdown":
            breakdowns.append(str(summary["row"]))
            continue
        before = summary.get("before")
        end = n if before is None else before
        first = 0 if kind == "total" else start
        last = n if kind == "total" else end
        if kind == "subtotal":
            start = end
        if last <= first:
            continue
        for i, label in enumerate(table.header):
            if i in skip or label not in (summary.get("cells") or {}):
                continue
            try:
                total, _ = parse_number(summary["cells"][label])
            except ValueError:
                continue
            if total is None:
                continue
            summed, counted = number_sum(columns[i][first:last])
            if counted and abs(summed - total) > Decimal("0.005") * counted + Decimal("0.01"):
                at = f"（第 {summary['row']} 行）" if summary.get("row") else ""
                if kind == "total":
                    warnings.append(say("declared_total_mismatch", at=at, label=label, total=total, summed=summed))
                else:
                    rows = f"第 {table.row_numbers[first]}–{table.row_numbers[last - 1]} 行"
                    warnings.append(
                        say(
                            "declared_total_mismatch.subtotal",
                            at=at,
                            label=label,
                            total=total,
                            rows=rows,
                            summed=summed,
                        )
                    )
    if breakdowns:
        warnings.append(say("breakdown_rows_skipped", where=where, rows="、".join(breakdowns)))


def _has_unitless_amount(columns: list[list[str | None]], money: list[int]) -> bool:
    """True when some amount has neither a unit in its cell nor one in its header or sheet."""
    # a plain number is one: most columns answer on Arrow, without a call per cell
    return any(
        plain_numbers(columns[i]).plain.any()
        or any(v is not None and not refused(v) for v in by_distinct(columns[i], unitless_value))
        for i in money
    )


def normalise_table(table, province_code: str, vocabs: dict[str, Vocabulary] | None = None) -> Normalised:
    """Canonical rows for one parsed table of a province's submission, headers read with ``vocabs``."""
    vocabs = vocabs or vocabularies()
    grouped = by_year(table)  # 2015年/农业户籍人口 | 2016年/农业户籍人口: one row per county and year
    if grouped is not None:
        result = normalise_table(grouped[0], province_code, vocabs)
        result.header_mapping = grouped_mapping(result.header_mapping, grouped[1], table.header)
        return result
    year_stated = stated_year(table.context, table.file_name)
    context_year = int(year_stated.value) if year_stated else None
    required = {d: contracts()[d].required for d in vocabs}
    # what the title or file name states stands in for a missing column (吉安市2016年省级民政事业费分配表)
    stated_any = {
        field
        for d in vocabs
        for field in stated_values(d, table.context, table.file_name, province_code)
        if field in ("fund_type", "fund_level", "county")
    }
    dataset, hmap, reason, missing = detect_dataset(
        table.header, vocabs, required, context_year is not None, stated=frozenset(stated_any)
    )
    where = f"{table.file_name} 工作表「{table.sheet}」" if table.sheet else table.file_name
    unread = [{"submitted_header": h, "column_name": None, "matched_by": "unknown"} for h in hmap.unknown]
    unread += [{"submitted_header": h, "column_name": None, "matched_by": "ambiguous"} for h in hmap.ambiguous]
    unread += [
        {"submitted_header": h, "column_name": None, "matched_by": "not_this_year"} for h, _ in hmap.not_this_year
    ]
    mapping = [{"sheet": table.sheet or "", **m, "source": "header"} for m in [*hmap.mapping, *unread]]
    if dataset is None:
        if missing:
            return Normalised(
                None,
                rows_total=len(table.rows),
                error=f"{where}：{reason}",
                error_code=MISSING_COLUMN_CODE,
                error_field=missing[0].split("|")[0],
                header_mapping=mapping,
            )
        labels = "、".join(f"“{h}”" for h in table.header if h) or "无"
        return Normalised(
            None,
            rows_total=len(table.rows),
            error=say(UNRECOGNISED_CODE, where=where, headers=labels),
            error_code=UNRECOGNISED_CODE,
            header_mapping=mapping,
        )
    if hmap.conflicts:
        name, labels = next(iter(hmap.conflicts.items()))
        return Normalised(
            None,
            rows_total=len(table.rows),
            error=f"{where}：{ambiguous_columns_message(dataset, name, labels, vocabs[dataset])}",
            error_code=AMBIGUOUS_COLUMNS_CODE,
            error_field=name.split("[")[0],
            header_mapping=mapping,
        )
    width = width_of(table.header, table.rows)
    columns = cell_columns(table.rows, width)
    stated = stated_values(dataset, table.context, table.file_name, province_code)
    extra = _stated_columns(dataset, hmap, stated, width, len(table.rows))
    for _, value in extra:
        columns.append([value] * len(table.rows))
    mapping += _stated_mapping(dataset, table, hmap, stated, [f for f, _ in extra], context_year)
    if _needs_level_column(dataset, columns, hmap, vocabs[dataset]):
        return Normalised(
            None,
            rows_total=len(table.rows),
            error=f"{where}：{missing_columns_message(dataset, ['fund_level'], hmap, vocabs[dataset])}",
            error_code=MISSING_COLUMN_CODE,
            error_field="fund_level",
            header_mapping=mapping,
        )
    out = Normalised(dataset, rows_total=len(table.rows), header_mapping=mapping)
    for label, what in hmap.not_this_year:
        out.warnings.append(say(NOT_THIS_YEAR_CODE, where=where, header=label, what=what))
    if hmap.unknown or hmap.ambiguous:
        unread = [*(f"“{u}”" for u in hmap.unknown), *(f"“{a}”（含义不明）" for a in hmap.ambiguous)]
        out.warnings.append(say("columns_ignored", where=where, headers="、".join(unread)))
    _check_summary_rows(table, columns, hmap, out.warnings, where)
    default_unit = sheet_unit(table.context)
    if not default_unit and "unit" in stated:  # （万元） in the title or the file name
        default_unit = stated["unit"].value
    cols = hmap.columns
    bound = contracts()[dataset].unitless_money_yuan_at_least
    if bound and not default_unit:
        money_columns = [i for i in [cols.get("amount"), *hmap.wide] if i is not None and not hmap.units.get(i)]
        if _has_unitless_amount(columns, money_columns):
            refused = _implausible_as_yuan(columns, money_columns, bound)
            if refused:
                return Normalised(
                    dataset,  # recognised, and refused whole: error set, no table
                    rows_total=len(table.rows),
                    error=say("money_unit_unknown", where=where, why=refused),
                    error_code="money_unit_unknown",
                    error_field="amount_yuan",
                    header_mapping=mapping,
                )
            out.warnings.append(say("money_unit_assumed", where=where))

    headers = submitted_headers(dataset, table.header, hmap)
    plan = _Plan(dataset, hmap, province_code, context_year, default_unit)
    pseudonymised = any(c.kind == "pseudonym" and c.field in cols for c in contracts()[dataset].columns)
    with pseudonym_key() if pseudonymised else nullcontext():  # no key: MissingKeyError, the file waits for one
        refused = _refused_from_the_start(plan, columns, table, headers)
        if refused is not None:
            error = all_refused(where, refused, Limits.from_env().same_reason_rows)
            return Normalised(
                None, rows_total=len(table.rows), error=error, error_code=ALL_REFUSED_CODE, header_mapping=mapping
            )
        row_numbers = np.asarray(table.row_numbers, dtype=np.int64)
        read = plan.run(columns, row_numbers)
    out.rejections = [rejection_of(read.errors[i], int(row_numbers[i]), dataset, headers) for i in sorted(read.errors)]
    out.table = in_row_order(dataset, read.segments, read.records)
    sheets = pa.array([table.sheet] * out.table.num_rows, pa.string())  # every record of the table: its sheet
    out.table = out.table.set_column(out.table.schema.get_field_index(SHEET), SHEET, sheets)
    return out


def _stated_columns(dataset: str, hmap, stated: dict[str, Stated], width: int, n: int) -> list[tuple[str, str]]:
    """(field, value) of what the form states outside its header for a field no column holds, as columns
    appended after the table's own (``hmap`` is pointed at them), read as the table's own columns are."""
    names = {c.field for c in contracts()[dataset].columns}
    extra: list[tuple[str, str]] = []
    wanted = []
    keys = list(hmap.wide.values())
    if "fund_type" in names and (not keys or any(k.fund_type is None for k in keys)):
        wanted.append("fund_type")  # 中央资金 | 省级资金 under a title naming the fund
    if "fund_type" in names and (not keys or any(k.fund_level is None for k in keys)):
        wanted.append("fund_level")  # 民政事业费 | 彩票公益金 under a title naming the level
    if not ({"county", "county_code"} & set(hmap.columns)):
        wanted.append("county")
    for field_name in wanted:
        if field_name in stated and field_name not in hmap.columns:
            if field_name == "fund_level" and "fund_type" not in hmap.columns and not keys:
                continue
            hmap.columns[field_name] = width + len(extra)
            extra.append((field_name, stated[field_name].value))
    return extra


def _stated_mapping(
    dataset: str, table, hmap, stated: dict[str, Stated], used: list[str], context_year: int | None
) -> list[dict]:
    """The header-mapping entries of what the form states outside its header and fupin read from there."""
    sheet = table.sheet or ""
    out = []

    def entry(header: str, column: str, source: str) -> dict[str, str]:
        return {
            "sheet": sheet,
            "submitted_header": header,
            "column_name": column,
            "matched_by": "stated",
            "source": source,
        }

    if context_year is not None and "year" not in hmap.columns and "year" in stated:
        out.append(entry(stated["year"].text, "year", stated["year"].source))
    for field_name in used:
        out.append(entry(stated[field_name].text, field_name, stated[field_name].source))
    if "area" in stated:
        out.append(entry(stated["area"].text, "area", stated["area"].source))
    units = table.context.get("column_units") or []
    for i, unit in enumerate(units):
        if unit and i < len(table.header) and i not in hmap.units and _read_column(hmap, i):
            hmap.units[i] = unit
            out.append(entry(f"{table.header[i]}：{unit}", "unit", "unit_row"))
    fields = [c.field for c in contracts()[dataset].columns if c.kind == "money"]
    money = [i for i in [*map(hmap.columns.get, fields), *hmap.wide] if i is not None and not hmap.units.get(i)]
    if money and "unit" in stated:
        out.append(entry(stated["unit"].text, "unit", stated["unit"].source))
    return out


def _read_column(hmap, index: int) -> bool:
    return index in hmap.wide or index in hmap.columns.values()


def _implausible_as_yuan(columns: list[list[str | None]], money: list[int], bound: int) -> str | None:
    """Why the unitless amounts of a form cannot be 元 (most non-zero ones below ``bound`` 元), or None."""
    small = total = decimals = 0
    for i in money:
        plain, _, whole, micros, _ = plain_numbers(columns[i])  # most cells: on the whole column
        nonzero = plain & ((whole != 0) | (micros != 0))
        total += int(nonzero.sum())
        small += int((nonzero & (whole < bound)).sum())
        decimals += int((nonzero & (micros != 0)).sum())
        rest = [columns[i][k] for k in np.flatnonzero(~plain).tolist()]
        for value in by_distinct(rest, unitless_value):
            if value is not None and not refused(value) and value != 0:
                total += 1
                small += abs(value) < bound
                decimals += value != value.to_integral_value()
    if not total or small * 2 <= total:
        return None
    said = f"，{decimals} 个带小数" if decimals else ""
    return f" {total} 个金额中有 {small} 个小于 {bound:,} 元{said}"


def _refused_from_the_start(plan: _Plan, columns, table, headers: dict[str, str]) -> Rejection | None:
    """The first rejection when the table's first Limits.same_reason_rows rows with facts are all refused for one
    reason; else None. Read on the table's first rows alone (twice that many), so that such a table costs
    seconds, not minutes and a receipt line per row (a workbook of 255,000 of them took 169 s, 1.5 GB and
    wrote a 45 MB receipt)."""
    stop = Limits.from_env().same_reason_rows
    if stop <= 0 or len(table.rows) < stop:
        return None
    probe = min(len(table.rows), 2 * stop)
    read = plan.run([column[:probe] for column in columns], np.asarray(table.row_numbers[:probe], dtype=np.int64))
    first = np.flatnonzero(read.live)[:stop].tolist()
    if len(first) < stop or any(i not in read.errors for i in first):
        return None
    dataset = plan.dataset
    return refused_alike([rejection_of(read.errors[i], table.row_numbers[i], dataset, headers) for i in first], stop)


def _needs_level_column(dataset: str, columns: list[list[str | None]], hmap, vocab: Vocabulary) -> bool:
    """A fund table that says no level for some fund type that is not centre-only: one file-level message.

    The level comes from a wide column's header (民政事业费/中央), a level column or the title; where none gives
    it, every fund type (a wide header's, or the fund type column's) must be one the centre alone funds.
    """
    if dataset != "fund_allocation" or "fund_level" in hmap.columns:
        return False
    if any(k.fund_level is None and k.fund_type is not None for k in hmap.wide.values()):
        return True
    if "fund_type" not in hmap.columns:
        return False
    if hmap.wide and all(k.fund_level or k.fund_type for k in hmap.wide.values()) and "amount" not in hmap.columns:
        return False  # the fund type column is read only by wide columns that name their level
    column = contracts()[dataset].column("fund_type")
    cells = columns[hmap.columns["fund_type"]]
    # a refused cell is the row's own rejection; the others must all have a default level
    return any(
        not refused(t) and t not in vocab.default_level for t in by_distinct(cells, lambda c: code_of(c, column))
    )


def _place_columns(places: list, targets: tuple[str, ...]) -> dict[str, list]:
    """Resolved places (county codes, or prefecture codes ending in 00) as county_code and prefecture_code."""
    if "prefecture" not in targets:
        return {"county_code": places}
    county = [p if refused(p) or p is None or is_county_level(p) else None for p in places]
    prefecture = [None if refused(p) or p is None or is_county_level(p) else p for p in places]
    return {"county_code": county, "prefecture_code": prefecture}


def _resolve_cells(
    code_raw: str | None, name_raw: str | None, province_code: str, targets: tuple[str, ...] = ("county",)
) -> str:
    """The current county code of a row's code and name cells (either may be empty), or the row's rejection.

    Where the dataset's rows may target a whole prefecture (``targets``), a prefecture's code (513400) is
    returned for a row naming one.
    """
    code = None if is_missing(code_raw) else code_raw
    name = None if is_missing(name_raw) else name_raw
    if code is None and name is None:
        raise RowError("county", name_raw, "为空：请填写县名或县代码", "county_empty")
    resolve = resolve_target_pair if "prefecture" in targets else resolve_county_pair
    hit = resolve(code, name, province_code)
    if hit.county_code or hit.prefecture_code:
        return hit.county_code or hit.prefecture_code
    if code is None:
        raise RowError("county", name_raw, f"：{hit.reason or '县名无法识别'}", hit.code or "unknown_county")
    value = code_raw if name is None or hit.code is None else f"{code_raw} / {name_raw}"
    raise RowError("county_code", value, f"：{hit.reason or '县代码无法识别'}", hit.code or "unknown_county")


def _year_cell(raw: str | None, has_column: bool, context_year: int | None) -> int:
    """The year of a row's year cell, or the form's own year when the form has no year column."""
    if has_column and not is_missing(raw):
        return _convert("year", raw, parse_year)
    if context_year is None:
        raise RowError(
            "year",
            raw,
            "为空，报表标题和文件名也没有写明年份：请填写年度，或在标题中写明年份（如 2017年）",
            "year_missing",
        )
    return context_year


@dataclass
class _Read:
    """What ``_Plan.run`` made of a table's rows: record segments, the withdrawals' records, each refused row's
    error (by position) and which rows carry facts."""

    segments: list[pa.Table]
    records: list[dict[str, Any]]
    errors: dict[int, RowError]
    live: np.ndarray


class _Checks:
    """Where each row may be refused, in the order a row's cells are read: a row's rejection is its first."""

    def __init__(self, n: int):
        self.found: list[tuple[np.ndarray, Any]] = []
        self.gate = np.ones(n, bool)  # rows still read on (a withdrawal's are read by _withdrawals)

    def refused(self, converted, field_name: str | None = None, cells: list | None = None) -> None:
        """The refused cells of a converted column (their error names the field and the cell)."""
        self.add(failed(converted), lambda r: _error_of(converted, r, field_name, cells))

    def add(self, where: np.ndarray, error) -> None:
        """Rows refused where ``where`` holds, ``error(position)`` the reason."""
        self.found.append((where & self.gate, error))

    def first(self, live: np.ndarray) -> dict[int, RowError]:
        """Each refused row's first error, by position."""
        decided = ~live
        errors: dict[int, RowError] = {}
        for where, error in self.found:
            rows = np.flatnonzero(where & ~decided)
            for r in rows.tolist():
                errors[r] = error(r)
            decided[rows] = True
        return errors


def _error_of(converted, position: int, field_name: str | None, cells: list | None) -> RowError:
    """The RowError of a refused cell: as its converter raised it, or its CellError naming ``field_name``."""
    exc = error_at(converted, position)
    if isinstance(exc, RowError):
        return exc
    assert exc is not None and field_name is not None and cells is not None, "a cell refused for another's sake"
    return RowError(field_name, cells[position], str(exc), getattr(exc, "code", None) or "invalid_value")


class _Plan:
    """A table's records over whole columns: every distinct cell converted once, then looked up per row.

    Each column's cells go through one converter (``_value``, or a column's fast path for the cells it settles
    on Arrow, ``tasks.normalise.columns``); a refused cell keeps its error, and a row's rejection is the first
    refused cell of the row in the order its cells are read: the place, the year, the row action, a wide form's
    amounts and 合计 columns, their fund type and level, then the long columns in the contract's order. A row
    marked 撤销 carries only its key and is read by ``_withdrawals``.
    """

    def __init__(self, dataset: str, hmap, province: str, context_year: int | None, default_unit: str | None):
        self.dataset, self.hmap, self.province = dataset, hmap, province
        self.context_year, self.default_unit = context_year, default_unit
        self.contract = contracts()[dataset]

    def run(self, columns: list[list[str | None]], row_numbers: np.ndarray) -> _Read:
        """The records of the rows, the refused rows' errors, and which rows carry facts."""
        n = len(row_numbers)
        cols, contract, hmap = self.hmap.columns, self.contract, self.hmap
        none: list[str | None] = [None] * n

        def raw(name: str) -> list[str | None]:
            return columns[cols[name]] if name in cols else none

        checks = _Checks(n)
        live = _carries_facts(columns, raw("county"))
        county = by_distinct_pairs(raw("county_code"), raw("county"), self._county)
        checks.refused(county)
        if hmap.years_in_columns:  # 2016年 | 2017年: each wide column gives its own
            year: list = [None] * n
        else:
            year = by_distinct(raw("year"), lambda v: _year_cell(v, "year" in cols, self.context_year))
        checks.refused(year)
        action = contract.column("row_action")
        acts = by_distinct(raw(action.field), lambda v: _value(action, v, None, None, {}, contract))
        checks.refused(acts)
        withdraw = np.fromiter((a == "withdraw" for a in acts), bool, n)
        checks.gate = ~withdraw
        base = {**_place_columns(county, contract.targets), "year": year}
        wide = []
        parsed = {i: self._amounts(columns, i, key.name) for i, key in hmap.wide.items()}
        for i in hmap.wide:
            checks.refused(parsed[i])
        for i, total in hmap.totals.items():
            parsed[i] = self._amounts(columns, i, total.name)
            checks.refused(parsed[i])
            members = [parsed[m] for m in total.members]
            differ = _totals_differ(parsed[i], members, self._tolerance(i, total))
            checks.add(differ, lambda r, i=i, total=total: self._mismatch(columns, parsed, i, total, r))
        row_types = None
        if any(k.fund_type is None for k in hmap.wide.values()):  # the fund type from the row's own column
            row_types = self._values(contract.column("fund_type"), raw, None)
        present_any = np.zeros(n, bool)
        for i, key in hmap.wide.items():
            amounts = parsed[i]
            present = ~is_none(amounts) & ~failed(amounts)
            present_any |= present
            types = key.fund_type if key.fund_type else row_types
            if not key.fund_type:
                checks.add(failed(row_types) & present, lambda r: _error_of(row_types, r, None, None))
            if key.fund_level:
                levels: Any = key.fund_level
            else:
                levels = self._values(contract.column("fund_level"), raw, _per_row(types, n))
                checks.add(failed(levels) & present, lambda r, levels=levels: _error_of(levels, r, None, None))
            values = {**base, "fund_type": types, "fund_level": levels, "amount_yuan": amounts}
            values[UNIT] = self._units(columns[i], self.hmap.units.get(i))
            if key.year is not None:
                values["year"] = key.year
            wide.append((values, amounts))
        known = {action.name: acts}
        long, has_long = self._long(raw, checks, known)
        if long is None:  # a wide form without a long part: its records carry the optional columns too
            optional = {}
            for column in contract.columns:
                if not column.nullable or column.name in wide[0][0]:
                    continue
                if column.name in known:  # read already (the row action): its refusals come first
                    optional[column.name] = known[column.name]
                    continue
                found = optional[column.name] = self._values(column, raw, None)
                checks.add(failed(found) & present_any, lambda r, found=found: _error_of(found, r, None, None))
            wide = [({**values, **optional}, amounts) for values, amounts in wide]
        errors = checks.first(live)
        refused_rows = np.zeros(n, bool)
        refused_rows[list(errors)] = True
        settled = live & ~refused_rows & ~withdraw
        segments = [
            segment(self.dataset, row_numbers, np.flatnonzero(settled & ~is_none(amounts)), k, values)
            for k, (values, amounts) in enumerate(wide)
        ]
        if long is not None:
            segments.append(
                segment(self.dataset, row_numbers, np.flatnonzero(settled & has_long), len(wide), {**base, **long})
            )
        records = []
        places = base.copy()
        for index in np.flatnonzero(live & withdraw & ~refused_rows).tolist():
            record = {name: places[name][index] for name in places}
            try:
                found = _withdrawals(contract, [column[index] for column in columns], hmap, record)
            except RowError as exc:
                errors[index] = exc
                continue
            number = int(row_numbers[index])
            records += [{**r, "_row": number, POSITION: index, ORDINAL: k} for k, r in enumerate(found)]
        return _Read(segments, records, errors, live)

    def _amounts(self, columns: list[list[str | None]], i: int, name: str) -> Parsed:
        """A wide column's (or its 合计 column's) yuan; a refused cell's error names the column ``name``."""
        unit = self.hmap.units.get(i)
        return money_column(
            columns[i],
            plain_factor(unit, self.default_unit),
            lambda v: _convert(name, v, to_yuan, unit, self.default_unit),
        )

    def _units(self, cells: list[str | None], column_unit: str | None) -> list[str | None]:
        """The unit each amount of a column was written in (万元, 元 …; None: none stated, read as 元)."""
        return by_distinct(cells, lambda v: money_unit_of(v, column_unit, self.default_unit))

    def _tolerance(self, i: int, total) -> Decimal:
        return total_tolerance(plain_factor(self.hmap.units.get(i), self.default_unit), len(total.members))

    def _mismatch(self, columns, parsed: dict[int, Parsed], index: int, total, r: int) -> RowError:
        """The row's rejection when its 合计 cell is not the sum of the cells it totals (row_total_mismatch)."""
        hmap, default_unit = self.hmap, self.default_unit
        unit = hmap.units.get(index)
        value = parsed[index].values[r].as_py()
        summed = sum((parsed[m].values[r].as_py() or 0 for m in total.members), Decimal(0))
        factor = plain_factor(unit, default_unit)
        parts = "、".join(f"“{hmap.labels[m]}”" for m in total.members)
        return RowError(
            total.name,
            columns[index][r],
            f"为 {_in_unit(value, factor, unit or default_unit)}，"
            f"但{parts}相加为 {_in_unit(summed, factor, unit or default_unit)}："
            "合计应等于各列之和，这一行未读取；请核对后重新报送这一行",
            "row_total_mismatch",
        )

    def _county(self, cells: tuple[str | None, str | None]) -> str:
        return _resolve_cells(cells[0], cells[1], self.province, self.contract.targets)

    def _values(self, column, raw, fund_types: list | None) -> list | Parsed:
        """A column's values, each distinct cell converted once (fund level: each cell with its row's fund type)."""
        contract, hmap = self.contract, self.hmap
        if column.name == "fund_level":
            pairs = list(zip(raw(column.field), fund_types or [None] * len(raw(column.field)), strict=True))
            return by_distinct(
                pairs,
                lambda p: FAILED if refused(p[1]) else _value(column, p[0], None, None, {"fund_type": p[1]}, contract),
            )
        if column.kind == "text":  # as _value reads text, without its dispatch: names and projects are mostly distinct
            return text_column(raw(column.field), lambda v: None if is_missing(v) else v)
        if column.kind == "pseudonym":  # as _value reads an ID number, the column's distinct numbers in one call
            return pseudonym_column(raw(column.field), column.field)
        unit = hmap.units.get(hmap.columns.get(column.field, -1))

        def convert(value: str | None) -> Any:
            return _value(column, value, unit, self.default_unit, {}, contract)

        if column.kind == "money":
            return money_column(raw(column.field), plain_factor(unit, self.default_unit), convert)
        if column.kind == "count":
            return count_column(raw(column.field), column.arrow_type, convert)
        return by_distinct(raw(column.field), convert)

    def _long(self, raw, checks: _Checks, known: dict[str, Any]) -> tuple[dict[str, Any] | None, np.ndarray]:
        """The long record's columns and which rows have one; None for a wide form that has no long part.

        Adds to ``checks`` where each column refuses a cell or misses a required one (``known``: columns read
        already, their refusals checked).
        """
        contract, cols = self.contract, self.hmap.columns
        base = ("county_code", "prefecture_code", "year")
        if self.hmap.wide and not all(
            c.field in cols for c in contract.columns if not c.nullable and c.name not in base
        ):
            return None, np.zeros(len(checks.gate), bool)
        values: dict[str, Any] = {}
        has_long = np.ones(len(checks.gate), bool)
        for column in contract.columns:
            if column.name in base:
                continue
            if column.name in known:  # read already (the row action): its refusals come first
                values[column.name] = known[column.name]
                continue
            found = self._values(column, raw, values.get("fund_type"))
            checks.add(failed(found) & has_long, lambda r, found=found: _error_of(found, r, None, None))
            if not column.nullable:
                missing = is_none(found)
                if column.kind == "money" and self.dataset == "fund_allocation":
                    has_long &= ~missing  # a long fund row without an amount carries no fact
                else:
                    cells = raw(column.field)
                    checks.add(
                        missing & has_long,
                        lambda r, column=column, cells=cells: RowError(
                            _reported(column), cells[r], _missing_reason(column), "value_missing"
                        ),
                    )
            values[column.name] = found
            if column.kind == "money" and UNIT not in values:
                values[UNIT] = self._units(raw(column.field), self.hmap.units.get(cols.get(column.field, -1)))
        return values, has_long


def _carries_facts(columns: list[list[str | None]], county: list[str | None]) -> np.ndarray:
    """Rows that are neither a subtotal (合计 in the county cell) nor blank."""
    subtotal = by_distinct(county, lambda v: any(label in (v or "") for label in _SKIP_LABELS))
    blank = ~np.fromiter(subtotal, bool, len(county))
    for column in columns:  # narrowed column by column: after the first, few rows are left to test
        rows = np.flatnonzero(blank)
        if not len(rows):
            break
        blank[rows] = by_distinct([column[i] for i in rows.tolist()], is_missing)
    return ~blank & ~np.fromiter(subtotal, bool, len(county))


def _per_row(values: Any, n: int) -> list:
    """A column's values per row: a list as it is, one value (a wide header's fund type) repeated."""
    return values if isinstance(values, list) else [values] * n


def total_tolerance(factor: int | None, members: int) -> Decimal:
    """How far a 合计 cell may stand from its parts' sum, in yuan: half a unit of the last of two decimals each."""
    return Decimal("0.005") * (factor or 1) * members + Decimal("0.01")


def _totals_differ(total, members: list, tolerance: Decimal) -> np.ndarray:
    """Rows whose 合计 cell (read) differs from the sum of its member cells (empty: 0) by more than ``tolerance``."""
    totals = total.values.to_pylist()
    parts = [m.values.to_pylist() for m in members]
    out = np.zeros(len(totals), bool)
    for r, value in enumerate(totals):
        if value is not None:
            out[r] = abs(value - sum((p[r] or 0 for p in parts), Decimal(0))) > tolerance
    return out


def _in_unit(yuan: Decimal, factor: int | None, unit: str | None) -> str:
    """Yuan shown in the form's own unit: 300万元, 1234.5元."""
    shown = (yuan / (factor or 1)).normalize()
    return f"{shown:f}{unit if factor and unit else '元'}"


def _row_value(contract, name: str, row: list, hmap, default_unit, record: dict):
    column = contract.column(name)
    raw = _cell(row, hmap.columns.get(column.field))
    return _value(column, raw, hmap.units.get(hmap.columns.get(column.field, -1)), default_unit, record, contract)


def _value(column, raw: str | None, column_unit: str | None, default_unit: str | None, record: dict, contract):
    """One cell as the column's kind: money in yuan, a fraction, a count, a code or text."""
    name = _reported(column)
    if column.kind == "money":
        return _convert(name, raw, to_yuan, column_unit, default_unit)
    if column.kind == "fraction":
        return _convert(name, raw, to_fraction, column_unit, default_unit)
    if column.kind == "count":
        return _convert(name, raw, to_count)
    if column.name == "fund_level":
        return _convert(name, raw, fund_level_of, record["fund_type"], contract)
    if column.kind == "pseudonym":
        try:
            return pseudonym_of(raw)
        except IdRefused as exc:  # the number is never echoed: its division code and asterisks
            raise RowError(column.field, masked(raw), str(exc), exc.code) from None
    if column.kind == "code":
        return None if is_missing(raw) and column.nullable else _convert(name, raw, code_of, column)
    return None if is_missing(raw) else raw


def _reported(column) -> str:
    """The field a rejection names: money under its canonical column (amount_yuan), others under their header field."""
    return column.name if column.kind == "money" else column.field


def _missing_reason(column) -> str:
    if column.kind in ("money", "count"):
        return "为空：这一列必须填写，没有的请填 0"
    return "为空：这一列必须填写"


def _withdrawals(contract, row: list, hmap, record: dict) -> list[dict]:
    """Key-only records of a row marked 撤销/作废: the facts with these keys are withdrawn, nothing replaces them."""
    base = {**record, "row_action": "withdraw"}
    if contract.dataset == "fund_allocation":
        keys = []
        for key in hmap.wide.values():
            fund_type = key.fund_type or _row_value(contract, "fund_type", row, hmap, None, {})
            level = key.fund_level or _row_value(contract, "fund_level", row, hmap, None, {"fund_type": fund_type})
            keys.append({"fund_type": fund_type, "fund_level": level, "year": key.year or record["year"]})
        if "fund_type" in hmap.columns and (not hmap.wide or "amount" in hmap.columns):
            fund_type = _value(
                contract.column("fund_type"), _cell(row, hmap.columns["fund_type"]), None, None, {}, contract
            )
            level = _value(
                contract.column("fund_level"),
                _cell(row, hmap.columns.get("fund_level")),
                None,
                None,
                {"fund_type": fund_type},
                contract,
            )
            keys.append({"fund_type": fund_type, "fund_level": level})
        return [{**base, **k} for k in keys]
    for name in contract.key:
        if name in base:
            continue
        column = contract.column(name)
        raw = _cell(row, hmap.columns.get(column.field))
        if is_missing(raw) and column.nullable:  # a key that may be empty (a grant's household: ID or number)
            base[name] = None
            continue
        if column.kind == "pseudonym":
            base[name] = _value(column, raw, None, None, base, contract)
            continue
        if is_missing(raw):
            raise RowError(
                column.field,
                raw,
                "为空：撤销的行也须填写这一列，以指明撤销哪一条数据",
                "withdrawal_without_key",
            )
        base[name] = raw
    return [base]
