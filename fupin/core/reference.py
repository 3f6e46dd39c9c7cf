"""Reference data: divisions from python-stdnum's code list, areas, and the county resolver.

The national division list (GB/T 2260 with validity years) ships with python-stdnum as
``stdnum/cn/loc.dat``; we read it rather than type codes.  Areas (which provinces,
prefectures and counties form the Luoxiao area or the 三区三州) are policy, not a code list, so they live
in ``seeds/areas.csv`` (or ``<home>/config/areas.csv``), expanded to counties here.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from fupin.core.chinese import simplified

# Regions as the NBS poverty-monitoring reports group provinces (东部/中部/西部): the west is
# the 12 provinces of the Western Development programme, where the exit threshold is 3%.
WEST = {"15", "45", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65"}
CENTRAL = {"14", "22", "23", "34", "36", "41", "42", "43"}
EXIT_THRESHOLD = {"east": 0.02, "central": 0.02, "west": 0.03}
# the key figures of each area (each area shows those it has): what `fupin run` ends with and the report opens
# with — the published figures at a glance; `fupin indicators` prints the whole table
KEY_INDICATORS = (
    "civil_affairs_funds",
    "civil_affairs_funds_growth",
    "poverty_incidence",
    "social_org_funds_landed",
    "grant_funds",
    "grant_households",
    "grant_amount_per_household",
    "social_service_projects",
    "social_service_funds",
    "training_sessions",
    "training_organisations",
)

PROVINCE_PINYIN = {
    "11": "beijing",
    "12": "tianjin",
    "13": "hebei",
    "14": "shanxi",
    "15": "neimenggu",
    "21": "liaoning",
    "22": "jilin",
    "23": "heilongjiang",
    "31": "shanghai",
    "32": "jiangsu",
    "33": "zhejiang",
    "34": "anhui",
    "35": "fujian",
    "36": "jiangxi",
    "37": "shandong",
    "41": "henan",
    "42": "hubei",
    "43": "hunan",
    "44": "guangdong",
    "45": "guangxi",
    "46": "hainan",
    "50": "chongqing",
    "51": "sichuan",
    "52": "guizhou",
    "53": "yunnan",
    "54": "xizang",
    "61": "shaanxi",
    "62": "gansu",
    "63": "qinghai",
    "64": "ningxia",
    "65": "xinjiang",
}

# the Ministry's own departments (部本级) send lists that span provinces (the social-service projects, the
# trainings it holds): their source is this code, and their rows may name a county of any province
MINISTRY_CODE = "00"
MINISTRY_NAMES = ("00", "民政部", "部本级", "mca", "minzhengbu")

_PERIOD = re.compile(r"^\[(\d{4})?-(\d{4})?\](.+)$")
_SUFFIXES = ("自治县", "自治旗", "林区", "特区", "县", "市", "区", "旗")


def region_of(province_code: str) -> str:
    """East, central or west for a 2-digit province code."""
    if province_code in WEST:
        return "west"
    if province_code in CENTRAL:
        return "central"
    return "east"


def stem(name: str) -> str:
    """A county name without its 县/市/区 suffix: 遂川县 → 遂川, 南康市 → 南康."""
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


@dataclass(frozen=True)
class NamePeriod:
    name: str
    start: int | None
    end: int | None


@dataclass
class Division:
    code: str
    periods: list[NamePeriod] = field(default_factory=list)

    @property
    def current(self) -> bool:
        return bool(self.periods) and self.periods[-1].end is None

    @property
    def name(self) -> str:
        return self.periods[-1].name


def _parse_periods(raw: str) -> list[NamePeriod]:
    periods = []
    for part in raw.split(","):
        m = _PERIOD.match(part)
        if m:
            start, end, name = m.groups()
            periods.append(NamePeriod(name, int(start) if start else None, int(end) if end else None))
        else:
            periods.append(NamePeriod(part, None, None))
    return periods


@cache
def divisions() -> dict[str, Division]:
    """Every province, prefecture and county code in stdnum's list, with its names over time."""
    text = resources.files("stdnum").joinpath("cn/loc.dat").read_text(encoding="utf-8")
    out: dict[str, Division] = {}
    province = ""
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = re.match(r"^(\s*)(\d+)\s+(?:province|county)=\"(.*)\"$", line)
        if not m:
            continue
        indent, digits, raw = m.groups()
        if not indent:
            province = digits
            out[province] = Division(province, _parse_periods(raw))
            continue
        code = province + digits
        out[code] = Division(code, _parse_periods(raw))
    return out


