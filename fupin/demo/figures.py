"""Synthetic per-county numbers for the demo inbox, built so the aggregates match the seed.

Every per-county value here is invented; only the aggregates are real: they reproduce
figures F1, F2 and F4–F11 of the Ministry's Q4-2018 press release. Each public function
draws from its own ``random.Random(2018)``, so the output is the same on every call.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from fupin.core.reference import area_counties, area_prefectures, counties
from fupin.demo.registry import county_households

YEARS: tuple[int, ...] = (2015, 2016, 2017)
SEED = 2018


@dataclass(frozen=True)
class County:
    """A Luoxiao-area poverty county under its current code and name."""

    code: str
    name: str

    @property
    def province(self) -> str:
        """Two-digit province code (36 Jiangxi, 43 Hunan)."""
        return self.code[:2]


COUNTIES: tuple[County, ...] = (
    County("360321", "莲花县"),
    County("360704", "赣县区"),
    County("360724", "上犹县"),
    County("360726", "安远县"),
    County("360730", "宁都县"),
    County("360731", "于都县"),
    County("360732", "兴国县"),
    County("360733", "会昌县"),
    County("360734", "寻乌县"),
    County("360735", "石城县"),
    County("360781", "瑞金市"),
    County("360703", "南康区"),
    County("360827", "遂川县"),
    County("360828", "万安县"),
    County("360830", "永新县"),
    County("360881", "井冈山市"),
    County("361025", "乐安县"),
    County("430224", "茶陵县"),
    County("430225", "炎陵县"),
    County("431022", "宜章县"),
    County("431026", "汝城县"),
    County("431027", "桂东县"),
    County("431028", "安仁县"),
)
SUICHUAN, LIANHUA, JINGGANGSHAN = "360827", "360321", "360881"
DESIGNATED: tuple[str, ...] = (SUICHUAN, LIANHUA)

# Fund targets (yuan unless the name says otherwise).
AREA_CIVIL_TOTAL_YUAN = 84e8  # F6: about 84亿元 over 2015–2017
AREA_CIVIL_GROWTH = 1.24  # F6: 24% a year
DESIGNATED_CIVIL_TOTAL_YUAN = 7.06e8  # F1: 7.06亿元 over 2015–2017
DESIGNATED_CIVIL_GROWTH = 1.257  # F1: 25.7% a year
CENTRAL_BUDGET_TOTAL_WAN = 22489  # F7
LOTTERY_CENTRAL_TOTAL_YUAN = 446_000_000  # F8: 4.46亿元

# Jiangxi forms are in 万元 with 2 decimals, so every Jiangxi amount is a multiple of 100 yuan.
HUNDRED_YUAN = Decimal(100)
FEN = Decimal("0.01")

# Poverty targets: part-of-area incidence in percent, and the figures fixed by the seed.
INCIDENCE_TARGET_PCT: dict[str, dict[int, Decimal]] = {
    "36": {2015: Decimal("9.86"), 2016: Decimal("6.90"), 2017: Decimal("4.36")},  # F10
    "43": {2015: Decimal("10.15"), 2016: Decimal("6.60"), 2017: Decimal("3.65")},  # F11
}
SUICHUAN_2017 = (536_340, 17_002, 68_386)  # rural population, poor, lifted (F4: 3.17%)
LIANHUA_2017 = (231_690, 6_580, 33_065)  # F5: 2.84%
JINGGANGSHAN_2016_PCT = Decimal("1.60")  # exited February 2017 at 1.6%
# Counties other than 井冈山 that end 2017 under the 2% exit threshold.
UNDER_THRESHOLD_2017: tuple[str, ...] = ("360781", "360735", "430225")

SOCIAL_ORG_TOTAL_TENTHS_WAN = 54_309  # F2: 5430.9万元, in 0.1万元
SOCIAL_ORG_COUNT = 48  # F2
SOCIAL_ORG_PROJECTS = 60

TRAINING_PROGRAMME = "养老护理职业技能培训"
TRAINING_YEAR = 2016
# Five sessions in Jiangxi counties, then three in Hunan counties.
TRAINING_COUNTIES: tuple[str, ...] = (
    SUICHUAN,
    LIANHUA,
    JINGGANGSHAN,
    "360830",
    "360732",
    "430224",
    "430225",
    "431026",
)
TRAINING_TRAINEES = 1003  # F9
TRAINING_TRAINEES_POOR = 498  # F9: "nearly half"


@dataclass(frozen=True)
class FundAllocation:
    """One county × year × fund type × fund level amount."""

    year: int
    county_code: str
    fund_type: str  # 民政事业费 | 彩票公益金 | 中央预算内投资
    fund_level: str  # 中央 | 省级
    amount_yuan: Decimal


@dataclass(frozen=True)
class PovertyStatus:
    """One county's registered poverty at a year end."""

    year: int
    county_code: str
    rural_population: int
    lifted: int
    poor: int

    @property
    def incidence_pct(self) -> Decimal:
        """Declared incidence: poor / rural population, in percent with 2 decimals."""
        return pct(self.poor, self.rural_population)


