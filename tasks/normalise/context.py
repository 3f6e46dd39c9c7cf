"""What a form says outside its header: the year, fund type, fund level, unit and area of its title,
its file name, its JSON envelope or a unit row under its header.

A clerk reads ``吉安市2016年省级民政事业费分配表`` as year 2016, civil-affairs funds, provincial level,
reported by 吉安市; a form with no column for these says them once, above the table. A value is taken
only when it is unambiguous: a title naming two years or two fund types gives neither (the column is then
required, as for any form). Each value keeps where it was read (``source``: title, file_name, metadata,
unit_row) and the text it was read from, which the header mapping records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import PurePath

from fupin.core.chinese import simplified
from fupin.core.reference import MINISTRY_CODE, counties, prefectures
from fupin.tasks.normalise.numbers import money_factor
from fupin.tasks.normalise.values import parse_year, to_halfwidth
from fupin.warehouse.contracts import contracts

# the fields a form may state once for all its rows
STATED_FIELDS = ("year", "fund_type", "fund_level", "county", "unit")
_YEAR = re.compile(r"(?<!\d)(20\d{2}|19\d{2})(?!\d)\s*年")
_RANGE = re.compile(r"(?<!\d)(?:19|20)\d{2}\s*[-—~至到]\s*(?:19|20)\d{2}")
_BRACKET_UNIT = re.compile(r"[(（\[【]\s*(?:(?:计量)?单位\s*[:：]\s*)?(?P<unit>万元|亿元|千元|元)\s*[)）\]】]")
_UNIT_SAID = re.compile(r"(?:计量)?单位\s*[:：]\s*(?P<unit>万元|亿元|千元|元)")


@dataclass(frozen=True)
class Stated:
    """One value a form states outside its header, and where: ``source`` and the ``text`` it was read from."""

    field: str
    value: str  # as a cell would hold it: 2016, 民政事业费, 省级, 万元, 吉安市
    source: str  # title, file_name, metadata, unit_row
    text: str


def _texts(context: dict, file_name: str) -> list[tuple[str, str]]:
    """(source, text) in the order they are believed: the title rows, then the file name without its suffix."""
    out = []
    if context.get("title"):
        out.append(("title", str(context["title"])))
    if file_name:
        out.append(("file_name", PurePath(file_name).stem))
    return out


def stated_year(context: dict, file_name: str) -> Stated | None:
    """The one year the JSON envelope, the title or the file name states (as ``year_from_context`` reads it)."""
    metadata = context.get("metadata") or {}
    for key in ("年度", "年份", "year", "统计年度"):
        if key in metadata and metadata[key] not in (None, ""):
            try:
                year = parse_year(str(metadata[key]))
            except ValueError:
                return None
            return Stated("year", str(year), "metadata", f"{key}: {metadata[key]}") if year else None
    found = []
    for source, text in _texts(context, file_name):
        half = to_halfwidth(text)
        years = set(_YEAR.findall(half))
        if len(years) == 1 and not _RANGE.search(half):
            found.append(Stated("year", years.pop(), source, text))
    return _agreed(found)


def _agreed(found: list[Stated], key=lambda s: s.value) -> Stated | None:
    """The first of the values the title and the file name state, when they do not contradict each other."""
    return found[0] if found and len({key(s) for s in found}) == 1 else None


@cache
def _coded(dataset: str, column: str) -> tuple[tuple[str, str], ...]:
    """(written form, code) of a coded column's values, longest first; forms of two letters or more, no ASCII."""
    contract = contracts()[dataset]
    names = {c.name for c in contract.columns}
    if column not in names:
        return ()
    pairs = {
        (simplified(h), v.code)
        for v in contract.column(column).values
        for h in (v.zh, *v.headers)
        if len(h) >= 2 and not h.isascii()
    }
    return tuple(sorted(pairs, key=lambda p: -len(p[0])))


def _mentions(text: str, forms: tuple[tuple[str, str], ...]) -> tuple[set[str], str, str | None]:
    """(codes the text names, the text with those words blanked out, the first word found)."""
    codes, first = set(), None
    for word, code in forms:  # longest first: 中央预算内投资 is taken before 中央 could be
        if word in text:
            codes.add(code)
            first = first or word
            text = text.replace(word, "\x00")
    return codes, text, first


