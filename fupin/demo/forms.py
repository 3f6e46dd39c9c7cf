"""Writers that lay the demo figures out the way Jiangxi and Hunan submit them.

The quirks (old codes, names without suffix, numbers stored as text, GBK, BOMs, thousands
separators, a column-number row) are deliberate: they are what the parsers must survive.
Footer name fields stay empty so the demo holds no person's name.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from fupin.demo.figures import (
    DESIGNATED,
    GRANT_PROGRAMME,
    SUICHUAN,
    FundAllocation,
    Grant,
    OrganisationTraining,
    PovertyStatus,
    SocialOrgProject,
    SocialServiceProject,
    Training,
    county,
)

WAN = Decimal(10_000)

JIANGXI_FUND_COLUMNS: tuple[tuple[str, str], ...] = (
    ("民政事业费", "中央"),
    ("民政事业费", "省级"),
    ("彩票公益金", "中央"),
    ("彩票公益金", "省级"),
    ("中央预算内投资", "中央"),
)
# Cells the 2016 form stores as text with a thousands separator: (county code, column index).
TEXT_AMOUNTS_2016: frozenset[tuple[str, int]] = frozenset({("360732", 0), ("360781", 1)})
# Counties whose code cell the 2017 form leaves empty.
CODE_LEFT_BLANK_2017: frozenset[str] = frozenset({"360724", "360734", "360828"})
REMARKS: dict[tuple[int, str], str] = {
    (2016, "360704"): "2016年撤县设区",
    (2017, "360881"): "2017年2月脱贫摘帽",
    (2017, "360827"): "民政部定点扶贫县",
}
TRAINING_HEADER: tuple[str, ...] = (
    "年度",
    "培训项目",
    "县（市、区）",
    "期数",
    "培训人数",
    "其中建档立卡贫困人员",
    "培训后就业人数",
)


def _open_workbook(path: Path, created: datetime) -> xlsxwriter.Workbook:
    """An xlsxwriter workbook whose bytes depend only on what is written to it."""
    workbook = xlsxwriter.Workbook(str(path), {"in_memory": True})
    workbook.set_properties({"created": created})
    return workbook


def _jiangxi_fund_label(year: int, code: str) -> tuple[str, int | str | None]:
    """The county name and code cell as the Jiangxi form of that year writes them."""
    name: str = county(code).name
    code_cell: int | str | None = int(code)
    if year == 2015 and code == "360704":
        name, code_cell = "赣县", 360721  # renamed 赣县区 only in 2016
    if year == 2016 and code in DESIGNATED:
        name = name.removesuffix("县")
    if year == 2017 and code in CODE_LEFT_BLANK_2017:
        code_cell = None
    if year == 2017 and code == SUICHUAN:
        code_cell = code
    return name, code_cell


def _write_cell(sheet: Worksheet, row: int, col: int, value: object, fmt: object) -> None:
    """Write a number, a string or a blank into a cell with the given format."""
    if value is None:
        sheet.write_blank(row, col, None, fmt)
    elif isinstance(value, str):
        sheet.write_string(row, col, value, fmt)
    else:
        sheet.write_number(row, col, value, fmt)


def write_jiangxi_funds(path: Path, year: int, rows: Sequence[FundAllocation]) -> Path:
    """Write one year's Jiangxi fund-allocation statistical form (万元, 2 decimals)."""
    amounts: dict[str, dict[tuple[str, str], Decimal]] = {}
    for r in rows:
        if r.year == year:
            amounts.setdefault(r.county_code, {})[r.fund_type, r.fund_level] = r.amount_yuan / WAN

    workbook = _open_workbook(path, datetime(year + 1, 3, 15, 9, 0, 0))
    title = workbook.add_format({"bold": True, "font_size": 16, "align": "center"})
    header = workbook.add_format({"bold": True, "border": 1, "align": "center", "valign": "vcenter", "text_wrap": True})
    cell = workbook.add_format({"border": 1})
    money = workbook.add_format({"border": 1, "num_format": "#,##0.00"})
    total_label = workbook.add_format({"border": 1, "bold": True, "align": "center"})
    sheet = workbook.add_worksheet("民政资金")
    sheet.set_column(0, 0, 6)
    sheet.set_column(1, 2, 14)
    sheet.set_column(3, 7, 13)
    sheet.set_column(8, 8, 18)

    sheet.merge_range(0, 0, 0, 8, f"{year}年罗霄山片区县民政资金下达情况统计表", title)
    sheet.write_string(1, 0, "填报单位（盖章）：江西省民政厅")
    sheet.write_string(1, 7, "单位：万元")
    for col, label in (
        (0, "序号"),
        (1, "县（市、区）"),
        (2, "行政区划代码"),
        (7, "中央预算内投资"),
        (8, "备注"),
    ):
        sheet.merge_range(2, col, 3, col, label, header)
    sheet.merge_range(2, 3, 2, 4, "民政事业费", header)
    sheet.merge_range(2, 5, 2, 6, "彩票公益金", header)
    for col, level in zip(range(3, 7), ("中央", "省级", "中央", "省级"), strict=True):
        sheet.write_string(3, col, level, header)

    row = 4
    if year == 2017:
        for col in range(9):
            sheet.write_number(row, col, col + 1, header)
        row += 1

    totals = [Decimal(0)] * len(JIANGXI_FUND_COLUMNS)
    for number, code in enumerate(amounts, start=1):
        name, code_cell = _jiangxi_fund_label(year, code)
        sheet.write_number(row, 0, number, cell)
        sheet.write_string(row, 1, name, cell)
        _write_cell(sheet, row, 2, code_cell, cell)
        for i, key in enumerate(JIANGXI_FUND_COLUMNS):
            value = amounts[code][key]
            totals[i] += value
            if year == 2016 and (code, i) in TEXT_AMOUNTS_2016:
                sheet.write_string(row, 3 + i, f"{value:,.2f}", cell)
            else:
                sheet.write_number(row, 3 + i, float(value), money)
        _write_cell(sheet, row, 8, REMARKS.get((year, code)), cell)
        row += 1

    sheet.write_blank(row, 0, None, cell)
    sheet.write_string(row, 1, "合计", total_label)
    sheet.write_blank(row, 2, None, cell)
    for i, value in enumerate(totals):
        sheet.write_number(row, 3 + i, float(value), money)
    sheet.write_blank(row, 8, None, cell)

    footer = row + 2
    for col, label in (
        (0, "负责人："),
        (2, "审核人："),
        (4, "填表人："),
        (6, f"填表日期：{year + 1}年3月15日"),
    ):
        sheet.write_string(footer, col, label)
    workbook.close()
    return path