@dataclass(frozen=True)
class SocialOrgProject:
    """One organisation's project landed in a designated county in 2018."""

    organisation: str
    category: str
    project: str
    county_code: str
    amount_wan: Decimal
    beneficiaries: int


@dataclass(frozen=True)
class Training:
    """Elderly-care training held in one county."""

    year: int
    programme: str
    county_code: str
    sessions: int
    trainees: int
    trainees_poor: int
    employed: int


def county(code: str) -> County:
    """The county with this current code."""
    return next(c for c in COUNTIES if c.code == code)


def pct(part: int, whole: int) -> Decimal:
    """part / whole in percent, rounded half up to 2 decimals."""
    return (Decimal(part) * 100 / Decimal(whole)).quantize(FEN, rounding=ROUND_HALF_UP)


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split an integer total in proportion to weights, the parts summing exactly to total."""
    scale = total / sum(weights)
    raw = [w * scale for w in weights]
    parts = [math.floor(r) for r in raw]
    by_remainder = sorted(range(len(raw)), key=lambda i: raw[i] - parts[i], reverse=True)
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _geometric_years(total: float, growth: float) -> dict[int, float]:
    """Split a 3-year total into yearly amounts growing by a constant factor."""
    first = total / sum(growth**i for i in range(len(YEARS)))
    return {year: first * growth**i for i, year in enumerate(YEARS)}


def _is_hunan(code: str) -> bool:
    """True for a Hunan county (its forms are in yuan with fen)."""
    return code.startswith("43")


def fund_allocations() -> list[FundAllocation]:
    """All fund rows for the 23 counties, 2015–2017, summing to F1, F6, F7 and F8."""
    rng = random.Random(SEED)
    rows: list[FundAllocation] = []
    codes = [c.code for c in COUNTIES]
    others = [c for c in codes if c not in DESIGNATED]
    area = _geometric_years(AREA_CIVIL_TOTAL_YUAN, AREA_CIVIL_GROWTH)
    designated = _geometric_years(DESIGNATED_CIVIL_TOTAL_YUAN, DESIGNATED_CIVIL_GROWTH)
    suichuan_share = rng.uniform(0.56, 0.62)
    base_weight = {code: rng.uniform(0.6, 1.4) for code in others}
    central_share = {code: rng.uniform(0.60, 0.75) for code in codes}

    def civil(year: int, code: str, hundreds: int) -> None:
        central = round(hundreds * central_share[code] * rng.uniform(0.97, 1.03))
        central_yuan = central * HUNDRED_YUAN
        provincial_yuan = (hundreds - central) * HUNDRED_YUAN
        if _is_hunan(code):
            # Hunan reports to the fen; moving fen between levels keeps the county total.
            shift = rng.randint(1, 9999) * FEN
            central_yuan, provincial_yuan = central_yuan + shift, provincial_yuan - shift
        rows.append(FundAllocation(year, code, "民政事业费", "中央", central_yuan))
        rows.append(FundAllocation(year, code, "民政事业费", "省级", provincial_yuan))

    for year in YEARS:
        area_hundreds = round(area[year] / 100)
        designated_hundreds = round(designated[year] / 100)
        pair = apportion(designated_hundreds, [suichuan_share, 1 - suichuan_share])
        for code, hundreds in zip(DESIGNATED, pair, strict=True):
            civil(year, code, hundreds)
        weights = [base_weight[c] * rng.uniform(0.9, 1.1) for c in others]
        for code, hundreds in zip(others, apportion(area_hundreds - designated_hundreds, weights), strict=True):
            civil(year, code, hundreds)

    cells = [(year, code) for year in YEARS for code in codes]
    budget_wan = apportion(CENTRAL_BUDGET_TOTAL_WAN, [rng.uniform(0.3, 1.7) for _ in cells])
    lottery_hundreds = apportion(LOTTERY_CENTRAL_TOTAL_YUAN // 100, [rng.uniform(0.5, 1.5) for _ in cells])
    for (year, code), wan, hundreds in zip(cells, budget_wan, lottery_hundreds, strict=True):
        rows.append(FundAllocation(year, code, "彩票公益金", "中央", hundreds * HUNDRED_YUAN))
        provincial = rng.randint(500, 6000) * HUNDRED_YUAN  # 5–60万元, not part of F8
        if _is_hunan(code):
            provincial += rng.randint(0, 9999) * FEN
        rows.append(FundAllocation(year, code, "彩票公益金", "省级", provincial))
        rows.append(FundAllocation(year, code, "中央预算内投资", "中央", wan * Decimal(10_000)))
    return sorted(rows, key=lambda r: (r.year, codes.index(r.county_code)))


def _part_poor(total_rural: int, target_pct: Decimal, fixed_poor: int, weights: dict[str, float]) -> dict[str, int]:
    """Poor counts of the free counties so that the part's incidence rounds to target_pct."""
    target = round(float(target_pct) / 100 * total_rural)
    parts = apportion(target - fixed_poor, list(weights.values()))
    return dict(zip(weights, parts, strict=True))


