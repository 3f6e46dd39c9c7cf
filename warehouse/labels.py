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

from fupin.warehouse.contracts import column_labels as contract_labels
from fupin.warehouse.contracts import contracts

from fupin.core.reference import areas


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


# labels of the columns no dataset contract declares (the ledger, reference and export columns); the contracts'
# own come from warehouse/contracts
COLUMN_LABELS = {
    "submission_id": "报送编号",
    "message_code": "消息代码",
    "province_code": "省份代码",
    "province_name": "省份",
    "prefecture_code": "地市代码",
    "prefecture_name": "地市",
    "county_name": "县（市、区）",
    "region": "地区",
    "area_code": "片区代码",
    "area_name": "片区",
    "part": "片区部分",
    "from_year": "起始年度",
    "to_year": "截止年度",
    "show_counties": "逐县列示",
    "level": "划入层级",
    "defined_by": "划入依据代码",
    "dataset": "数据集",
    "file_name": "文件名",
    "source_path": "来源路径",
    "sha256": "文件指纹（SHA-256）",
    "received_at": "接收时间",
    "status": "状态",
    "years": "年度",
    "rows_total": "总行数",
    "rows_loaded": "入库行数",
    "rows_rejected": "退回行数",
    "message": "说明",
    "raw_path": "原始文件",
    "row_number": "行号",
    "field": "字段",
    "value": "数值",
    "reason": "原因",
    "reason_code": "原因代码",
    "applied_at": "生效时间",
    "decision": "决定",
    "decided_by": "决定人",
    "decided_at": "决定时间",
    "value_before": "变动前",
    "value_after": "变动后",
    "changed_at": "变动时间",
    "run_id": "运行编号",
    "submissions": "来源报送",
    "counties": "县数",
    "poor_population": "未脱贫人口",
    "lifted_population": "已脱贫人口",
    "incidence": "贫困发生率",
    "exit_threshold": "退出标准",
    "threshold": "退出标准",
    "below_exit_threshold": "低于退出标准",
    "organisations": "社会组织数",
    "projects": "项目数",
    "indicator": "指标代码",
    "indicator_name": "指标",
    "name": "指标",
    "scope_code": "范围代码",
    "scope_name": "范围",
    "period": "期间",
    "unit": "单位代码",
    "unit_name": "单位",
    "definition": "指标说明",
    "households": "户数",
    "persons": "人数",
    "members": "家庭人口数",
    "township": "乡镇",
    "village": "行政村",
    "registration_year": "识别年度",
    "exit_year": "脱贫年度",
    "household_key": "户主标识（加密）",
    "lake_file": "数据湖文件",
    "source_row": "原表行号",
    "valid_from": "生效时间",
    "valid_to": "失效时间",
    "alias": "别名",
    "kind": "类别",
    "ordinal": "序号",
    "registry_poor": "名册未脱贫人口",
    "registry_lifted": "名册已脱贫人口",
    "declared_poor": "报表未脱贫人口",
    "declared_lifted": "报表已脱贫人口",
    "poor_difference": "未脱贫人口差额",
    "lifted_difference": "已脱贫人口差额",
    "poor_difference_share": "未脱贫人口差额占比",
    "lifted_difference_share": "已脱贫人口差额占比",
    "sheet": "工作表",
    "submitted_header": "报送表头",
    "column_name": "对应字段",
    "matched_by": "识别方式",
    "source": "读取来源",
    "due_date": "截止日期",
    "days_late": "逾期天数",
    "last_received": "最近报送时间",
    "flow_name": "流程",
    "run_name": "运行名称",
    "started_at": "开始时间",
    "ended_at": "结束时间",
    "outcome": "结果",
    "exit_code": "退出码",
    "received": "收到文件数",
    "failed_provinces": "失败省份",
    "warehouse_changed": "仓库有变动",
}


def column_labels() -> dict[str, str]:
    """Column → Chinese header: the dataset contracts' labels and those above."""
    return {**COLUMN_LABELS, **contract_labels()}