def is_county_level(code: str) -> bool:
    """True for 6-digit county-level codes (not provinces, prefectures or 市辖区 placeholders)."""
    return len(code) == 6 and not code.endswith("00")


@dataclass(frozen=True)
class County:
    county_code: str
    county_name: str
    prefecture_code: str
    prefecture_name: str
    province_code: str
    province_name: str
    region: str


@cache
def counties() -> dict[str, County]:
    """Current county-level divisions keyed by code."""
    divs = divisions()
    out = {}
    for code, div in divs.items():
        if not is_county_level(code) or not div.current or div.name == "市辖区":
            continue
        prov = code[:2]
        pref_code = code[:4] + "00"
        pref = divs.get(pref_code)
        pref_name = pref.name if pref and pref.current else divs[prov + "0000"].name
        prov_name = divs[prov].name if prov in divs else divs[prov + "0000"].name
        out[code] = County(code, div.name, pref_code, pref_name, prov, prov_name, region_of(prov))
    return out


@cache
def provinces() -> dict[str, str]:
    """2-digit province code → current name."""
    divs = divisions()
    return {c: d.name for c, d in divs.items() if len(c) == 2 and d.current}


MINISTRY_NAME = "民政部"


def submitters() -> dict[str, str]:
    """Who sends submissions, code → name, as people read it: the provinces and the Ministry's own source (00)."""
    return {**provinces(), MINISTRY_CODE: MINISTRY_NAME}


@cache
def _by_province_stem() -> dict[tuple[str, str], list[County]]:
    """(province code, name stem) → current counties: successors are looked up, not scanned for."""
    out: dict[tuple[str, str], list[County]] = {}
    for c in counties().values():
        out.setdefault((c.province_code, stem(c.county_name)), []).append(c)
    return out


def _successor(code: str, name: str, current: dict[str, County]) -> str | None:
    """The current county that an abolished code became: same province, same name stem."""
    by_stem, province = _by_province_stem(), code[:2]
    # same stem, or the name plus a suffix (赣县 → 赣县区, whose stem is 赣县)
    pool = {c.county_code: c for c in by_stem.get((province, stem(name)), []) + by_stem.get((province, name), [])}
    candidates = [
        c
        for c in pool.values()
        if (c.county_name == name or c.county_name == name + "区" or stem(c.county_name) == stem(name))
    ]
    if len(candidates) > 1:
        same_pref = [c for c in candidates if c.county_code[:4] == code[:4]]
        candidates = same_pref or candidates
    return candidates[0].county_code if len(candidates) == 1 else None


@cache
def _peoples() -> frozenset[str]:
    """The peoples autonomous divisions are named after, read from the division list itself.

    In 靖州苗族侗族自治县 the people after the first 族 (侗) is delimited on both sides; every such name,
    over all divisions and years, gives the list. The first people of a name (苗 here) is then told
    apart from the place (靖州) by this list.
    """
    found: set[str] = set()
    for division in divisions().values():
        for period in division.periods:
            if "自治" in period.name:
                found.update(s for s in period.name[: period.name.index("自治")].split("族")[1:] if s)
    return frozenset(found)


def autonomous_roots(name: str) -> list[str]:
    """The place part of an autonomous county's name, as people shorten it: 景东彝族自治县 → [景东].

    Where the division list names no people that tells place from people (察布查尔锡伯自治县), every
    split that leaves two characters or more is given: a short name two counties could bear is then
    ambiguous and refused, never guessed.
    """
    if "自治" not in name or not name.endswith(("县", "旗")):
        return []
    first = name[: name.index("自治")].split("族")[0]
    known = [k for k in range(2, len(first)) if first[k:] in _peoples()]
    if known:
        return [first[: known[0]]]
    # 东乡族自治县 is called 东乡县: a name that is its people's alone keeps it whole
    return [first[:k] for k in range(2, len(first) + 1)]


