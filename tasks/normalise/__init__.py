"""Normalise: a parsed table with the submitter's headers → canonical rows (yuan, fractions, current county codes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tasks.normalise.helpers import (
    Vocabulary,
    detect_dataset,
    fund_level_of,
    fund_type_of,
    missing_columns_message,
    sheet_unit,
    to_count,
    to_fraction,
    to_yuan,
    vocabularies,
    year_from_context,
)
from tasks.normalise.settings import DATASETS, DEFAULT_LEVEL
from tasks.normalise.values import is_missing, parse_number, parse_year
from tasks.records import Rejection
from warehouse.reference import resolve_county

_SKIP_LABELS = ("合计", "小计", "总计", "合 计")


@dataclass
class Normalised:
    """Canonical rows of one table (each with ``_row``), or the reason the table was refused."""

    dataset: str | None
    rows: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rows_total: int = 0
    error: str | None = None
    error_field: str | None = None  # the missing canonical column of a file-level error
    header_mapping: list[dict[str, str]] = field(default_factory=list)  # submitted_header → column_name, matched_by


class _RowError(Exception):
    def __init__(self, field_name: str, value: str | None, reason: str):
        super().__init__(reason)
        self.field, self.value, self.reason = field_name, value, reason


def _cell(row: list, index: int | None) -> str | None:
    if index is None or index >= len(row):
        return None
    value = row[index]
    return None if value is None else str(value).strip()


def _convert(field_name: str, raw: str | None, fn, *args):
    try:
        return fn(raw, *args)
    except ValueError as exc:
        raise _RowError(field_name, raw, str(exc)) from None


def _check_declared_totals(table, hmap, warnings: list[str]) -> None:
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
        summed, n = Decimal(0), 0
        for row in table.rows:
            try:
                value, _ = parse_number(_cell(row, i))
            except ValueError:
                continue
            if value is not None:
                summed += value
                n += 1
        if n and abs(summed - total) > Decimal("0.005") * n + Decimal("0.01"):
            where = (
                f" (row {table.context.get('declared_total_row')})" if table.context.get("declared_total_row") else ""
            )
            warnings.append(f"合计 row{where} gives {label} = {total} but the rows add up to {summed}")


def _has_unitless_amount(rows: list[list], columns: list[int]) -> bool:
    """True when some amount has neither a unit in its cell nor one in its header or sheet."""
    for row in rows:
        for i in columns:
            try:
                value, unit = parse_number(_cell(row, i))
            except ValueError:
                continue
            if value is not None and unit is None:
                return True
    return False


def normalise_table(table, province_code: str, vocabs: dict[str, Vocabulary] | None = None) -> Normalised:
    """Canonical rows for one parsed table of a province's submission, headers read with ``vocabs``."""
    vocabs = vocabs or vocabularies()
    context_year = year_from_context(table.context, table.file_name)
    required = {d: DATASETS[d][0] for d in vocabs}
    dataset, hmap, reason, missing = detect_dataset(table.header, vocabs, required, context_year is not None)
    where = f"sheet '{table.sheet}'" if table.sheet else table.file_name
    mapping = [{"sheet": table.sheet or "", **m} for m in hmap.mapping]
    if dataset is None:
        if missing:
            return Normalised(
                None,
                rows_total=len(table.rows),
                error=f"{where}: {reason}",
                error_field=missing[0].split("|")[0],
                header_mapping=mapping,
            )
        labels = ", ".join(h for h in table.header if h) or "none"
        return Normalised(
            None, rows_total=len(table.rows), error=f"{where}: {reason} (columns: {labels})", header_mapping=mapping
        )
    if _needs_level_column(dataset, table, hmap):
        return Normalised(
            None,
            rows_total=len(table.rows),
            error=f"{where}: {missing_columns_message(dataset, ['fund_level'], hmap, vocabs[dataset])}",
            error_field="fund_level",
            header_mapping=mapping,
        )
    out = Normalised(dataset, rows_total=len(table.rows), header_mapping=mapping)
    if hmap.unknown or hmap.ambiguous:
        unread = [*hmap.unknown, *(f"{a} (ambiguous)" for a in hmap.ambiguous)]
        out.warnings.append(f"{where}: ignored unknown columns: {', '.join(unread)}")
    _check_declared_totals(table, hmap, out.warnings)
    default_unit = sheet_unit(table.context)
    cols = hmap.columns
    if dataset in ("fund_allocation", "social_org_project") and not default_unit:
        money_columns = [i for i in [cols.get("amount"), *hmap.wide] if i is not None and not hmap.units.get(i)]
        if _has_unitless_amount(table.rows, money_columns):
            out.warnings.append(f"{where}: no money unit stated; amounts taken as 元")

    for row, row_number in zip(table.rows, table.row_numbers, strict=True):
        county_raw = _cell(row, cols.get("county"))
        if any(label in (county_raw or "") for label in _SKIP_LABELS):
            continue  # subtotal rows inside the data carry no facts of their own
        if all(is_missing(_cell(row, i)) for i in range(len(row))):
            continue
        try:
            records = _row_records(dataset, row, hmap, province_code, context_year, default_unit)
        except _RowError as exc:
            out.rejections.append(Rejection(row_number, exc.field, exc.value, exc.reason))
            continue
        for record in records:
            record["_row"] = row_number
            out.rows.append(record)
    return out


