"""Canonical columns, the header synonyms provinces use for them, and what each dataset needs."""

from __future__ import annotations

# canonical column → labels seen in submissions (compared after removing units, spaces and
# width differences, lower-cased)
HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "county": (
        "县（市、区）",
        "县(市、区)",
        "县市区",
        "县区",
        "区县",
        "县",
        "县名",
        "县名称",
        "县（市、区）名称",
        "县市区名称",
        "地区",
        "单位名称",
        "行政区划名称",
        "county",
        "county_name",
        "countyname",
    ),
    "county_code": ("行政区划代码", "区划代码", "行政代码", "县代码", "代码", "county_code", "code", "countycode"),
    "year": (
        "年度",
        "年份",
        "年",
        "统计年度",
        "报告年度",
        "统计日期",
        "统计时间",
        "截止日期",
        "截至日期",
        "报告期",
        "year",
        "date",
    ),
    "fund_type": ("资金类别", "资金类型", "资金种类", "资金名称", "fund_type"),
    "fund_level": ("资金级别", "资金层级", "级别", "层级", "fund_level"),
    "amount": ("金额", "资金", "资金额", "下达金额", "下达资金", "落地资金", "落地资金额", "amount", "amount_yuan"),
    "rural_population": ("农业户籍人口", "乡村户籍人口", "农村户籍人口", "农村人口", "rural_population"),
    "lifted_population": ("已脱贫人口", "累计脱贫人口", "脱贫人口", "已脱贫人数", "lifted_population"),
    "poor_population": ("未脱贫人口", "贫困人口", "剩余贫困人口", "未脱贫人数", "poor_population"),
    "incidence": ("贫困发生率", "incidence", "poverty_incidence"),
    "organisation": ("社会组织名称", "组织名称", "社会组织", "organisation", "organization"),
    "org_scope": ("组织类别", "组织类型", "登记级别", "org_scope"),
    "project": ("项目名称", "项目", "project", "project_name"),
    "beneficiaries": ("受益人数", "受益人口", "受益群众", "beneficiaries"),
    "programme": ("培训项目", "培训班名称", "培训班", "programme", "program"),
    "sessions": ("期数", "培训期数", "sessions"),
    "trainees": ("培训人数", "参训人数", "学员人数", "trainees"),
    "trainees_poor": (
        "其中建档立卡贫困人员",
        "其中:建档立卡贫困人员",
        "建档立卡贫困人员",
        "其中贫困人员",
        "trainees_poor",
    ),
    "employed": ("培训后就业人数", "就业人数", "employed"),
    "ignore": ("序号", "备注", "说明", "no", "no.", "remark", "remarks", "note"),
}