def write_jiangxi_poverty(path: Path, rows: Sequence[PovertyStatus]) -> Path:
    """Write Jiangxi's 2015–2017 poverty-status form (one sheet, single header row)."""
    workbook = _open_workbook(path, datetime(2018, 3, 20, 9, 0, 0))
    title = workbook.add_format({"bold": True, "font_size": 16, "align": "center"})
    header = workbook.add_format({"bold": True, "border": 1, "align": "center", "text_wrap": True})
    cell = workbook.add_format({"border": 1})
    count = workbook.add_format({"border": 1, "num_format": "#,##0"})
    rate = workbook.add_format({"border": 1, "num_format": "0.00"})
    sheet = workbook.add_worksheet("贫困人口")
    sheet.set_column(0, 0, 8)
    sheet.set_column(1, 2, 14)
    sheet.set_column(3, 6, 14)

    sheet.merge_range(0, 0, 0, 6, "江西省罗霄山片区贫困人口统计表（2015—2017年）", title)
    sheet.write_string(1, 0, "填报单位：江西省扶贫和移民办公室")
    sheet.write_string(1, 6, "单位：人、%")
    labels = (
        "年度",
        "县（市、区）",
        "行政区划代码",
        "农业户籍人口",
        "已脱贫人口",
        "未脱贫人口",
        "贫困发生率（%）",
    )
    for col, label in enumerate(labels):
        sheet.write_string(2, col, label, header)

    row = 3
    for r in sorted(rows, key=lambda r: r.year):
        sheet.write_string(row, 0, f"{r.year}年", cell)
        sheet.write_string(row, 1, county(r.county_code).name, cell)
        sheet.write_string(row, 2, r.county_code, cell)
        sheet.write_number(row, 3, r.rural_population, count)
        sheet.write_number(row, 4, r.lifted, count)
        sheet.write_number(row, 5, r.poor, count)
        sheet.write_number(row, 6, float(r.incidence_pct), rate)
        row += 1
    sheet.write_string(row + 1, 0, "填表人：")
    workbook.close()
    return path


