"""Publish a run to Prefect's UI: the submissions, the reporting calendar and the headline indicators as artifacts."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from fupin.core.config import ConfigError, Paths
from fupin.core.formatting import figure_text
from fupin.core.messages import say
from fupin.core.reference import submitters
from fupin.tasks.calendar import ATTENTION, STATUS_LABELS, calendar_file, submission_status
from fupin.tasks.summary import incomplete_message
from fupin.warehouse import read
from fupin.warehouse.contracts import contracts
from fupin.warehouse.labels import label

# stable keys: the UI shows each key's history across runs (lowercase letters, digits and dashes only)
SUBMISSIONS_KEY = "fupin-submissions"
INDICATORS_KEY = "fupin-indicators"
CALENDAR_KEY = "fupin-submission-status"


def submissions_table(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per submission received, then one per failed province: Chinese headers, codes beside the names."""
    names = submitters()
    rows = [
        {
            "省份": names.get(s["province_code"], s["province_code"]),
            "省份代码": s["province_code"],
            "文件": s["file_name"],
            "数据集": "、".join(label("dataset", d) for d in (s["dataset"] or "").split(",") if d),
            "数据集代码": s["dataset"] or "",
            "状态": label("submission_status", s["status"]),
            "状态代码": s["status"],
            "入库行数": s["rows_loaded"],
            "退回行数": s["rows_rejected"],
            "说明": (s["message"] or "")[:200],
        }
        for s in summary["submissions"]
    ]
    rows += [
        {
            "省份": names.get(p, p),
            "省份代码": p,
            "文件": "",
            "数据集": "",
            "数据集代码": "",
            "状态": "失败",
            "状态代码": "failed",
            "入库行数": 0,
            "退回行数": 0,
            "说明": r[:200],
        }
        for p, r in sorted(summary["failed_provinces"].items())
    ]
    return rows


def indicators_markdown(paths: Paths, summary: dict[str, Any]) -> str:
    """Markdown in Chinese: what the run received, then the headline indicators from the warehouse."""
    names = submitters()
    statuses = "，".join(f"{label('submission_status', k)} {n}" for k, n in sorted(summary["by_status"].items()))
    lines = [
        "# fupin 夜间运行",
        "",
        say(
            "run_counts",
            received=summary["received"],
            statuses=statuses or "无新报送",
            loaded=summary["rows_loaded"],
            rejected=summary["rows_rejected"],
        ),
    ]
    for province, reason in sorted(summary["failed_provinces"].items()):
        lines.append(f"- **{names.get(province, province)} {province} 失败**：{reason.splitlines()[0][:200]}")
    if paths.warehouse.exists():
        # the briefing's first lines: marts.headline, as `fupin run` and the report show them
        with read.connect(paths.warehouse) as con:
            rows = read.headline(con)
            indicator_names = {d["indicator"]: d["name"] for d in read.indicator_definitions(con)}
        if incomplete := incomplete_message(summary):
            lines.append(f"- **{incomplete}**")
        lines += ["", "| 指标 | 范围 | 期间 | 数值 | 覆盖县 |", "|---|---|---|---:|---|"]
        lines += [
            f"| {indicator_names.get(r['indicator']) or r['indicator']} [{r['indicator']}] | {r['scope_name']} "
            f"[{r['scope_code']}] | {r['period']} | {_figure(r)} | {_coverage(r)} |"
            for r in rows
        ]
    return "\n".join(lines) + "\n"


def _figure(r: dict[str, Any]) -> str:
    """The figure as printed; a growth withheld over an incomplete span: 不予公布."""
    return figure_text(r["value"], r["unit"]) if r["value"] is not None else "不予公布"


def _coverage(r: dict[str, Any]) -> str:
    """23/23 县, or in bold what the figure lacks (17/23 县，缺湖南省 6 县); empty where coverage does not apply."""
    if r.get("coverage_note"):
        return f"**{r['coverage_note']}**"
    return "" if r.get("counties_expected") is None else f"{r['counties_covered']}/{r['counties_expected']} 县"


def calendar_table(paths: Paths) -> list[dict[str, Any]] | None:
    """marts.submission_status as of now (this run's failures included), Chinese headers; None without a calendar.

    What needs someone comes first: failed, held, missing, late; then the rest by province.
    """
    if not calendar_file(paths).exists() or not paths.warehouse.exists():
        return None
    with read.connect(paths.warehouse) as con:
        rows = submission_status(con, paths)
    rows.sort(key=lambda r: (ATTENTION.index(r["status"]) if r["status"] in ATTENTION else 9, r["province_code"]))
    return [
        {
            "省份": r["province_name"] or r["province_code"],
            "省份代码": r["province_code"],
            "数据集": contracts()[r["dataset"]].zh if r["dataset"] in contracts() else (r["dataset"] or ""),
            "期间": r["period"],
            "截止日期": str(r["due_date"] or ""),
            "状态": STATUS_LABELS[r["status"]],
            "状态代码": r["status"],
            "逾期天数": r["days_late"] or 0,
            "最近收到": r["last_received"].isoformat(timespec="seconds") if r["last_received"] else "",
        }
        for r in rows
    ]


@task(cache_policy=NO_CACHE)
def publish_artifacts(summary: dict[str, Any], paths: Paths) -> None:
    """Table artifacts of the run's submissions and of the reporting calendar, a markdown one of the indicators."""
    create_table_artifact(
        key=SUBMISSIONS_KEY,
        table=submissions_table(summary),
        description="本次运行收到的报送：省份、数据集、状态、入库与退回行数（代码在旁）。",
    )
    create_markdown_artifact(
        key=INDICATORS_KEY,
        markdown=indicators_markdown(paths, summary),
        description="本次运行后的主要指标。",
    )
    try:
        calendar = calendar_table(paths)
    except ConfigError as exc:  # a broken calendar.yaml: the run's figures stand; `fupin status` says what is wrong
        get_run_logger().warning("reporting calendar not published: %s", exc)
        calendar = None
    if calendar is not None:
        create_table_artifact(
            key=CALENDAR_KEY,
            table=calendar,
            description="报送日历（fupin status）：各省各数据集各期间的报送情况——失败、待确认、未报、迟报在前。",
        )