def stated_fund(dataset: str, context: dict, file_name: str) -> dict[str, Stated]:
    """The fund type and level a title or file name names, each when it names exactly one."""
    types, levels = _coded(dataset, "fund_type"), _coded(dataset, "fund_level")
    if not types:
        return {}
    found: dict[str, list[tuple[str, Stated]]] = {"fund_type": [], "fund_level": []}
    for source, text in _texts(context, file_name):
        simple = simplified(text)
        codes, rest, word = _mentions(simple, types)
        if len(codes) == 1 and word:
            found["fund_type"].append((codes.pop(), Stated("fund_type", word, source, text)))
        named, _, level = _mentions(rest, levels)
        if len(named) == 1 and level:
            found["fund_level"].append((named.pop(), Stated("fund_level", level, source, text)))
    out = {}
    for name, said in found.items():  # a title and a file name naming two different funds name none
        if said and len({code for code, _ in said}) == 1:
            out[name] = said[0][1]
    return out


def stated_unit(context: dict, file_name: str) -> Stated | None:
    """A money unit the form states for the whole sheet: 单位：万元 above the header, （万元） in the title."""
    metadata = context.get("metadata") or {}
    if metadata.get("单位"):
        return Stated("unit", to_halfwidth(str(metadata["单位"])).strip(), "metadata", f"单位: {metadata['单位']}")
    if context.get("unit"):
        return Stated("unit", to_halfwidth(str(context["unit"])).strip(), "title", f"单位：{context['unit']}")
    for source, text in _texts(context, file_name):
        simple = simplified(to_halfwidth(text))
        units = {m["unit"] for m in _BRACKET_UNIT.finditer(simple)} | {m["unit"] for m in _UNIT_SAID.finditer(simple)}
        if len(units) == 1:
            return Stated("unit", units.pop(), source, text)
    return None


@cache
def _places(province_code: str) -> tuple[tuple[str, str, str], ...]:
    """(name, code, level) of the province's counties and prefectures, longest name first."""
    anywhere = province_code in (None, "", MINISTRY_CODE)
    out = [
        (c.county_name, c.county_code, "county")
        for c in counties().values()
        if anywhere or c.province_code == province_code
    ]
    out += [
        (p.prefecture_name, p.prefecture_code, "prefecture")
        for p in prefectures().values()
        if anywhere or p.province_code == province_code
    ]
    return tuple(sorted(out, key=lambda p: -len(p[0])))


def stated_area(context: dict, file_name: str, province_code: str) -> Stated | None:
    """The county or prefecture a title (or file name) names as the reporting area, when it names one.

    A county and the prefecture it lies in (吉安市遂川县) are one area, the county; two counties are none.
    """
    for source, text in _texts(context, file_name):
        found: dict[str, tuple[str, str]] = {}
        for variant in dict.fromkeys((text, simplified(text))):
            rest = variant
            for name, code, level in _places(province_code):
                if len(name) >= 3 and name in rest:  # 城区, 郊区: two-letter names are words in titles too
                    found[code] = (name, level)
                    rest = rest.replace(name, "\x00")
        counties_named = [c for c, (_, level) in found.items() if level == "county"]
        prefectures_named = [c for c, (_, level) in found.items() if level == "prefecture"]
        if len(counties_named) == 1 and all(p[:4] == counties_named[0][:4] for p in prefectures_named):
            return Stated("county", found[counties_named[0]][0], source, text)
        if not counties_named and len(prefectures_named) == 1:
            return Stated("area", found[prefectures_named[0]][0], source, text)
    return None


def stated_values(dataset: str | None, context: dict, file_name: str, province_code: str) -> dict[str, Stated]:
    """Every value the form states outside its header, by field (year, fund_type, fund_level, unit, county/area)."""
    out: dict[str, Stated] = {}
    year = stated_year(context, file_name)
    if year:
        out["year"] = year
    if dataset:
        out.update(stated_fund(dataset, context, file_name))
    unit = stated_unit(context, file_name)
    if unit and money_factor(unit.value):
        out["unit"] = unit
    area = stated_area(context, file_name, province_code)
    if area:
        out[area.field] = area
    return out