# what is not a county-level division although forms list it beside counties: its figures belong to a county
NOT_COUNTY_UNITS = (
    "国有林场",
    "林场",
    "经济技术开发区",
    "高新技术产业开发区",
    "开发区",
    "高新区",
    "示范区",
    "试验区",
    "管理区",
    "垦殖场",
    "农场",
    "工业园",
    "产业园",
    "风景区",
    "风景名胜区",
    "旅游区",
    "度假区",
    "保护区",
)


def not_a_county_unit(value: str) -> str | None:
    """The word of ``NOT_COUNTY_UNITS`` that an unresolved name carries (井冈山管理局 carries none)."""
    return next((word for word in NOT_COUNTY_UNITS if word in value), None)


@cache
def aliases() -> dict[str, list[tuple[str, str, str]]]:
    """Alias (code or name, old or new) → list of (county_code, province_code, kind)."""
    current = counties()
    out: dict[str, list[tuple[str, str, str]]] = {}

    def add(alias: str, county_code: str, kind: str) -> None:
        entry = (county_code, county_code[:2], kind)
        bucket = out.setdefault(alias, [])
        if entry[0] not in {e[0] for e in bucket}:
            bucket.append(entry)

    for c in current.values():
        add(c.county_code, c.county_code, "code")
        add(c.county_name, c.county_code, "name")
    for c in current.values():
        short = stem(c.county_name)
        if short != c.county_name and len(short) >= 2:
            add(short, c.county_code, "short_name")
    for c in current.values():  # 景东县 and 景东 for 景东彝族自治县: the name without its peoples and autonomy
        for root in autonomous_roots(c.county_name):
            add(root + c.county_name[-1], c.county_code, "short_name")
            add(root, c.county_code, "short_name")
    for code, div in divisions().items():
        if not is_county_level(code) or div.name == "市辖区":
            continue
        target = code if code in current else _successor(code, div.name, current)
        if target is None:
            continue
        if code != target:
            add(code, target, "old_code")
        for period in div.periods:
            if period.name != current[target].county_name and period.name != "市辖区":
                add(period.name, target, "old_name")
                short = stem(period.name)
                if len(short) >= 2 and short not in out:
                    add(short, target, "old_short_name")
    return out


@dataclass(frozen=True)
class Resolution:
    county_code: str | None
    reason: str | None = None
    code: str | None = None  # machine code of the reason, for engineers and tests
    prefecture_code: str | None = None  # a whole prefecture (resolve_target_pair), 6 digits: 513400


def _clean_code(value: str) -> str:
    value = value.strip()
    if re.fullmatch(r"\d{6}\.0+", value):
        value = value.split(".")[0]
    if re.fullmatch(r"\d{12}", value):  # 12-digit statistical codes: the first six are the county
        value = value[:6]
    return value


def resolve_county(value: str | None, province_code: str | None) -> Resolution:
    """Resolve a county name or code as submitted to its current 6-digit code in the province (None: any)."""
    if value is None or not str(value).strip():
        return Resolution(None, "县名或县代码为空：请填写县名或县代码", "county_empty")
    raw = re.sub(r"\s+", "", str(value))  # 汝 城 县: spaces inside a name go
    key = _clean_code(raw)
    hits = aliases().get(key, [])
    if not hits and not key.isdigit():
        hits = aliases().get(stem(key), [])
    if not hits and not key.isascii():  # 遂川縣: traditional characters and variants, read as simplified
        simple = simplified(key)
        hits = aliases().get(simple, []) or aliases().get(stem(simple), [])
    if not hits and (word := not_a_county_unit(simplified(key))):
        return Resolution(
            None,
            f"「{value}」是{word}，不是县级行政区划：请把它的数据并入所在的县（市、区）填报，或删去这一行",
            "not_a_county_unit",
        )
    if not hits:
        return Resolution(
            None,
            f"「{value}」不是现行或曾用的县名、县代码：请核对县名（如 遂川县）或填写 6 位县代码",
            "county_unknown",
        )
    local = [h for h in hits if province_code in (None, MINISTRY_CODE) or h[1] == province_code]
    if len(local) == 1:
        return Resolution(local[0][0])
    if len(local) > 1:
        # exact names beat stems: 'X县' submitted resolves to X县 even if X市 shares the stem
        exact = [h for h in local if h[2] in ("code", "name", "old_code", "old_name")]
        if len(exact) == 1:
            return Resolution(exact[0][0])
        names = "、".join(f"{counties()[h[0]].county_name} {h[0]}" for h in local)
        return Resolution(
            None, f"「{value}」可能是 {names} 中的任一个：请写全县名或填写 6 位县代码", "county_ambiguous"
        )
    other = counties()[hits[0][0]]
    return Resolution(
        None,
        f"「{value}」是{other.province_name}的{other.county_name}（{other.county_code}），"
        f"不属于报送省份{provinces().get(province_code, province_code)}：请核对县名或县代码，"
        "外省的数据请由该省报送",
        "county_other_province",
    )


