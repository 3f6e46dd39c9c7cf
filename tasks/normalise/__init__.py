"""Normalise: a parsed table with the submitter's headers → canonical rows (yuan, fractions, current county codes)."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa

from fupin.config import Limits
from tasks.normalise.columns import (
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
from tasks.normalise.helpers import (
    UNRECOGNISED_CODE,
    Vocabulary,
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
    year_from_context,
)
from tasks.normalise.pseudonyms import IdRefused, masked, pseudonym_key, pseudonym_of
from tasks.normalise.values import is_missing, parse_number, parse_year
from tasks.records import Rejection, all_refused, refused_alike
from warehouse.contracts import contracts
from warehouse.reference import is_county_level, resolve_county_pair, resolve_target_pair

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
    for index, (fund_type, level) in hmap.wide.items():
        if index in labels:
            out[f"{fund_type}/{level}"] = labels[index]
    return out


def field_label(dataset: str, name: str) -> str:
    """A canonical field or column as a clerk would head it (contract's label or Chinese name)."""
    contract = contracts()[dataset]
    for column in [*contract.inputs, *contract.columns]:
        if name in (column.name, column.field):
            return column.label or column.zh or name
    fund_type, _, level = name.partition("/")
    if level:  # a wide fund column: 民政事业费/中央
        coded = {c.name: {v.code: v.zh for v in c.values} for c in contract.columns if c.values}
        return f"{coded.get('fund_type', {}).get(fund_type, fund_type)}/{coded.get('fund_level', {}).get(level, level)}"
    return name


def worded(reason: str, header: str) -> str:
    """A rejection's reason for the clerk: their column header first, then what is wrong and what to send."""
    return f"“{header}”{reason}"


def rejection_of(exc: RowError, row_number: int, dataset: str, headers: dict[str, str]) -> Rejection:
    """A row's rejection, its reason naming the column by the submitter's header (``submitted_headers``)."""
    header = headers.get(exc.field) or field_label(dataset, exc.field)
    return Rejection(row_number, exc.field, exc.value, worded(exc.reason, header), exc.code)


def _check_declared_totals(table, columns: list[list[str | None]], hmap, warnings: list[str]) -> None:
    """Compare the form's 合计 row with the sum of its rows, column by column."""
    declared = table.context.get("declared_total") or {}
    if not declared:
        return
    skip = {hmap.columns.get(c) for c in ("incidence", "year", "county_code", "county")}
    for i, label in enumerate(table.header):
        if i in skip or label not in declared:
            continue
        try:
            total, _ = parse_number(declared[label])
        except ValueError:
            continue
        if total is None:
            continue
        summed, n = number_sum(columns[i])
        if n and abs(summed - total) > Decimal("0.005") * n + Decimal("0.01"):
            where = (
                f"（第 {table.context.get('declared_total_row')} 行）"
                if table.context.get("declared_total_row")
                else ""
            )
            warnings.append(
                f"合计行{where}“{label}”为 {total}，但各行相加为 {summed}；请核对 [declared_total_mismatch]"
            )


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
    context_year = year_from_context(table.context, table.file_name)
    required = {d: contracts()[d].required for d in vocabs}
    dataset, hmap, reason, missing = detect_dataset(table.header, vocabs, required, context_year is not None)
    where = f"{table.file_name} 工作表「{table.sheet}」" if table.sheet else table.file_name
    unread = [{"submitted_header": h, "column_name": None, "matched_by": "unknown"} for h in hmap.unknown]
    unread += [{"submitted_header": h, "column_name": None, "matched_by": "ambiguous"} for h in hmap.ambiguous]
    mapping = [{"sheet": table.sheet or "", **m} for m in [*hmap.mapping, *unread]]
    if dataset is None:
        if missing:
            return Normalised(
                None,
                rows_total=len(table.rows),
                error=f"{where}：{reason}",
                error_field=missing[0].split("|")[0],
                header_mapping=mapping,
            )
        labels = "、".join(f"“{h}”" for h in table.header if h) or "无"
        return Normalised(
            None,
            rows_total=len(table.rows),
            error=(
                f"{where}：无法从表头识别是哪一种报表（读到的表头：{labels}）；请使用部里下发的报表模板，"
                f"表头须有县名或县代码、年度和各项指标列 [{UNRECOGNISED_CODE}]"
            ),
            header_mapping=mapping,
        )
    if _needs_level_column(dataset, table, hmap, vocabs[dataset]):
        return Normalised(
            None,
            rows_total=len(table.rows),
            error=f"{where}：{missing_columns_message(dataset, ['fund_level'], hmap, vocabs[dataset])}",
            error_field="fund_level",
            header_mapping=mapping,
        )
    out = Normalised(dataset, rows_total=len(table.rows), header_mapping=mapping)
    if hmap.unknown or hmap.ambiguous:
        unread = [*(f"“{u}”" for u in hmap.unknown), *(f"“{a}”（含义不明）" for a in hmap.ambiguous)]
        out.warnings.append(f"{where}：未识别的列已忽略：{'、'.join(unread)} [columns_ignored]")
    columns = cell_columns(table.rows, width_of(table.header, table.rows))
    _check_declared_totals(table, columns, hmap, out.warnings)
    default_unit = sheet_unit(table.context)
    cols = hmap.columns
    if dataset in ("fund_allocation", "social_org_project") and not default_unit:
        money_columns = [i for i in [cols.get("amount"), *hmap.wide] if i is not None and not hmap.units.get(i)]
        if _has_unitless_amount(columns, money_columns):
            out.warnings.append(
                f"{where}：表中没有写明金额单位，按“元”读取；如不是元，请在表头写明单位 [money_unit_assumed]"
            )

    headers = submitted_headers(dataset, table.header, hmap)
    plan = _Plan(dataset, hmap, province_code, context_year, default_unit)
    records = []
    pseudonymised = any(c.kind == "pseudonym" and c.field in cols for c in contracts()[dataset].columns)
    with pseudonym_key() if pseudonymised else nullcontext():  # no key: MissingKeyError, the file waits for one
        reading = (dataset, hmap, province_code, context_year, default_unit)
        refused = _refused_from_the_start(plan, columns, table, reading)
        if refused is not None:
            error = all_refused(where, refused, Limits.from_env().same_reason_rows)
            return Normalised(None, rows_total=len(table.rows), error=error, header_mapping=mapping)
        segments, fallback = plan.run(columns, np.asarray(table.row_numbers, dtype=np.int64))
        for index in fallback:  # rows the columns could not settle: read one by one, as every row once was
            row, row_number = table.rows[index], table.row_numbers[index]
            try:
                found = _row_records(dataset, row, hmap, province_code, context_year, default_unit)
            except _RowError as exc:
                out.rejections.append(rejection_of(exc, row_number, dataset, headers))
                continue
            records += [{**record, "_row": row_number, POSITION: index, ORDINAL: k} for k, record in enumerate(found)]
    out.table = in_row_order(dataset, segments, records)
    return out


def _refused_from_the_start(plan: _Plan, columns, table, reading: tuple) -> Rejection | None:
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
            _row_records(dataset, table.rows[index], hmap, province_code, context_year, default_unit)
        except _RowError as exc:
            rejections.append(rejection_of(exc, table.row_numbers[index], dataset, headers))
            continue
        return None  # a row that reads: not refused from the start
    return refused_alike(rejections, stop)


def _needs_level_column(dataset: str, table, hmap, vocab: Vocabulary) -> bool:
    """A long fund table without a level column whose fund types are not all centre-only: one file-level message."""
    if dataset != "fund_allocation" or "fund_type" not in hmap.columns or "fund_level" in hmap.columns:
        return False
    column = contracts()[dataset].column("fund_type")
    cells = [_cell(row, hmap.columns["fund_type"]) for row in table.rows]
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


def _year(row: list, hmap, context_year: int | None) -> int:
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
        year = by_distinct(raw("year"), lambda v: _year_cell(v, "year" in cols, self.context_year))
        action = contract.column("row_action")
        acts = by_distinct(raw(action.field), lambda v: _value(action, v, None, None, {}, contract))
        refer = failed(county) | failed(year) | np.fromiter((a == "withdraw" for a in acts), bool, n)
        base = {**_place_columns(county, contract.targets), "year": year}
        wide = []
        for i, (fund_type, level) in hmap.wide.items():
            amounts = money_column(
                columns[i],
                plain_factor(hmap.units.get(i), self.default_unit),
                lambda v, i=i: to_yuan(v, hmap.units.get(i), self.default_unit),
            )
            refer |= failed(amounts)
            wide.append(({**base, "fund_type": fund_type, "fund_level": level, "amount_yuan": amounts}, amounts))
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
        for i, (fund_type, level) in hmap.wide.items():
            amount = _convert(f"{fund_type}/{level}", _cell(row, i), to_yuan, units.get(i), default_unit)
            if amount is not None:
                wide.append({**record, "fund_type": fund_type, "fund_level": level, "amount_yuan": amount})
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
        keys = [{"fund_type": t, "fund_level": lv} for t, lv in hmap.wide.values()]
        if "fund_type" in hmap.columns:
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