def _needs_level_column(dataset: str, table, hmap) -> bool:
    """A long fund table without a level column whose fund types are not all centre-only: one file-level message."""
    if dataset != "fund_allocation" or "fund_type" not in hmap.columns or "fund_level" in hmap.columns:
        return False
    for row in table.rows:
        try:
            fund_type = fund_type_of(_cell(row, hmap.columns["fund_type"]))
        except ValueError:
            continue  # the row's own rejection says so
        if fund_type not in DEFAULT_LEVEL:
            return True
    return False


def _resolve(row: list, hmap, province_code: str) -> str:
    code_raw = _cell(row, hmap.columns.get("county_code"))
    name_raw = _cell(row, hmap.columns.get("county"))
    if not is_missing(code_raw):
        hit = resolve_county(code_raw, province_code)
        if hit.county_code:
            return hit.county_code
        if is_missing(name_raw) or not resolve_county(name_raw, province_code).county_code:
            raise _RowError("county_code", code_raw, hit.reason or "unknown county code")
    if is_missing(name_raw):
        raise _RowError("county", name_raw, "county is empty: give the county's name or code")
    hit = resolve_county(name_raw, province_code)
    if not hit.county_code:
        raise _RowError("county", name_raw, hit.reason or "unknown county")
    return hit.county_code


def _year(row: list, hmap, context_year: int | None) -> int:
    raw = _cell(row, hmap.columns.get("year"))
    if "year" in hmap.columns and not is_missing(raw):
        return _convert("year", raw, parse_year)
    if context_year is None:
        raise _RowError("year", raw, "year is missing and the form does not state one")
    return context_year


def _row_records(dataset: str, row: list, hmap, province: str, context_year, default_unit) -> list[dict]:
    cols, units = hmap.columns, hmap.units

    def get(name: str) -> str | None:
        return _cell(row, cols.get(name))

    def money(name: str) -> Decimal | None:
        return _convert(
            name if name != "amount" else "amount_yuan", get(name), to_yuan, units.get(cols.get(name, -1)), default_unit
        )

    def count(name: str) -> int | None:
        return _convert(name, get(name), to_count)

    county_code = _resolve(row, hmap, province)
    year = _year(row, hmap, context_year)
    if dataset == "fund_allocation":
        records = []
        if hmap.wide:
            for i, (fund_type, level) in hmap.wide.items():
                raw = _cell(row, i)
                amount = _convert(f"{fund_type}/{level}", raw, to_yuan, units.get(i), default_unit)
                if amount is not None:
                    records.append(
                        dict(
                            county_code=county_code,
                            year=year,
                            fund_type=fund_type,
                            fund_level=level,
                            amount_yuan=amount,
                        )
                    )
        if "fund_type" in cols and "amount" in cols:
            fund_type = _convert("fund_type", get("fund_type"), fund_type_of)
            level = _convert("fund_level", get("fund_level"), fund_level_of, fund_type)
            amount = money("amount")
            if amount is not None:
                records.append(
                    dict(county_code=county_code, year=year, fund_type=fund_type, fund_level=level, amount_yuan=amount)
                )
        return records
    if dataset == "poverty_status":
        rural, poor = count("rural_population"), count("poor_population")
        if rural is None or poor is None:
            missing = "rural_population" if rural is None else "poor_population"
            raise _RowError(missing, get(missing), f"{missing} is missing")
        incidence = _convert(
            "incidence", get("incidence"), to_fraction, units.get(cols.get("incidence", -1)), default_unit
        )
        return [
            dict(
                county_code=county_code,
                year=year,
                rural_population=rural,
                poor_population=poor,
                lifted_population=count("lifted_population"),
                declared_incidence=incidence,
            )
        ]
    if dataset == "social_org_project":
        organisation, project = get("organisation"), get("project")
        for name, value in (("organisation", organisation), ("project", project)):
            if is_missing(value):
                raise _RowError(name, value, f"{name} is empty")
        amount = money("amount")
        if amount is None:
            raise _RowError("amount_yuan", get("amount"), "amount is missing")
        return [
            dict(
                organisation=organisation,
                org_scope=get("org_scope"),
                project=project,
                county_code=county_code,
                year=year,
                amount_yuan=amount,
                beneficiaries=count("beneficiaries"),
            )
        ]
    if dataset == "training":
        programme = get("programme")
        if is_missing(programme):
            raise _RowError("programme", programme, "programme is empty")
        trainees = count("trainees")
        if trainees is None:
            raise _RowError("trainees", get("trainees"), "trainees is missing")
        return [
            dict(
                programme=programme,
                county_code=county_code,
                year=year,
                sessions=count("sessions"),
                trainees=trainees,
                trainees_poor=count("trainees_poor"),
                employed=count("employed"),
            )
        ]
    raise AssertionError(f"no normaliser for {dataset}")