def _code_form(value: str) -> bool:
    """True when a submitted code looks like a division code at all (6 or 12 digits, maybe '.0')."""
    return re.fullmatch(r"\d{6}", _clean_code(re.sub(r"\s+", "", value))) is not None


def resolve_county_pair(code: str | None, name: str | None, province_code: str | None) -> Resolution:
    """A row's county from its code and its name, which must agree when both are given.

    A malformed code, a name that resolves to nothing while the code does (茶林县 beside 430224), or a
    code and a name of two different counties is refused with a reason naming both: guessing which of
    the two the clerk meant could put the row's figures on the wrong county. Former codes and names of
    the same county agree (360721 赣县 and 赣县区 are one county).
    """
    code = None if code is None or not str(code).strip() else str(code).strip()
    name = None if name is None or not str(name).strip() else str(name).strip()
    if code is None:
        return resolve_county(name, province_code)
    if not _code_form(code):
        beside = f"，县名为「{name}」" if name else ""
        return Resolution(
            None, f"县代码「{code}」不是6位行政区划代码{beside}；请填写正确的县代码", "county_code_malformed"
        )
    by_code = resolve_county(code, province_code)
    if name is None or by_code.county_code is None:
        return by_code
    by_name = resolve_county(name, province_code)
    county = counties()[by_code.county_code]
    if by_name.county_code is None:
        if by_code.county_code in (by_name.reason or ""):  # an ambiguous short name that includes the code's county
            return by_code
        return Resolution(
            None,
            f"县代码 {code}（{county.county_name}）与县名「{name}」不一致：县名无法识别；请核对县名和县代码",
            "county_name_code_mismatch",
        )
    if by_name.county_code != by_code.county_code:
        other = counties()[by_name.county_code]
        return Resolution(
            None,
            f"县代码 {code}（{county.county_name}）与县名「{name}」（{other.county_name} {other.county_code}）"
            "不是同一个县；请核对县名和县代码",
            "county_name_code_mismatch",
        )
    return by_code


def resolve_province(value: str) -> str:
    """A province given as 2-digit code, Chinese name (with or without 省) or pinyin → code."""
    v = value.strip()
    if v.lower() in MINISTRY_NAMES:
        return MINISTRY_CODE
    if re.fullmatch(r"\d{2}(0000)?", v):
        code = v[:2]
        if code in provinces():
            return code
    low = v.lower()
    for code, pinyin in PROVINCE_PINYIN.items():
        if low == pinyin:
            return code
    for code, name in provinces().items():
        short = re.sub(r"(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$", "", name)
        if v in (name, short):
            return code
    raise ValueError(f"unknown province '{value}': give a 2-digit code, a Chinese name or pinyin")


# Prefectures (地级): some programmes target a whole prefecture — a training held "in 凉山州", a project
# serving 和田地区 — not one county. Their names are read as exactly as counties' are: a full name, the
# usual short forms (凉山州 for 凉山彝族自治州), or a code; a bare root (凉山, 阿克苏) only when no county
# could be meant, since 阿克苏 is a county-level city as well as a prefecture.