def poverty_status() -> list[PovertyStatus]:
    """Year-end poverty for the 23 counties, 2015–2017, matching F4, F5, F10 and F11."""
    rng = random.Random(SEED)
    codes = [c.code for c in COUNTIES]
    rural = {code: rng.randint(20_000, 80_000) * 10 for code in codes}
    rural[SUICHUAN], rural[LIANHUA] = SUICHUAN_2017[0], LIANHUA_2017[0]
    rural[JINGGANGSHAN] = rng.randint(20_000, 23_000) * 10

    rate17: dict[str, float] = {}
    for code in codes:
        if code == JINGGANGSHAN:
            rate17[code] = rng.uniform(0.011, 0.014)
        elif code in UNDER_THRESHOLD_2017:
            rate17[code] = rng.uniform(0.016, 0.019)
        else:
            rate17[code] = rng.uniform(0.025, 0.065)
    rate15 = {code: rate17[code] * rng.uniform(2.0, 2.8) for code in codes}
    rate15[JINGGANGSHAN] = rng.uniform(0.045, 0.055)
    midway = {code: rng.uniform(0.40, 0.55) for code in codes}

    poor: dict[tuple[int, str], int] = {}
    for province, targets in INCIDENCE_TARGET_PCT.items():
        members = [c for c in codes if c.startswith(province)]
        total_rural = sum(rural[c] for c in members)
        # 2017: the seed's counties and the under-threshold ones are fixed, the rest scale.
        fixed17 = {c: round(rate17[c] * rural[c]) for c in members if c in UNDER_THRESHOLD_2017 or c == JINGGANGSHAN}
        if province == "36":
            fixed17[SUICHUAN], fixed17[LIANHUA] = SUICHUAN_2017[1], LIANHUA_2017[1]
        free17 = {c: rate17[c] * rural[c] for c in members if c not in fixed17}
        year17 = fixed17 | _part_poor(total_rural, targets[2017], sum(fixed17.values()), free17)
        free15 = {c: rate15[c] * rural[c] for c in members}
        year15 = _part_poor(total_rural, targets[2015], 0, free15)
        fixed16 = {}
        if province == "36":
            fixed16[JINGGANGSHAN] = round(float(JINGGANGSHAN_2016_PCT) / 100 * rural[JINGGANGSHAN])
        free16 = {c: year17[c] + midway[c] * (year15[c] - year17[c]) for c in members if c not in fixed16}
        year16 = fixed16 | _part_poor(total_rural, targets[2016], sum(fixed16.values()), free16)
        for year, counts in zip(YEARS, (year15, year16, year17), strict=True):
            poor.update({(year, c): n for c, n in counts.items()})

    baseline = {code: round(poor[2015, code] * rng.uniform(1.5, 1.9)) for code in codes}
    baseline[SUICHUAN] = SUICHUAN_2017[1] + SUICHUAN_2017[2]
    baseline[LIANHUA] = LIANHUA_2017[1] + LIANHUA_2017[2]
    rows = [
        PovertyStatus(year, code, rural[code], baseline[code] - poor[year, code], poor[year, code])
        for year in YEARS
        for code in codes
    ]
    for code in codes:
        falling = [poor[year, code] for year in YEARS]
        if not falling[0] > falling[1] > falling[2] > 0 or baseline[code] <= falling[0]:
            raise AssertionError(f"poverty series of {code} does not fall: {falling}")
    return rows


