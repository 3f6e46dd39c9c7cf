"""Normalise: a parsed table with the submitter's headers → canonical rows (yuan, fractions, current county codes)."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
from fupin.tasks.normalise.columns import (
    FAILED,
    ORDINAL,
    POSITION,
    RowError,
    as_records,
    by_distinct,
    by_distinct_pairs,
    cell_columns,
    count_column,
    failed,
    in_row_order,
    is_none,
    money_column,
    number_sum,
    plain_numbers,
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
    fund_level_of,
    missing_columns_message,
    plain_factor,
    sheet_unit,
    to_count,
    to_fraction,
    to_yuan,
    vocabularies,
)
from fupin.tasks.normalise.pseudonyms import IdRefused, masked, pseudonym_key, pseudonym_of
from fupin.tasks.normalise.values import is_missing, parse_number, parse_year
from fupin.tasks.normalise.years import by_year, grouped_mapping
from fupin.tasks.records import ALL_REFUSED_CODE, Rejection, all_refused, refused_alike
from fupin.warehouse.contracts import contracts

from fupin.core.config import Limits
from fupin.core.messages import say
from fupin.core.reference import is_county_level, resolve_county_pair, resolve_target_pair

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


_RowError = RowError


def _cell(row: list, index: int | None) -> str | None:
    if index is None or index >= len(row):
        return None
    value = row[index]
    return None if value is None else str(value).strip()


def _convert(field_name: str, raw: str | None, fn, *args):
    try:
        return fn(raw, *args)
    except ValueError as exc:
        raise _RowError(field_name, raw, str(exc), getattr(exc, "code", None) or "invalid_value") from None


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


def field_label(dataset: str, name: str) -> str:
    """A canonical field or column as a clerk would head it (contract's label or Chinese name)."""
    contract = contracts()[dataset]
    for column in [*contract.inputs, *contract.columns]:
        if name in (column.name, column.field):
            return column.label or column.zh or name
    coded = {v.code: v.zh for c in contract.columns for v in c.values} | {"total": "合计"}
    parts = name.split("/")
    if all(p in coded or p.isdigit() for p in parts):  # a wide fund column: 民政事业费/中央, 2016/central, …/total
        return "/".join(coded.get(p, f"{p}年") for p in parts)
    return name


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

    def unitless(text: str | None) -> bool:
        value, unit = parse_number(text)
        return value is not None and unit is None

    # a plain number is one: most columns answer on Arrow, without a call per cell
    return any(
        plain_numbers(columns[i]).plain.any() or any(v is True for v in by_distinct(columns[i], unitless))
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
    records = []
    pseudonymised = any(c.kind == "pseudonym" and c.field in cols for c in contracts()[dataset].columns)
    with pseudonym_key() if pseudonymised else nullcontext():  # no key: MissingKeyError, the file waits for one

        def row_at(index: int) -> list:
            """A row as the row path reads it: with the values the title states, in the columns they stand for."""
            row = table.rows[index]
            return [*row[:width], *([None] * (width - len(row))), *(v for _, v in extra)] if extra else row

        reading = (dataset, hmap, province_code, context_year, default_unit)
        refused = _refused_from_the_start(plan, columns, table, reading, row_at)
        if refused is not None:
            error = all_refused(where, refused, Limits.from_env().same_reason_rows)
            return Normalised(
                None, rows_total=len(table.rows), error=error, error_code=ALL_REFUSED_CODE, header_mapping=mapping
            )
        segments, fallback = plan.run(columns, np.asarray(table.row_numbers, dtype=np.int64))
        for index in fallback:  # rows the columns could not settle: read one by one, as every row once was
            row, row_number = row_at(index), table.row_numbers[index]
            try:
                found = _row_records(dataset, row, hmap, province_code, context_year, default_unit)
            except _RowError as exc:
                out.rejections.append(rejection_of(exc, row_number, dataset, headers))
                continue
            records += [{**record, "_row": row_number, POSITION: index, ORDINAL: k} for k, record in enumerate(found)]
    out.table = in_row_order(dataset, segments, records)
    return out


def _stated_columns(dataset: str, hmap, stated: dict[str, Stated], width: int, n: int) -> list[tuple[str, str]]:
    """(field, value) of what the form states outside its header for a field no column holds, as columns
    appended after the table's own (``hmap`` is pointed at them): both the column and the row path read them."""
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
        for value in by_distinct(rest, _unitless_value):
            if value is not None and value is not FAILED and value != 0:
                total += 1
                small += abs(value) < bound
                decimals += value != value.to_integral_value()
    if not total or small * 2 <= total:
        return None
    said = f"，{decimals} 个带小数" if decimals else ""
    return f" {total} 个金额中有 {small} 个小于 {bound:,} 元{said}"


def _unitless_value(cell: str | None) -> Decimal | None:
    value, unit = parse_number(cell)
    return value if unit is None else None


def _refused_from_the_start(plan: _Plan, columns, table, reading: tuple, row_at=None) -> Rejection | None:
    """The first rejection when the table's first Limits.same_reason_rows rows with facts are all refused for one
    reason; else None. Read on the table's first rows alone (twice that many), so that such a table costs
    seconds, not minutes and a receipt line per row (a workbook of 255,000 of them took 169 s, 1.5 GB and
    wrote a 45 MB receipt)."""
    stop = Limits.from_env().same_reason_rows
    if stop <= 0 or len(table.rows) < stop:
        return None
    probe = min(len(table.rows), 2 * stop)
    row_numbers = np.asarray(table.row_numbers[:probe], dtype=np.int64)
    _, fallback = plan.run([column[:probe] for column in columns], row_numbers)
    first_settled = int(np.argmax(plan.settled)) if plan.settled.any() else probe
    if len(fallback) < stop or fallback[stop - 1] >= first_settled:
        return None
    dataset, hmap, province_code, context_year, default_unit = reading
    headers = submitted_headers(dataset, table.header, hmap)
    rejections = []
    for index in fallback[:stop]:
        try:
            row = row_at(index) if row_at else table.rows[index]
            _row_records(dataset, row, hmap, province_code, context_year, default_unit)
        except _RowError as exc:
            rejections.append(rejection_of(exc, table.row_numbers[index], dataset, headers))
            continue
        return None  # a row that reads: not refused from the start
    return refused_alike(rejections, stop)


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
        t is not FAILED and t not in vocab.default_level for t in by_distinct(cells, lambda c: code_of(c, column))
    )


def _place(row: list, hmap, province_code: str, targets: tuple[str, ...]) -> dict[str, str | None]:
    """A row's county (or whole prefecture, where the dataset allows one) as its place columns."""
    code = _resolve_cells(
        _cell(row, hmap.columns.get("county_code")), _cell(row, hmap.columns.get("county")), province_code, targets
    )
    return {name: values[0] for name, values in _place_columns([code], targets).items()}


def _place_columns(places: list, targets: tuple[str, ...]) -> dict[str, list]:
    """Resolved places (county codes, or prefecture codes ending in 00) as county_code and prefecture_code."""
    if "prefecture" not in targets:
        return {"county_code": places}
    county = [p if p is FAILED or p is None or is_county_level(p) else None for p in places]
    prefecture = [None if p is FAILED or p is None or is_county_level(p) else p for p in places]
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
        raise _RowError("county", name_raw, "为空：请填写县名或县代码", "county_empty")
    resolve = resolve_target_pair if "prefecture" in targets else resolve_county_pair
    hit = resolve(code, name, province_code)
    if hit.county_code or hit.prefecture_code:
        return hit.county_code or hit.prefecture_code
    if code is None:
        raise _RowError("county", name_raw, f"：{hit.reason or '县名无法识别'}", hit.code or "unknown_county")
    value = code_raw if name is None or hit.code is None else f"{code_raw} / {name_raw}"
    raise _RowError("county_code", value, f"：{hit.reason or '县代码无法识别'}", hit.code or "unknown_county")


def _year(row: list, hmap, context_year: int | None) -> int | None:
    if hmap.years_in_columns:  # 2016年 | 2017年: each wide column gives its own
        return None
    return _year_cell(_cell(row, hmap.columns.get("year")), "year" in hmap.columns, context_year)


def _year_cell(raw: str | None, has_column: bool, context_year: int | None) -> int:
    """The year of a row's year cell, or the form's own year when the form has no year column."""
    if has_column and not is_missing(raw):
        return _convert("year", raw, parse_year)
    if context_year is None:
        raise _RowError(
            "year",
            raw,
            "为空，报表标题和文件名也没有写明年份：请填写年度，或在标题中写明年份（如 2017年）",
            "year_missing",
        )
    return context_year


class _Plan:
    """``_row_records`` over whole columns: every distinct cell converted once, then looked up per row.

    A row whose cells the columns cannot settle (a refused cell, a missing required value, a
    withdrawal) is left to ``_row_records``, which words its rejection exactly as before.
    """

    def __init__(self, dataset: str, hmap, province: str, context_year: int | None, default_unit: str | None):
        self.dataset, self.hmap, self.province = dataset, hmap, province
        self.context_year, self.default_unit = context_year, default_unit
        self.contract = contracts()[dataset]

    def run(self, columns: list[list[str | None]], row_numbers: np.ndarray) -> tuple[list[pa.Table], list[int]]:
        """(record segments of the rows settled here, positions of the rows left to the row path)."""
        n = len(row_numbers)
        cols, contract, hmap = self.hmap.columns, self.contract, self.hmap
        none: list[str | None] = [None] * n

        def raw(name: str) -> list[str | None]:
            return columns[cols[name]] if name in cols else none

        live = _carries_facts(columns, raw("county"))
        county = by_distinct_pairs(raw("county_code"), raw("county"), self._county)
        if hmap.years_in_columns:  # 2016年 | 2017年: each wide column gives its own
            year: list = [None] * n
        else:
            year = by_distinct(raw("year"), lambda v: _year_cell(v, "year" in cols, self.context_year))
        action = contract.column("row_action")
        acts = by_distinct(raw(action.field), lambda v: _value(action, v, None, None, {}, contract))
        refer = failed(county) | failed(year) | np.fromiter((a == "withdraw" for a in acts), bool, n)
        base = {**_place_columns(county, contract.targets), "year": year}
        wide = []
        parsed = {i: self._amounts(columns, i) for i in [*hmap.wide, *hmap.totals]}
        row_types = None
        if any(k.fund_type is None for k in hmap.wide.values()):  # the fund type from the row's own column
            row_types = self._values(contract.column("fund_type"), raw, None)
        for i, key in hmap.wide.items():
            amounts = parsed[i]
            refer |= failed(amounts)
            present = ~is_none(amounts) & ~failed(amounts)
            types = key.fund_type if key.fund_type else row_types
            if key.fund_level:
                levels: Any = key.fund_level
            else:
                levels = self._values(contract.column("fund_level"), raw, _per_row(types, n))
                refer |= failed(levels) & present
            if not key.fund_type:
                refer |= failed(row_types) & present
            values = {**base, "fund_type": types, "fund_level": levels, "amount_yuan": amounts}
            if key.year is not None:
                values["year"] = key.year
            wide.append((values, amounts))
        for i, total in hmap.totals.items():
            members = [parsed[m] for m in total.members]
            refer |= failed(parsed[i]) | _totals_differ(parsed[i], members, self._tolerance(i, total))
        long, has_long = self._long(raw, refer)
        if long is None:  # a wide form without a long part: its records carry the optional columns too
            optional = {}
            for column in contract.columns:
                if column.nullable and column.name not in wide[0][0]:
                    optional[column.name] = self._values(column, raw, None)
                    refer |= failed(optional[column.name])
            wide = [({**values, **optional}, amounts) for values, amounts in wide]
        settled = live & ~refer
        self.settled = settled
        segments = [
            segment(self.dataset, row_numbers, np.flatnonzero(settled & ~is_none(amounts)), k, values)
            for k, (values, amounts) in enumerate(wide)
        ]
        if long is not None:
            segments.append(
                segment(self.dataset, row_numbers, np.flatnonzero(settled & has_long), len(wide), {**base, **long})
            )
        return segments, np.flatnonzero(live & refer).tolist()

    def _amounts(self, columns: list[list[str | None]], i: int):
        unit = self.hmap.units.get(i)
        return money_column(
            columns[i], plain_factor(unit, self.default_unit), lambda v: to_yuan(v, unit, self.default_unit)
        )

    def _tolerance(self, i: int, total) -> Decimal:
        return total_tolerance(plain_factor(self.hmap.units.get(i), self.default_unit), len(total.members))

    def _county(self, cells: tuple[str | None, str | None]) -> str:
        return _resolve_cells(cells[0], cells[1], self.province, self.contract.targets)

    def _values(self, column, raw, fund_types: list | None) -> list:
        """A column's values, each distinct cell converted once (fund level: each cell with its row's fund type)."""
        contract, hmap = self.contract, self.hmap
        if column.name == "fund_level":
            pairs = list(zip(raw(column.field), fund_types or [None] * len(raw(column.field)), strict=True))
            return by_distinct(
                pairs,
                lambda p: FAILED if p[1] is FAILED else _value(column, p[0], None, None, {"fund_type": p[1]}, contract),
            )
        if column.kind == "text":  # as _value reads text, without its dispatch: names and projects are mostly distinct
            return text_column(raw(column.field), lambda v: None if is_missing(v) else v)
        unit = hmap.units.get(hmap.columns.get(column.field, -1))

        def convert(value: str | None) -> Any:
            return _value(column, value, unit, self.default_unit, {}, contract)

        if column.kind == "money":
            return money_column(raw(column.field), plain_factor(unit, self.default_unit), convert)
        if column.kind == "count":
            return count_column(raw(column.field), column.arrow_type, convert)
        return by_distinct(raw(column.field), convert)

    def _long(self, raw, refer: np.ndarray) -> tuple[dict[str, Any] | None, np.ndarray]:
        """The long record's columns and which rows have one; None for a wide form that has no long part.

        Marks in ``refer`` the rows whose long part the row path must read.
        """
        contract, cols = self.contract, self.hmap.columns
        base = ("county_code", "prefecture_code", "year")
        if self.hmap.wide and not all(
            c.field in cols for c in contract.columns if not c.nullable and c.name not in base
        ):
            return None, refer
        values: dict[str, Any] = {}
        has_long = np.ones(len(refer), bool)
        for column in contract.columns:
            if column.name in base:
                continue
            found = self._values(column, raw, values.get("fund_type"))
            refer |= failed(found)
            if not column.nullable:
                missing = is_none(found)
                if column.kind == "money" and self.dataset == "fund_allocation":
                    has_long &= ~missing  # a long fund row without an amount carries no fact
                else:
                    refer |= missing
            values[column.name] = found
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


def _check_total(row: list, hmap, index: int, total, amounts: dict[int, Decimal | None], default_unit) -> None:
    """The row's rejection when its 合计 cell is not the sum of the cells it totals (row_total_mismatch)."""
    unit = hmap.units.get(index)
    value = _convert(total.name, _cell(row, index), to_yuan, unit, default_unit)
    if value is None:
        return
    summed = sum((amounts[m] or 0 for m in total.members), Decimal(0))
    factor = plain_factor(unit, default_unit)
    if abs(value - summed) <= total_tolerance(factor, len(total.members)):
        return
    parts = "、".join(f"“{hmap.labels[m]}”" for m in total.members)
    raise _RowError(
        total.name,
        _cell(row, index),
        f"为 {_in_unit(value, factor, unit or default_unit)}，"
        f"但{parts}相加为 {_in_unit(summed, factor, unit or default_unit)}："
        "合计应等于各列之和，这一行未读取；请核对后重新报送这一行",
        "row_total_mismatch",
    )


def _in_unit(yuan: Decimal, factor: int | None, unit: str | None) -> str:
    """Yuan shown in the form's own unit: 300万元, 1234.5元."""
    shown = (yuan / (factor or 1)).normalize()
    return f"{shown:f}{unit if factor and unit else '元'}"


def _wide_records(contract, row: list, hmap, record: dict, default_unit) -> list[dict]:
    """One record per filled wide column of a row, its key completed from the row's long columns; 合计 checked."""
    amounts = {
        i: _convert(key.name, _cell(row, i), to_yuan, hmap.units.get(i), default_unit) for i, key in hmap.wide.items()
    }
    for index, total in hmap.totals.items():
        _check_total(row, hmap, index, total, amounts, default_unit)
    out = []
    for i, key in hmap.wide.items():
        if amounts[i] is None:
            continue
        fund_type = key.fund_type or _row_value(contract, "fund_type", row, hmap, default_unit, {})
        level = key.fund_level or _row_value(contract, "fund_level", row, hmap, default_unit, {"fund_type": fund_type})
        year = key.year if key.year is not None else record["year"]
        out.append({**record, "year": year, "fund_type": fund_type, "fund_level": level, "amount_yuan": amounts[i]})
    return out


def _row_value(contract, name: str, row: list, hmap, default_unit, record: dict):
    column = contract.column(name)
    raw = _cell(row, hmap.columns.get(column.field))
    return _value(column, raw, hmap.units.get(hmap.columns.get(column.field, -1)), default_unit, record, contract)


def _row_records(dataset: str, row: list, hmap, province: str, context_year, default_unit) -> list[dict]:
    """The canonical records of one row, each column converted as its contract declares it."""
    contract = contracts()[dataset]
    cols, units = hmap.columns, hmap.units
    record: dict[str, Any] = {**_place(row, hmap, province, contract.targets), "year": _year(row, hmap, context_year)}
    action = contract.column("row_action")
    if _value(action, _cell(row, cols.get(action.field)), None, None, record, contract) == "withdraw":
        return _withdrawals(contract, row, hmap, record)
    wide = []
    if hmap.wide:  # one record per fund column of a wide form
        wide = _wide_records(contract, row, hmap, record, default_unit)
        if not all(c.field in cols for c in contract.columns if not c.nullable and c.name not in record):
            return [{**r, **_optional(contract, row, hmap, default_unit, r)} for r in wide]
    for column in contract.columns:
        if column.name in record:
            continue
        raw = _cell(row, cols.get(column.field))
        value = _value(column, raw, units.get(cols.get(column.field, -1)), default_unit, record, contract)
        if value is None and not column.nullable:
            if column.kind == "money" and dataset == "fund_allocation":
                return wide  # a long fund row without an amount carries no fact
            raise _RowError(_reported(column), raw, _missing_reason(column), "value_missing")
        record[column.name] = value
    return [*wide, record]


def _optional(contract, row: list, hmap, default_unit, record: dict) -> dict:
    """The nullable columns of a wide form's record."""
    out = {}
    for column in contract.columns:
        if column.nullable and column.name not in record:
            raw = _cell(row, hmap.columns.get(column.field))
            out[column.name] = _value(
                column, raw, hmap.units.get(hmap.columns.get(column.field, -1)), default_unit, {}, contract
            )
    return out


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
            raise _RowError(column.field, masked(raw), str(exc), exc.code) from None
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
            raise _RowError(
                column.field,
                raw,
                "为空：撤销的行也须填写这一列，以指明撤销哪一条数据",
                "withdrawal_without_key",
            )
        base[name] = raw
    return [base]