_NOT_PREFECTURES = ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划")
# the peoples named in autonomous prefectures' names, longest first: 凉山彝族自治州 → 凉山
_PEOPLES = tuple(
    sorted(
        "彝族 藏族 羌族 苗族 侗族 土家族 布依族 白族 傣族 景颇族 傈僳族 哈尼族 壮族 回族 朝鲜族 蒙古族 蒙古 "
        "哈萨克 柯尔克孜 土族 撒拉族 东乡族 保安族 裕固族".split(),
        key=len,
        reverse=True,
    )
)


@dataclass(frozen=True)
class Prefecture:
    prefecture_code: str  # 6 digits ending 00, as core.dim_county.prefecture_code
    prefecture_name: str
    province_code: str
    province_name: str
    county_codes: tuple[str, ...]


@cache
def prefectures() -> dict[str, Prefecture]:
    """Current prefecture-level divisions that have counties, keyed by 6-digit code (513400)."""
    divs, by_prefix = divisions(), {}
    for county in counties().values():
        by_prefix.setdefault(county.county_code[:4], []).append(county.county_code)
    out = {}
    for code, div in divs.items():
        if len(code) != 6 or not code.endswith("00") or code.endswith("0000") or not div.current:
            continue
        if div.name in _NOT_PREFECTURES or code[:4] not in by_prefix:
            continue
        province = code[:2]
        out[code] = Prefecture(code, div.name, province, provinces()[province], tuple(sorted(by_prefix[code[:4]])))
    return out


def _prefecture_root(name: str) -> str:
    """A prefecture's name without its level and people: 凉山彝族自治州 → 凉山, 和田地区 → 和田, 赣州市 → 赣州."""
    for suffix in ("自治州", "地区", "盟", "市", "州"):
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    changed = True
    while changed:
        changed = False
        for people in _PEOPLES:
            if name.endswith(people) and len(name) > len(people) + 1:
                name, changed = name[: -len(people)], True
                break
    return name


@cache
def prefecture_aliases() -> dict[str, list[tuple[str, str]]]:
    """Alias → list of (prefecture_code, kind): code (513400 and 5134), name, short_name (凉山州), root (凉山)."""
    out: dict[str, list[tuple[str, str]]] = {}

    def add(alias: str, code: str, kind: str) -> None:
        bucket = out.setdefault(alias, [])
        if code not in {c for c, _ in bucket}:
            bucket.append((code, kind))

    for code, p in prefectures().items():
        add(code, code, "code")
        add(code[:4], code, "code")
        add(p.prefecture_name, code, "name")
        root = _prefecture_root(p.prefecture_name)
        if p.prefecture_name.endswith("自治州"):
            add(root + "州", code, "short_name")
        if len(root) >= 2 and root != p.prefecture_name:
            add(root, code, "root")
    return out


def _prefecture_hits(value: str, province_code: str | None, kinds: tuple[str, ...]) -> list[str]:
    """Prefectures the value names by one of ``kinds``, in the province (None or the Ministry: any)."""
    key = _clean_code(re.sub(r"\s+", "", value))  # 5134 00 000000 and 513400.0 read as 513400
    hits = [code for code, kind in prefecture_aliases().get(key, []) if kind in kinds]
    return [c for c in hits if province_code in (None, MINISTRY_CODE) or c[:2] == province_code]


def _target_unknown(value: str) -> Resolution:
    return Resolution(
        None,
        f"「{value}」不是现行或曾用的县名、县代码，也不是地州（市）名或代码：请核对名称（如 遂川县、凉山州）"
        "或填写 6 位行政区划代码",
        "county_unknown",
    )