_REAL_ORGANISATIONS: tuple[str, ...] = (
    "中国社会福利基金会",
    "中国慈善联合会",
    "中国社会福利与养老服务协会",
    "中华慈善总会",
)
_ORG_FIELDS: tuple[str, ...] = (
    "乡村振兴",
    "老年福利",
    "儿童关爱",
    "助学兴教",
    "医疗救助",
    "康复服务",
    "社区服务",
    "社会工作",
    "志愿服务",
    "殡葬服务",
    "婚姻家庭",
)
_ORG_KINDS: tuple[str, ...] = ("基金会", "协会", "促进会", "研究会")
_PROJECT_THEMES: tuple[str, ...] = (
    "困境儿童关爱",
    "农村留守老人关爱",
    "贫困家庭助学",
    "大病医疗救助",
    "残疾人康复",
    "敬老院改造提升",
    "农村幸福院建设",
    "社会工作服务站建设",
    "产业扶贫",
    "饮水安全",
    "村级互助养老",
    "贫困母亲帮扶",
)


def social_organisations() -> list[str]:
    """The 48 national organisations under the Ministry active in the two counties."""
    synthetic = [f"中国{field}{kind}" for kind in _ORG_KINDS for field in _ORG_FIELDS]
    return list(_REAL_ORGANISATIONS) + synthetic[: SOCIAL_ORG_COUNT - len(_REAL_ORGANISATIONS)]


def social_org_projects() -> list[SocialOrgProject]:
    """Projects landed in 遂川县 and 莲花县 in 2018, 5430.9万元 in all (F2)."""
    rng = random.Random(SEED)
    organisations = social_organisations()
    owners = organisations + rng.sample(organisations, SOCIAL_ORG_PROJECTS - len(organisations))
    # Two flagship projects carry the thousands-separator amounts; the rest share the remainder.
    flagship_tenths = [12_800, 10_500]
    rest = apportion(
        SOCIAL_ORG_TOTAL_TENTHS_WAN - sum(flagship_tenths),
        [rng.uniform(0.3, 1.7) for _ in owners[len(flagship_tenths) :]],
    )
    projects: list[SocialOrgProject] = []
    seen: set[tuple[str, str, str]] = set()
    for owner, tenths in zip(owners, flagship_tenths + rest, strict=True):
        code = rng.choice(DESIGNATED)
        theme = rng.choice(_PROJECT_THEMES)
        while (owner, theme, code) in seen:
            theme = rng.choice(_PROJECT_THEMES)
        seen.add((owner, theme, code))
        projects.append(
            SocialOrgProject(
                organisation=owner,
                category="全国性",
                project=f"{county(code).name}{theme}项目",
                county_code=code,
                amount_wan=Decimal(tenths) / 10,
                beneficiaries=rng.randint(40, 3000),
            )
        )
    return projects


