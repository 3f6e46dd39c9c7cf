"""Labels: the Chinese (and English) name of every code a person reads.

Indicators, areas, datasets, fund types and levels, statuses. Written once: contracts (datasets and their
value vocabularies), seeds/indicator_definitions.csv (indicator names), the areas file (area names) and
seeds/labels.csv (the rest, and the English names of indicators and areas, whose Chinese names are in their own
seeds). fupin.warehouse.build writes them to core.labels; Python reads them through label() and labels_of().
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from functools import cache
from importlib import resources

from fupin.core.reference import areas
from fupin.warehouse.contracts import column_labels as contract_labels
from fupin.warehouse.contracts import contracts
from fupin.warehouse.relations import column_labels as relation_labels


@dataclass(frozen=True)
class Label:
    kind: str  # submission_status, calendar_status, run_outcome, dataset, fund_type, indicator, area …
    code: str
    name_zh: str
    name_en: str
    ordinal: int  # position within its kind, as the seed or contract lists it


def _seed_rows(name: str) -> list[dict[str, str]]:
    text = resources.files("fupin.warehouse").joinpath(f"seeds/{name}").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def _english(code: str) -> str:
    return code.replace("_", " ")


def labels(areas_override: str | os.PathLike | None = None) -> list[Label]:
    """Every label, by kind in a stable order (``areas_override``: the home's areas file, as for areas())."""
    seeded = _seed_rows("labels.csv")
    english = {(r["kind"], r["code"]): r["name_en"] for r in seeded}
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for r in seeded:
        if r["name_zh"]:  # indicators and areas take their Chinese names from their own seeds below
            found[(r["kind"], r["code"])] = (r["name_zh"], r["name_en"] or _english(r["code"]))
    for contract in contracts().values():
        found[("dataset", contract.dataset)] = (contract.zh, contract.en)
        for column in contract.columns:
            for value in column.values:
                found[(column.name, value.code)] = (value.zh, value.en or _english(value.code))
    for r in _seed_rows("indicator_definitions.csv"):
        found[("indicator", r["indicator"])] = (r["name"], english.get(("indicator", r["indicator"])) or r["indicator"])
    for a in areas(areas_override):
        found[("area", a.area_code)] = (a.area_name, english.get(("area", a.area_code)) or _english(a.area_code))
    ordinals: dict[str, int] = {}
    out = []
    for (kind, code), (zh, en) in found.items():
        ordinals[kind] = ordinals.get(kind, 0) + 1
        out.append(Label(kind, code, zh, en, ordinals[kind]))
    return sorted(out, key=lambda x: (x.kind, x.ordinal))


@cache
def _label_index() -> dict[tuple[str, str], Label]:
    return {(x.kind, x.code): x for x in labels()}


def label(kind: str, code: str, lang: str = "zh") -> str:
    """The name of ``code`` of ``kind`` in Chinese (``lang='en'``: English); the code itself when it has none."""
    found = _label_index().get((kind, code))
    if found is None:
        return code
    return found.name_en if lang == "en" else found.name_zh


def labels_of(kind: str, lang: str = "zh") -> dict[str, str]:
    """Code → name of every label of ``kind``, in its seed's order (e.g. the status words the CLI prints)."""
    return {x.code: (x.name_en if lang == "en" else x.name_zh) for x in _label_index().values() if x.kind == kind}


# labels of the mart and export columns that neither a relation spec (contracts/relations: the ledger, reference
# tables, households, run records) nor a dataset contract declares
COLUMN_LABELS = {
    "part": "片区部分",
    "poor_population": "未脱贫人口",
    "lifted_population": "已脱贫人口",
    "incidence": "贫困发生率",
    "exit_threshold": "退出标准",
    "below_exit_threshold": "低于退出标准",
    "organisations": "社会组织数",
    "projects": "项目数",
    "registry_poor": "名册未脱贫人口",
    "registry_lifted": "名册已脱贫人口",
    "declared_poor": "报表未脱贫人口",
    "declared_lifted": "报表已脱贫人口",
    "poor_difference": "未脱贫人口差额",
    "lifted_difference": "已脱贫人口差额",
    "poor_difference_share": "未脱贫人口差额占比",
    "lifted_difference_share": "已脱贫人口差额占比",
    "due_date": "截止日期",
    "days_late": "逾期天数",
    "last_received": "最近报送时间",
}


def column_labels() -> dict[str, str]:
    """Column → Chinese header: those above, the relation specs' labels and the dataset contracts'."""
    return {**COLUMN_LABELS, **relation_labels(), **contract_labels()}
