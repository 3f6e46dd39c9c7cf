"""What the normaliser knows beyond the dataset contracts (warehouse/contracts/*.yaml).

Columns, header synonyms and words, fund types and levels, required columns and grain keys are
declared in the contracts and read at run time; only the form's own conventions stay here.
"""

from __future__ import annotations

SUBTOTAL_LABELS = ("合计", "小计", "总计")

# What people write around a fund level (中央财政补助资金, 省本级, 市级配套资金): stripped, longest first, until
# the root is left (中央, 省, 市, 县), which is looked up among the roots of the contract's level headers
LEVEL_AFFIXES = (
    "补助资金",
    "专项资金",
    "财政资金",
    "财政",
    "资金",
    "补助",
    "专项",
    "本级",
    "配套",
    "安排",
    "下达",
    "级",
)

# An amount heading plainly qualified as not this year's allocation (pattern, what it is): such a column is
# never read as the amount, and the file's warning says so (column_not_this_year). First match wins.
NOT_THIS_YEAR = (
    ("上年结转", "上年结转数"),
    ("结转", "结转数"),
    ("结余", "结余数"),
    ("累计", "累计数"),
    ("计划", "计划数"),
    ("预算(?!内)", "预算数"),  # 中央预算内投资 is a fund type, not a budget
    ("上年|上一年|去年|前一年", "上年数"),
    ("以前年度|往年|历年", "以前年度数"),
    ("同比|增减|增长|比上年", "同比变化数"),
)