def trainings() -> list[Training]:
    """The 2016 elderly-care training sessions in the area: 8 sessions, 1003 trainees (F9)."""
    rng = random.Random(SEED)
    trainees = apportion(TRAINING_TRAINEES, [rng.uniform(0.8, 1.2) for _ in TRAINING_COUNTIES])
    poor = apportion(TRAINING_TRAINEES_POOR, [t * rng.uniform(0.9, 1.1) for t in trainees])
    rows = []
    for code, total, of_poor in zip(TRAINING_COUNTIES, trainees, poor, strict=True):
        employed = round(total * rng.uniform(0.70, 0.90))
        rows.append(Training(TRAINING_YEAR, TRAINING_PROGRAMME, code, 1, total, of_poor, employed))
    return rows


# The designated counties' registries (建档立卡) at end 2017: members add up to F4 and F5. The grant lists below
# pick their households from these, so every grant reconciles with the registry.
REGISTRY_YEAR = 2017
REGISTRIES: dict[str, dict] = {
    SUICHUAN: {"county_name": "遂川县", "lifted": 68_386, "poor": 17_002, "old_code": "362427", "seed": 2017},
    LIANHUA: {"county_name": "莲花县", "lifted": 33_065, "poor": 6_580, "old_code": None, "seed": 5},
}

# F3, the “十百千” action: each year 100万元 to 1000 households of 100 villages in 10 townships, 1000元 each.
GRANT_PROGRAMME = "“十百千”帮扶行动"
GRANT_YEARS: tuple[int, ...] = (2017, 2018)
GRANT_TOWNSHIPS: dict[str, int] = {SUICHUAN: 6, LIANHUA: 4}  # 10 townships in the two designated counties
GRANT_VILLAGES_PER_TOWNSHIP = 10
GRANT_HOUSEHOLDS_PER_VILLAGE = 10
GRANT_AMOUNT_YUAN = Decimal(1000)
# staff donations, party-fee balances and the China Social Welfare Foundation: households paid from each, per year
GRANT_SOURCES: tuple[tuple[str, int], ...] = (("干部职工捐款", 400), ("党费结余", 200), ("中国社会福利基金会", 400))


@dataclass(frozen=True)
class Grant:
    """One household's “十百千” aid in one year, as the county's list names it (the head's name and ID number)."""

    year: int
    county_code: str
    township: str
    village: str
    household_id: str
    head_name: str
    head_id: str
    amount_yuan: Decimal
    funding_source: str


def grants() -> list[Grant]:
    """The “十百千” recipients of 2017 and 2018 (F3), drawn from the designated counties' registries.

    Each year takes the same townships and other villages: the first ten villages with at least ten
    households in 2017, the next ten in 2018, ten households in each.
    """
    rows: list[Grant] = []
    for code, townships in GRANT_TOWNSHIPS.items():
        spec = REGISTRIES[code]
        table = county_households(code, year=REGISTRY_YEAR, **spec).to_pylist()
        by_village: dict[tuple[str, str], list[dict]] = {}
        for household in table:
            by_village.setdefault((household["乡镇"], household["行政村"]), []).append(household)

        def number(text: str) -> int:
            return int("".join(ch for ch in text if ch.isdigit()))

        chosen = sorted({t for t, _ in by_village}, key=number)[:townships]
        for township in chosen:
            villages = sorted(
                (v for (t, v), hs in by_village.items() if t == township and len(hs) >= GRANT_HOUSEHOLDS_PER_VILLAGE),
                key=number,
            )
            for k, year in enumerate(GRANT_YEARS):
                block = villages[k * GRANT_VILLAGES_PER_TOWNSHIP : (k + 1) * GRANT_VILLAGES_PER_TOWNSHIP]
                if len(block) < GRANT_VILLAGES_PER_TOWNSHIP:
                    raise AssertionError(f"{code} {township}: too few villages for the {year} list")
                for village in block:
                    for h in by_village[(township, village)][:GRANT_HOUSEHOLDS_PER_VILLAGE]:
                        rows.append(
                            Grant(
                                year,
                                code,
                                township,
                                village,
                                h["户编号"],
                                h["户主姓名"],
                                h["户主身份证号码"],
                                GRANT_AMOUNT_YUAN,
                                "",
                            )
                        )
    out = []
    for year in GRANT_YEARS:
        of_year = [g for g in rows if g.year == year]
        sources = [name for name, n in GRANT_SOURCES for _ in range(n)]
        out += [Grant(**{**g.__dict__, "funding_source": source}) for g, source in zip(of_year, sources, strict=True)]
    return out