def resolve_target(value: str | None, province_code: str | None) -> Resolution:
    """A county or a whole prefecture as submitted: its current county code, or its prefecture code.

    A prefecture's code, full name or short form (凉山州, 和田地区) is the prefecture; anything else is read
    as a county first. A bare root both a county and a prefecture could bear (阿克苏: 阿克苏市 or
    阿克苏地区) is refused as ambiguous rather than guessed.
    """
    if value is None or not str(value).strip():
        return resolve_county(value, province_code)
    value = str(value).strip()
    exact = _prefecture_hits(value, province_code, ("code", "name", "short_name"))
    if len(exact) == 1:
        return Resolution(None, prefecture_code=exact[0])
    county = resolve_county(value, province_code)
    roots = _prefecture_hits(value, province_code, ("root",))
    if county.county_code:
        kinds = {kind for code, _, kind in aliases().get(_clean_code(re.sub(r"\s+", "", value)), [])}
        if roots and not kinds & {"code", "name", "old_code", "old_name"}:
            return _target_ambiguous(value, [counties()[county.county_code].county_name], roots)
        return county
    if county.code == "county_ambiguous" and roots:  # 和田: 和田市, 和田县 or 和田地区
        key = _clean_code(re.sub(r"\s+", "", value))
        hits = aliases().get(key) or aliases().get(stem(key), [])
        local = [c for c, p, _ in hits if province_code in (None, MINISTRY_CODE) or p == province_code]
        return _target_ambiguous(value, [f"{counties()[c].county_name}" for c in local], roots)
    if county.code == "county_unknown":
        if len(roots) == 1:
            return Resolution(None, prefecture_code=roots[0])
        if roots:
            return _target_ambiguous(value, [], roots)
        elsewhere = _prefecture_hits(value, None, ("code", "name", "short_name", "root"))
        if len(elsewhere) == 1 and province_code not in (None, MINISTRY_CODE):
            other = prefectures()[elsewhere[0]]
            return Resolution(
                None,
                f"「{value}」是{other.province_name}的{other.prefecture_name}（{other.prefecture_code}），"
                f"不属于报送省份{provinces().get(province_code, province_code)}：请核对名称或代码，"
                "外省的数据请由该省报送",
                "county_other_province",
            )
        return _target_unknown(value)
    return county


def _target_ambiguous(value: str, county_names: list[str], prefecture_codes: list[str]) -> Resolution:
    candidates = [*county_names, *(prefectures()[c].prefecture_name for c in prefecture_codes)]
    return Resolution(
        None,
        f"「{value}」可能是 {'、'.join(candidates)} 中的任一个：请写全称（如 {candidates[-1]}）或填写 6 位行政区划代码",
        "county_ambiguous",
    )


def resolve_target_pair(code: str | None, name: str | None, province_code: str | None) -> Resolution:
    """``resolve_county_pair`` for datasets whose rows may target a whole prefecture (``resolve_target``)."""
    code = None if code is None or not str(code).strip() else str(code).strip()
    name = None if name is None or not str(name).strip() else str(name).strip()
    if code is None:
        return resolve_target(name, province_code)
    by_code = resolve_target(code, province_code)
    if by_code.prefecture_code is None:  # a county's code (or a refused one): the county rules, names included
        if by_code.county_code and name is not None and resolve_target(name, province_code).prefecture_code:
            return _pair_mismatch(code, counties()[by_code.county_code].county_name, name)
        return resolve_county_pair(code, name, province_code) if by_code.county_code else by_code
    if name is None:
        return by_code
    by_name = resolve_target(name, province_code)
    if by_name.prefecture_code != by_code.prefecture_code:
        return _pair_mismatch(code, prefectures()[by_code.prefecture_code].prefecture_name, name)
    return by_code


def _pair_mismatch(code: str, named: str, name: str) -> Resolution:
    return Resolution(
        None,
        f"代码 {code}（{named}）与名称「{name}」不是同一个地方；请核对名称和代码",
        "county_name_code_mismatch",
    )


@dataclass(frozen=True)
class Area:
    """A policy area as the Ministry defines it: by whole provinces, prefectures and/or single counties."""

    area_code: str
    area_name: str
    from_year: int | None
    to_year: int | None
    show_counties: bool  # its counties get rows of their own in the headline (the designated counties)


@dataclass(frozen=True)
class AreaCounty:
    area_code: str
    area_name: str
    county_code: str
    level: str  # province, prefecture or county: how the area's definition names this county
    defined_by: str  # the code in the definition (54, 5134, 360827 …)
    from_year: int | None = None  # the years the area applies (its row in the areas file); null: open
    to_year: int | None = None


