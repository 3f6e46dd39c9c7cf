"""Pure helpers of the normaliser: headers → canonical columns, cells → typed values.

Nothing here knows about files or Prefect; ``tasks.normalise.normalise_table`` strings them together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache

from tasks.normalise.settings import (
    DATASETS,
    DEFAULT_LEVEL,
    FUND_LEVELS,
    FUND_TYPE_LABELS,
    FUND_TYPES,
    HEADER_SYNONYMS,
    ROW_ACTIONS,
    SUBTOTAL_LABELS,
)
from tasks.normalise.values import (
    check_count,
    check_magnitude,
    money_factor,
    parse_number,
    parse_year,
    to_halfwidth,
    unit_in_header,
)

CENT = Decimal("0.01")


def clean_label(label: str) -> tuple[str, str | None]:
    """A header label without unit, spaces and width differences, lower-cased, and its unit."""
    text = re.sub(r"\s+", "", to_halfwidth(label or ""))
    base, unit = unit_in_header(text)
    # 'Rural Population', 'rural_population' and 'rural-population' are one label
    base = re.sub(r"[_\-]+", "", base.strip(":：").lower())
    return base, unit


@cache
def _lookup(table: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, str]:
    return {clean_label(syn)[0]: key for key, syns in table for syn in syns}


def _find(table: dict[str, tuple[str, ...]], label: str) -> str | None:
    return _lookup(tuple(table.items())).get(label)


@dataclass
class HeaderMap:
    """Where each canonical column sits in a table, and what was not understood."""

    columns: dict[str, int] = field(default_factory=dict)
    units: dict[int, str] = field(default_factory=dict)
    wide: dict[int, tuple[str, str]] = field(default_factory=dict)  # column → (fund_type, fund_level)
    unknown: list[str] = field(default_factory=list)

    def has(self, name: str) -> bool:
        """True when the canonical column (or one of 'a|b' alternatives) is present."""
        names = name.split("|")
        if "fund_type" in names or "amount" in names:
            if self.wide:
                return True
        return any(n in self.columns for n in names)


def map_header(header: list[str]) -> HeaderMap:
    """Map the submitter's header labels to canonical columns and wide fund columns."""
    out = HeaderMap()
    for i, label in enumerate(header):
        if not label or not str(label).strip():
            continue
        parts = [clean_label(p) for p in str(label).split("/") if p.strip()]
        base, unit = parts[-1]
        units = [u for _, u in parts if u]
        if units:
            out.units[i] = units[-1]
        # three header rows put the fund type in the middle: 下达资金（万元）/民政事业费/中央
        typed = [k for k, (p, _) in enumerate(parts) if _find(FUND_TYPES, p)]
        at = typed[0] if typed else 0
        parent = parts[at][0]
        fund_type = _find(FUND_TYPES, parent)
        if fund_type and at == len(parts) - 1 and fund_type in DEFAULT_LEVEL:
            out.wide[i] = (fund_type, DEFAULT_LEVEL[fund_type])
            continue
        if fund_type and len(parts) > 1:
            if base in {clean_label(s)[0] for s in SUBTOTAL_LABELS}:
                continue  # a subtotal column of a wide form: the parts carry the data
            level = _find(FUND_LEVELS, base)
            if level:
                out.wide[i] = (fund_type, level)
                continue
        elif fund_type and fund_type in DEFAULT_LEVEL:
            out.wide[i] = (fund_type, DEFAULT_LEVEL[fund_type])
            continue
        canonical = None
        for candidate in (base, "".join(p for p, _ in parts), parent):
            canonical = _find(HEADER_SYNONYMS, candidate)
            if canonical:
                break
        if canonical == "ignore":
            continue
        if canonical and canonical not in out.columns:
            out.columns[canonical] = i
        else:
            out.unknown.append(str(label))
    return out


def detect_dataset(hmap: HeaderMap, year_known: bool) -> tuple[str | None, str | None]:
    """(dataset, None) when the columns identify one; (None, reason) otherwise."""
    best: tuple[int, str, list[str]] | None = None
    for dataset, (required, _optional) in DATASETS.items():
        missing = [r for r in required if not (hmap.has(r) or (r == "year" and year_known))]
        score = len(required) - len(missing)
        if not missing:
            return dataset, None
        if best is None or score > best[0]:
            best = (score, dataset, missing)
    assert best is not None
    score, dataset, missing = best
    if score >= 2 and hmap.has("county|county_code"):
        names = ", ".join(" or ".join(column_label(m) for m in alt.split("|")) for alt in missing)
        return None, f"missing required columns for {dataset}: {names}"
    return None, "cannot recognise the dataset from its columns"


