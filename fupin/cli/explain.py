"""`fupin explain INDICATOR SCOPE PERIOD`: what one published figure is made of, what it covers, how it changed.

Read from the warehouse alone (marts.indicator_lineage, marts.indicators, marts.indicator_changes,
meta.decisions) through the read API: no Prefect server, about a second on the demo.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from fupin.cli.app import HomeOption, as_of_moment, connect, fail, shanghai_day, text
from fupin.core.formatting import exact_text, figure_text, json_value, number_text

ROLE_NAMES = {
    "sum": "加总",
    "first_year": "首年金额",
    "last_year": "末年金额",
    "numerator": "分子",
    "denominator": "分母",
}
COLUMN_NAMES = {
    "amount_yuan": "金额",
    "poor_population": "未脱贫人口",
    "rural_population": "农业户籍人口",
    "lifted_population": "已脱贫人口",
    "sessions": "期数",
    "trainees": "培训人数",
    "trainees_poor": "其中建档立卡贫困人员",
    "organisations": "参训社会组织",
    "projects_paired": "对接项目",
    "project": "项目",
}
DECISION_NAMES = {"approved": "批准", "discarded": "不予采用"}
# where a unit was read outside the column's header (meta.header_mappings.source)
SOURCE_NAMES = {"title": "标题", "file_name": "文件名", "unit_row": "单位行", "metadata": "报送说明", "header": "表头"}


def explain(
    indicator: Annotated[str, typer.Argument(help="Indicator id (civil_affairs_funds) or its Chinese name.")],
    scope: Annotated[str, typer.Argument(help="Area code (luoxiao, luoxiao:43), county code, or the Chinese name.")],
    period: Annotated[str, typer.Argument(help="Year (2017) or span (2015-2017), as printed.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (values exact, as text).")] = False,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="What the figure was made of then (2018-10-30 = end of that day, Asia/Shanghai)."),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Explain one published figure: its definition, value, contributions (file, sheet, row), coverage, changes."""
    from fupin.warehouse import read  # lazy: the read API imports DuckDB and the contracts, not for --help

    moment = None
    if as_of:
        moment, before_first = as_of_moment(home, as_of)
        if before_first:
            fail(before_first)
    found = _explanation(home, moment, indicator, scope, period)
    if as_json:
        document = read.explanation_document(found)
        typer.echo(json.dumps(document, ensure_ascii=False, indent=1, default=json_value))
        return
    print_explanation(found, as_of)


def _explanation(home: Path | None, moment, indicator: str, scope: str, period: str) -> dict[str, Any]:
    from fupin.warehouse import read  # lazy: the read API imports DuckDB and the contracts, not for --help

    with connect(home, moment) as con:
        if moment is None and not read.lineage_is_current(con):  # marts last built by an older fupin
            moment = datetime.now(UTC)  # the current facts' marts, built in memory
    with connect(home, moment) as con:
        try:
            key = read.find_figure(con, indicator, scope, period)
        except read.UnknownFigure as exc:
            fail(str(exc))
        return read.explanation(con, *key)


def _yuan(value: Decimal | None) -> str:
    return "" if value is None else f"{number_text(Decimal(exact_text(value, 'yuan')))}元"


# the unit a contribution's whole number is counted in, by its column (persons otherwise)
COUNTED = {"sessions": "期", "organisations": "个", "projects_paired": "个", "project": "个"}


def _amount(value: Decimal | None, column: str) -> str:
    """A contribution as printed: yuan to the fen, persons, sessions and projects whole."""
    if column == "amount_yuan":
        return _yuan(value)
    return "" if value is None else f"{number_text(int(value))}{COUNTED.get(column, '人')}"