AREA_LEVELS = ("province", "prefecture", "county")


def areas_file(override: str | os.PathLike | None = None) -> Path:
    """The areas' reference file: ``override`` (e.g. <home>/config/areas.csv), else the one shipped in seeds/."""
    if override and Path(override).exists():
        return Path(override)
    return Path(str(resources.files("fupin.warehouse").joinpath("seeds/areas.csv")))


@cache
def _areas(path: Path) -> tuple[list[Area], list[AreaCounty]]:
    current = counties()
    areas: dict[str, Area] = {}
    members: dict[tuple[str, str], AreaCounty] = {}
    with open(path, encoding="utf-8", newline="") as fh:
        for n, r in enumerate(csv.DictReader(fh), start=2):
            where = f"{path.name} line {n}"
            level, code = r["level"].strip(), r["code"].strip()
            if level not in AREA_LEVELS:
                raise ValueError(f"{where}: level '{level}' is not one of {', '.join(AREA_LEVELS)}")
            if level == "province":
                hits = [c for c in current if c[:2] == code] if len(code) == 2 and code in provinces() else []
            elif level == "prefecture":
                pref = code[:4]
                known = divisions().get(pref + "00")
                hits = [c for c in current if c[:4] == pref] if len(code) in (4, 6) and known and known.current else []
            else:
                hits = [code] if code in current else []
            if not hits:  # a code that does not resolve is an error, never a guess: areas must name real divisions
                raise ValueError(f"{where}: {level} code '{code}' ({r.get('name', '')}) is not a current division")
            area = areas.setdefault(
                r["area_code"],
                Area(
                    r["area_code"],
                    r["area_name"],
                    int(r["from_year"]) if r.get("from_year") else None,
                    int(r["to_year"]) if r.get("to_year") else None,
                    (r.get("show_counties") or "").strip().lower() == "true",
                ),
            )
            for county in hits:  # a county named twice (木里: 凉山州 and the Tibetan areas) counts once
                members.setdefault(
                    (area.area_code, county),
                    AreaCounty(area.area_code, area.area_name, county, level, code, area.from_year, area.to_year),
                )
    return list(areas.values()), sorted(members.values(), key=lambda a: (a.area_code, a.county_code))


def areas(override: str | os.PathLike | None = None) -> list[Area]:
    """Every area of the reference file, checked against the division list."""
    return _areas(areas_file(override))[0]


def area_counties(override: str | os.PathLike | None = None) -> list[AreaCounty]:
    """Every area expanded to its current counties, with the level each came from."""
    return _areas(areas_file(override))[1]


@dataclass(frozen=True)
class AreaPrefecture:
    area_code: str
    area_name: str
    prefecture_code: str
    level: str  # province, prefecture or county: how the area's definition names the prefecture's counties
    defined_by: str  # the definition's code that brings it in; several (each county's) joined by a comma
    from_year: int | None = None
    to_year: int | None = None


def area_prefectures(override: str | os.PathLike | None = None) -> list[AreaPrefecture]:
    """Every area × prefecture whose current counties all lie in the area.

    A row targeting a whole prefecture (a training held in 凉山州) counts in an area only when the area
    holds the whole prefecture; an area that holds some of its counties cannot be given a share of it.
    """
    members: dict[str, dict[str, AreaCounty]] = {}
    for a in area_counties(override):
        members.setdefault(a.area_code, {})[a.county_code] = a
    out = []
    for area in areas(override):
        held = members.get(area.area_code, {})
        for p in prefectures().values():
            if not all(c in held for c in p.county_codes):
                continue
            rows = [held[c] for c in p.county_codes]
            levels = {r.level for r in rows}
            level = next(lv for lv in AREA_LEVELS if lv in levels)  # the widest level that names it
            defined_by = ",".join(sorted({r.defined_by for r in rows if r.level == level}))
            out.append(
                AreaPrefecture(
                    area.area_code, area.area_name, p.prefecture_code, level, defined_by, area.from_year, area.to_year
                )
            )
    return sorted(out, key=lambda a: (a.area_code, a.prefecture_code))