# F12: central-finance social-service projects for the 三区三州, 2017–2018: 298 projects, 1.04亿元.
SOCIAL_SERVICE_AREA = "sanqu_sanzhou"
SOCIAL_SERVICE_TAG = "三区三州"
SOCIAL_SERVICE_PROJECTS: dict[int, int] = {2017: 142, 2018: 156}  # 298 in all
SOCIAL_SERVICE_TOTAL_TENTHS_WAN = 104_000  # 1.04亿元 = 10400万元, in 0.1万元
_SERVICE_THEMES: tuple[str, ...] = (
    "困境儿童关爱保护",
    "农村留守老人关爱",
    "社会工作专业人才培养",
    "贫困家庭精准帮扶",
    "残疾人社区康复",
    "社区社会组织培育",
    "易地搬迁社区融入",
    "特困人员照料护理",
)
_SERVICE_ORGANISATION_KINDS: tuple[str, ...] = ("社会工作服务中心", "慈善基金会", "志愿者协会", "社会服务中心")


@dataclass(frozen=True)
class SocialServiceProject:
    """One approved project of the Ministry's central-finance social-service programme."""

    year: int
    project: str
    organisation: str
    county_code: str  # the county served, or the whole prefecture's code (513400)
    county_name: str  # its name as the list writes it
    area_tag: str
    amount_wan: Decimal


def social_service_projects() -> list[SocialServiceProject]:
    """298 projects over the 三区三州's counties, 2017–2018, 10400万元 in all (F12).

    Every tenth project serves its county's whole prefecture (e.g. 凉山彝族自治州 513400), as the Ministry's
    lists name some projects by prefecture.
    """
    rng = random.Random(SEED)
    pool = sorted({a.county_code for a in area_counties() if a.area_code == SOCIAL_SERVICE_AREA})
    whole = {a.prefecture_code for a in area_prefectures() if a.area_code == SOCIAL_SERVICE_AREA}
    names = counties()
    slots = [(year, i) for year, n in SOCIAL_SERVICE_PROJECTS.items() for i in range(n)]
    tenths = apportion(SOCIAL_SERVICE_TOTAL_TENTHS_WAN, [rng.uniform(0.4, 1.6) for _ in slots])
    out = []
    for (year, i), amount in zip(slots, tenths, strict=True):
        code = rng.choice(pool)
        county_name = names[code].county_name
        theme = _SERVICE_THEMES[i % len(_SERVICE_THEMES)]
        organisation = f"{names[code].prefecture_name}{rng.choice(_SERVICE_ORGANISATION_KINDS)}"
        place_code, place_name = code, county_name
        if i % 10 == 0 and names[code].prefecture_code in whole:
            place_code, place_name = names[code].prefecture_code, names[code].prefecture_name
        out.append(
            SocialServiceProject(
                year,
                f"{year}年{place_name}{theme}项目（第{i + 1}号）",
                organisation,
                place_code,
                place_name,
                SOCIAL_SERVICE_TAG,
                Decimal(amount) / 10,
            )
        )
    return out


# F13: the Ministry's social-organisation trainings in deep-poverty areas, two sessions, more than 150 organisations.
@dataclass(frozen=True)
class OrganisationTraining:
    """One session the Ministry held for social organisations, with the local projects they were paired with."""

    year: int
    programme: str
    county_code: str
    county_name: str
    trainee_kind: str
    sessions: int
    trainees: int
    organisations: int
    projects_paired: int


ORGANISATION_TRAININGS: tuple[OrganisationTraining, ...] = (
    OrganisationTraining(
        2018, "深度贫困地区社会组织参与脱贫攻坚培训班", "513400", "凉山州", "社会组织", 1, 112, 79, 86
    ),
    OrganisationTraining(
        2018, "深度贫困地区社会组织参与脱贫攻坚培训班", "653200", "和田地区", "社会组织", 1, 104, 74, 81
    ),
)