def print_explanation(found: dict[str, Any], as_of: str | None = None) -> None:
    """The explanation in Chinese: figure, definition, value, coverage, contributions, change history."""
    from fupin.warehouse.labels import label  # lazy: the labels' seeds, read when a figure is printed

    console = Console(width=220, highlight=False)
    unit, contributions = found["unit"], found["contributions"]
    title = f"{found['indicator_name']} [{found['indicator']}]  {found['scope_name']} [{found['scope_code']}]  "
    console.print(text(title + found["period"] + (f"（截至 {as_of}）" if as_of else "")))
    console.print(text(f"定义：{found['definition']}"))
    shown = figure_text(found["value"], unit, found.get("unit_name"))
    exact_value = _yuan(found["value"]) if unit == "yuan" else exact_text(found["value"], unit)
    console.print(text(f"数值：{shown}（精确值 {exact_value}）"))
    coverage = found["coverage"]
    if coverage:
        expected, covered = coverage["counties_expected"], coverage["counties_covered"]
        missing = coverage["missing_counties"] or []
        line = f"覆盖：{covered}/{expected} 个县" + ("，齐全" if not missing else "，缺 " + "、".join(missing))
        if coverage.get("coverage_note"):
            line += f"（{coverage['coverage_note']}）"
        console.print(text(line), soft_wrap=True)
    if not contributions:
        console.print("构成：此指标为不重复计数或户均数，不逐行列出构成（marts.indicator_lineage）")
    else:
        _print_composition(console, found)
        table = Table(title=f"构成明细（{len(contributions)} 项）", title_justify="left")
        fund = any(c["fund_type"] for c in contributions)
        org = any(c["organisation"] for c in contributions)
        programme = any(c["programme"] for c in contributions)
        columns = [
            "构成",
            "县",
            "年度",
            *(["资金类别", "级别"] if fund else []),
            *(["社会组织", "项目"] if org else []),
            *(["培训或帮扶项目"] if programme else []),
        ]
        columns += ["数值", "原表数值", "文件", "工作表", "行", "报送编号", "表头"]
        for col in columns:
            table.add_column(col, justify="right" if col in ("数值", "原表数值", "行", "年度") else "left")
        for c in contributions:
            role = ROLE_NAMES.get(c["role"], c["role"])
            if c["role"] != "sum" or c["value_column"] != "amount_yuan":
                role += f"·{COLUMN_NAMES.get(c['value_column'], c['value_column'])}"
            name = c["county_name"] or c["prefecture_name"] or ""
            place = f"{name} {c['county_code'] or c['prefecture_code'] or ''}".strip()
            cells = [role, place, str(c["year"])]
            if fund:
                cells += [
                    label("fund_type", c["fund_type"]) if c["fund_type"] else "",
                    label("fund_level", c["fund_level"]) if c["fund_level"] else "",
                ]
            if org:
                cells += [c["organisation"] or "", c["project"] or ""]
            if programme:
                cells += [c["programme"] or ""]
            written = (
                f"{c['source_value'].normalize():f}{c['source_unit'] or ''}" if c["source_value"] is not None else ""
            )
            header = c["submitted_header"] or ""
            if c["unit_stated"]:
                stated = c["unit_stated"]
                for code, name in SOURCE_NAMES.items():
                    stated = stated.replace(f"（{code}）", f"，见{name}")
                header += f"（{stated}）"
            cells += [
                _amount(c["value"], c["value_column"]),
                written,
                c["file_name"] or "",
                c["sheet"] or "",
                "" if c["source_row"] is None else str(c["source_row"]),
                c["submission_id"],
                header,
            ]
            table.add_row(*map(text, cells))
        console.print(table)
    _print_changes(console, found)


def _print_composition(console: Console, found: dict[str, Any]) -> None:
    """How the contributions make the value: a sum, a growth rate's two years, a rate's numerator over denominator."""
    contributions, composition = found["contributions"], found["composition"]

    def total(role: str) -> Decimal:
        return sum((c["value"] for c in contributions if c["role"] == role), Decimal(0))

    if composition == "count":
        counted = figure_text(found["value"], "count", found["unit_name"])
        console.print(text(f"构成：{len(contributions)} 项，每项计 1，合计 {counted}"))
    elif composition == "sum":
        summed = total("sum")
        same = "，等于发布值" if summed == found["value"] else f"，与发布值 {found['value']} 不等"
        shown = _amount(summed, contributions[0]["value_column"])
        console.print(text(f"构成：{len(contributions)} 项相加，合计 {shown}{same}"))
    elif composition == "growth":
        years = {c["role"]: c["year"] for c in contributions}
        first, last = total("first_year"), total("last_year")
        y0, y1 = years["first_year"], years["last_year"]
        console.print(
            text(
                f"构成：首年（{y0}）金额 {_yuan(first)}，末年（{y1}）金额 {_yuan(last)}；"
                f"年均增长 =（{_yuan(last)} ÷ {_yuan(first)}）^(1 ÷ {y1 - y0})"
                f" − 1 = {figure_text(found['value'], 'fraction')}"
            )
        )
    elif composition == "ratio":
        numerator, denominator = total("numerator"), total("denominator")
        names = {c["role"]: COLUMN_NAMES.get(c["value_column"], c["value_column"]) for c in contributions}
        console.print(
            text(
                f"构成：分子（{names['numerator']}）合计 {number_text(int(numerator))} 人，"
                f"分母（{names['denominator']}）合计 {number_text(int(denominator))} 人"
                + (
                    f"；{number_text(int(numerator))} ÷ {number_text(int(denominator))} = "
                    f"{figure_text(found['value'], 'fraction')}"
                    if found["unit"] == "fraction"
                    else ""
                )
            )
        )


def _print_changes(console: Console, found: dict[str, Any]) -> None:
    """The figure's change history (marts.indicator_changes), with the submissions and decisions behind each."""
    changes, unit, unit_name = found["changes"], found["unit"], found.get("unit_name")
    if not changes:
        console.print("变动记录：无（此数值发布后未变动记录）")
        return
    console.print(f"变动记录（{len(changes)} 次）：")
    for c in changes:
        before = "首次发布" if c["value_before"] is None else figure_text(c["value_before"], unit, unit_name)
        after = "不再发布" if c["value_after"] is None else figure_text(c["value_after"], unit, unit_name)
        sources = "、".join(f"{s}（{f}）" for s, f in zip(c["submission_ids"], c["file_names"], strict=False))
        line = f"  {shanghai_day(c['changed_at'])}  {before} → {after}；报送：{sources or '未记录'}"
        for d in c["decisions"]:
            decision = DECISION_NAMES.get(d["decision"], d["decision"])
            reason = f"，原因：{d['reason']}" if d["reason"] else ""
            line += f"；{d['decided_by']} 于 {shanghai_day(d['decided_at'])} {decision} {d['submission_id']}{reason}"
        console.print(text(line), soft_wrap=True)