def write_social_org_projects(path: Path, rows: Sequence[SocialOrgProject]) -> Path:
    """Write Jiangxi's 2018 social-organisation projects as JSON; a few amounts as text."""
    data = []
    for i, r in enumerate(rows):
        amount: float | str = float(r.amount_wan)
        if r.amount_wan >= 1000 or i % 20 == 7:
            amount = f"{r.amount_wan:,.1f}"
        data.append(
            {
                "社会组织名称": r.organisation,
                "组织类别": r.category,
                "项目名称": r.project,
                "县（市、区）": county(r.county_code).name,
                "落地资金（万元）": amount,
                "受益人数": r.beneficiaries,
            }
        )
    document = {"填报单位": "江西省民政厅", "年度": 2018, "单位": "万元", "data": data}
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def write_training(path: Path, rows: Sequence[Training], encoding: str, line_end: str = "\n") -> Path:
    """Write a training CSV in the given encoding."""
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f, lineterminator=line_end)
        writer.writerow(TRAINING_HEADER)
        for r in rows:
            writer.writerow(
                [
                    r.year,
                    r.programme,
                    county(r.county_code).name,
                    r.sessions,
                    r.trainees,
                    r.trainees_poor,
                    r.employed,
                ]
            )
    return path


def write_hunan_funds(path: Path, rows: Sequence[FundAllocation]) -> Path:
    """Write Hunan's long-format fund CSV: GBK, CRLF, yuan, some amounts with separators."""
    with path.open("w", encoding="gbk", newline="") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(["年度", "行政区划代码", "县市区", "资金类别", "资金级别", "金额（元）"])
        for i, r in enumerate(rows):
            # csv quotes the field by itself when the separator puts a comma in it.
            amount = f"{r.amount_yuan:,.2f}" if i % 3 == 0 else f"{r.amount_yuan:.2f}"
            writer.writerow(
                [
                    r.year,
                    r.county_code,
                    county(r.county_code).name,
                    r.fund_type,
                    r.fund_level,
                    amount,
                ]
            )
    return path


def write_hunan_poverty(path: Path, rows: Sequence[PovertyStatus]) -> Path:
    """Write Hunan's poverty CSV: UTF-8 with BOM, incidence as '10.15%' strings."""
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(
            [
                "年份",
                "县市区",
                "农业户籍人口（人）",
                "已脱贫人口（人）",
                "未脱贫人口（人）",
                "贫困发生率",
            ]
        )
        for r in sorted(rows, key=lambda r: r.year):
            writer.writerow(
                [
                    r.year,
                    county(r.county_code).name,
                    r.rural_population,
                    r.lifted,
                    r.poor,
                    f"{r.incidence_pct}%",
                ]
            )
    return path