def column_label(canonical: str) -> str:
    """A canonical column as a clerk would head it, with its name: '未脱贫人口 (poor_population)'."""
    synonyms = HEADER_SYNONYMS.get(canonical) or FUND_TYPE_LABELS.get(canonical, ())
    return f"{synonyms[0]} ({canonical})" if synonyms else canonical


def year_from_context(context: dict, file_name: str) -> int | None:
    """A year stated once for the whole table: JSON metadata, the title, or the file name."""
    metadata = context.get("metadata") or {}
    for key in ("年度", "年份", "year", "统计年度"):
        if key in metadata and metadata[key] not in (None, ""):
            try:
                return parse_year(str(metadata[key]))
            except ValueError:
                return None
    for text in (context.get("title") or "", file_name):
        years = set(re.findall(r"(?<!\d)(20\d{2}|19\d{2})(?!\d)\s*年", to_halfwidth(text)))
        ranges = re.findall(r"(?<!\d)(?:19|20)\d{2}\s*[-—~至到]\s*(?:19|20)\d{2}", to_halfwidth(text))
        if len(years) == 1 and not ranges:
            return int(years.pop())
    return None


def sheet_unit(context: dict) -> str | None:
    """The unit stated for the whole sheet (a 单位 row or JSON metadata), if any."""
    unit = context.get("unit") or (context.get("metadata") or {}).get("单位")
    return to_halfwidth(str(unit)).strip() if unit else None


def to_yuan(text: str | None, column_unit: str | None, default_unit: str | None) -> Decimal | None:
    """Money in yuan from a cell; the cell's own unit wins over the column's and the sheet's."""
    value, cell_unit = parse_number(text)
    if value is None:
        return None
    if cell_unit == "%":
        raise ValueError(f"'{text}' is a percentage, not an amount of money")
    unit = cell_unit or column_unit or default_unit
    factor = money_factor(unit) if unit else 1
    if factor is None:
        raise ValueError(f"unknown money unit '{unit}' (expected 元, 万元 or 亿元)")
    return check_magnitude((value * factor).quantize(CENT), text)


def to_count(text: str | None) -> int | None:
    """A whole number of persons, sessions or households."""
    value, unit = parse_number(text)
    if value is None:
        return None
    if unit == "%":
        raise ValueError(f"'{text}' is a percentage, not a count")
    if value != value.to_integral_value():
        raise ValueError(f"'{text}' is not a whole number")
    return check_count(int(value), text)


def to_fraction(text: str | None, column_unit: str | None, default_unit: str | None) -> float | None:
    """A rate as a fraction: '3.17%', 3.17 under a (%) header, or 0.0317."""
    value, unit = parse_number(text)
    if value is None:
        return None
    percent = unit == "%" or column_unit == "%" or (default_unit is not None and "%" in default_unit)
    if percent or value > 1:
        value = value / 100
    return float(value)


def fund_type_of(text: str | None) -> str:
    """Canonical fund type of a long-form cell like 民政事业费."""
    found = _find(FUND_TYPES, clean_label(text or "")[0])
    if not found:
        accepted = "、".join(v[0] for v in FUND_TYPES.values())
        raise ValueError(f"unknown fund type '{text}' (accepted: {accepted})")
    return found


def fund_level_of(text: str | None, fund_type: str) -> str:
    """Canonical fund level of a long-form cell like 中央 / 省级."""
    if text is None or not text.strip():
        if fund_type in DEFAULT_LEVEL:
            return DEFAULT_LEVEL[fund_type]
        raise ValueError("fund level is empty (expected 中央 or 省级)")
    found = _find(FUND_LEVELS, clean_label(text)[0])
    if not found:
        raise ValueError(f"unknown fund level '{text}' (expected 中央 or 省级)")
    return found


def row_action_of(text: str | None) -> str | None:
    """'withdraw' for a row marked 撤销/作废, None for an ordinary row (blank, 新增, 更正 …)."""
    if text is None or not text.strip():
        return None
    found = _find(ROW_ACTIONS, clean_label(text)[0])
    if found is None:
        raise ValueError(f"unknown row marker '{text}' (expected 撤销 or 作废 to withdraw the row, or blank)")
    return found or None