# wide fund-allocation forms: one column per fund type (parent label) and level (child label)
FUND_TYPES: dict[str, tuple[str, ...]] = {
    "civil_affairs": ("民政事业费", "民政事业经费", "民政资金", "civil_affairs"),
    "lottery_welfare": ("彩票公益金", "福利彩票公益金", "lottery_welfare"),
    "central_budget_investment": ("中央预算内投资", "中央预算内投资补助", "central_budget_investment"),
}
FUND_LEVELS: dict[str, tuple[str, ...]] = {
    "central": ("中央", "中央级", "部本级", "中央专项", "central"),
    "provincial": ("省级", "省本级", "省", "provincial"),
}
# meaning-bearing words of Chinese statistical and public-finance forms, scored when no synonym matches
# (tasks.normalise.helpers.Vocabulary.scores); not_words keep a field out of a label that contradicts it
WORDS: dict[str, tuple[str, ...]] = {
    "county": ("县", "县区", "区县", "县市区", "市县", "县名", "地区", "县级单位", "区划名称"),
    "county_code": ("代码", "编码", "区划码", "代号"),
    "year": ("年度", "年份", "年", "统计期", "报告期", "时间", "日期", "期别"),
    "fund_type": ("类别", "类型", "种类", "性质", "资金名称", "资金项目", "科目"),
    "fund_level": ("级次", "级别", "层级", "层次", "来源", "渠道"),
    "amount": ("金额", "资金", "拨付", "下达", "数额", "额度", "安排", "落实"),
    "rural_population": ("农业户籍", "乡村人口", "农村人口", "农业人口", "户籍人口", "乡村户籍", "农村户籍"),
    "poor_population": ("未脱贫", "贫困人口", "剩余贫困", "贫困人数", "现有贫困", "建档立卡贫困人口"),
    "lifted_population": ("已脱贫", "脱贫人口", "累计脱贫", "退出人口", "脱贫人数", "减贫人口", "减贫人数"),
    "incidence": ("发生率", "贫困率"),
    "organisation": ("组织", "机构", "基金会", "协会"),
    "org_scope": ("组织类别", "登记", "管辖", "范围"),
    "project": ("项目",),
    "beneficiaries": ("受益", "惠及", "帮扶人数", "覆盖"),
    "programme": ("培训项目", "培训班", "培训内容", "培训名称", "班次名称", "项目"),
    "sessions": ("期数", "期次", "班次", "班数"),
    "trainees": ("培训人数", "参训", "学员", "人数", "人次"),
    "trainees_poor": ("建档立卡", "贫困人员", "贫困户", "贫困劳动力"),
    "employed": ("就业", "就业人数", "转移就业", "上岗"),
}
NOT_WORDS: dict[str, tuple[str, ...]] = {
    "lifted_population": ("未", "剩余", "尚未", "现有"),
    "poor_population": ("已", "累计脱贫", "退出", "发生率"),
    "rural_population": ("贫困", "脱贫"),
    "trainees": ("就业", "贫困", "建档"),
    "amount": ("类别", "类型", "级次", "级别", "层级", "名称"),
    "county": ("代码", "编码", "组织", "项目", "乡镇"),
    "project": ("培训",),
    "organisation": ("类别", "类型", "级别"),
}
# the label a clerk reads for each field in a message
FIELD_LABELS = {name: synonyms[0] for name, synonyms in HEADER_SYNONYMS.items()} | {
    "fund_level": "级次",
    "fund_type": "资金类别（或 民政事业费/彩票公益金 等分列）",
}

# a fund type that only the centre funds needs no level column
DEFAULT_LEVEL = {"central_budget_investment": "central"}
SUBTOTAL_LABELS = ("合计", "小计", "总计")

# dataset → (columns that must be present, columns that may be present)
DATASETS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "fund_allocation": (("county|county_code", "year", "fund_type", "amount"), ("fund_level",)),
    "poverty_status": (
        ("county|county_code", "year", "rural_population", "poor_population"),
        ("lifted_population", "incidence"),
    ),
    "social_org_project": (
        ("organisation", "project", "county|county_code", "year", "amount"),
        ("org_scope", "beneficiaries"),
    ),
    "training": (("programme", "county|county_code", "year", "trainees"), ("sessions", "trainees_poor", "employed")),
}

DATASET_LABELS = {
    "fund_allocation": "资金下达",
    "poverty_status": "贫困人口",
    "social_org_project": "社会组织扶贫项目",
    "training": "培训",
}

# canonical output columns per dataset, in order (county_code and year always present)
OUTPUT_COLUMNS: dict[str, tuple[str, ...]] = {
    "fund_allocation": ("county_code", "year", "fund_type", "fund_level", "amount_yuan"),
    "poverty_status": (
        "county_code",
        "year",
        "rural_population",
        "poor_population",
        "lifted_population",
        "declared_incidence",
    ),
    "social_org_project": (
        "organisation",
        "org_scope",
        "project",
        "county_code",
        "year",
        "amount_yuan",
        "beneficiaries",
    ),
    "training": ("programme", "county_code", "year", "sessions", "trainees", "trainees_poor", "employed"),
}
# the grain: a row repeating these in one file is a duplicate
KEYS: dict[str, tuple[str, ...]] = {
    "fund_allocation": ("county_code", "year", "fund_type", "fund_level"),
    "poverty_status": ("county_code", "year"),
    "social_org_project": ("organisation", "project", "county_code", "year"),
    "training": ("programme", "county_code", "year"),
}