def write_grant_list(path: Path, year: int, rows: Sequence[Grant], with_household_number: bool = False) -> Path:
    """Write Jiangxi's “十百千” recipient list for one year: XLSX, title, 单位 row, the head's name and ID number.

    The names and ID numbers are those of the demo registries (invented people): they must stop at the raw archive.
    """
    workbook = _open_workbook(path, datetime(year, 12, 20, 9, 0, 0))
    title = workbook.add_format({"bold": True, "font_size": 14, "align": "center"})
    header = workbook.add_format({"bold": True, "border": 1, "align": "center", "text_wrap": True})
    cell = workbook.add_format({"border": 1})
    money = workbook.add_format({"border": 1, "num_format": "#,##0"})
    sheet = workbook.add_worksheet("发放花名册")
    labels = ["序号", "年度", "帮扶项目", "县（市、区）", "乡镇", "行政村"]
    labels += ["户编号"] if with_household_number else []
    labels += ["户主姓名", "户主身份证号码", "补助金额（元）", "资金来源"]
    sheet.merge_range(0, 0, 0, len(labels) - 1, f"{year}年民政部“十百千”帮扶行动资金发放花名册", title)
    sheet.write_string(1, 0, "填报单位（盖章）：江西省民政厅")
    sheet.write_string(1, len(labels) - 1, "单位：元")
    for col, label in enumerate(labels):
        sheet.write_string(2, col, label, header)
    row = 3
    total = Decimal(0)
    for number, g in enumerate((g for g in rows if g.year == year), start=1):
        values: list[object] = [number, str(year), GRANT_PROGRAMME, county(g.county_code).name, g.township, g.village]
        values += [g.household_id] if with_household_number else []
        values += [g.head_name, g.head_id, float(g.amount_yuan), g.funding_source]
        for col, value in enumerate(values):
            _write_cell(sheet, row, col, value, money if isinstance(value, float) else cell)
        total += g.amount_yuan
        row += 1
    sheet.write_string(row, 3, "合计", cell)
    sheet.write_number(row, len(labels) - 2, float(total), money)
    sheet.write_string(row + 2, 0, "负责人：")
    sheet.write_string(row + 2, 4, "填表人：")
    workbook.close()
    return path


def write_social_service_projects(path: Path, rows: Sequence[SocialServiceProject]) -> Path:
    """Write the Ministry's list of approved central-finance social-service projects (XLSX, 万元)."""
    workbook = _open_workbook(path, datetime(2019, 1, 10, 9, 0, 0))
    title = workbook.add_format({"bold": True, "font_size": 14, "align": "center"})
    header = workbook.add_format({"bold": True, "border": 1, "align": "center", "text_wrap": True})
    cell = workbook.add_format({"border": 1})
    money = workbook.add_format({"border": 1, "num_format": "#,##0.0"})
    sheet = workbook.add_worksheet("立项项目")
    labels = ("序号", "年度", "项目名称", "承接社会组织", "实施地区", "行政区划代码", "区域类别", "中央财政资金")
    sheet.merge_range(0, 0, 0, len(labels) - 1, "中央财政支持社会组织参与社会服务项目立项名单（深度贫困地区）", title)
    sheet.write_string(1, 0, "填报单位：民政部社会组织管理局")
    sheet.write_string(1, len(labels) - 1, "单位：万元")
    for col, label in enumerate(labels):
        sheet.write_string(2, col, label, header)
    for number, r in enumerate(rows, start=1):
        values = (number, r.year, r.project, r.organisation, r.county_name, r.county_code, r.area_tag)
        for col, value in enumerate(values):
            _write_cell(sheet, 2 + number, col, value, cell)
        sheet.write_number(2 + number, len(labels) - 1, float(r.amount_wan), money)
    workbook.close()
    return path


ORGANISATION_TRAINING_HEADER: tuple[str, ...] = (
    "年度",
    "培训项目",
    "举办地区",
    "行政区划代码",
    "培训对象",
    "期数",
    "培训人数",
    "参训社会组织数",
    "对接项目数",
)


def write_organisation_trainings(path: Path, rows: Sequence[OrganisationTraining]) -> Path:
    """Write the Ministry's social-organisation trainings in deep-poverty areas as a UTF-8 CSV."""
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(ORGANISATION_TRAINING_HEADER)
        for r in rows:
            writer.writerow(
                [
                    r.year,
                    r.programme,
                    r.county_name,
                    r.county_code,
                    r.trainee_kind,
                    r.sessions,
                    r.trainees,
                    r.organisations,
                    r.projects_paired,
                ]
            )
    return path
