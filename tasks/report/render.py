"""The report page: the Jinja2 template ``tasks/templates/report.html.j2`` filled with the charts, tables and
ledger, Apache ECharts inlined once."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from fupin.core.reference import submitters
from fupin.tasks.calendar import ATTENTION
from fupin.tasks.report.charts import (
    FONT,
    county_tables,
    csv_cell,
    display_figure,
    field_label,
    funds_charts,
    incidence_chart,
    social_chart,
)
from fupin.warehouse.labels import label

SHANGHAI = ZoneInfo("Asia/Shanghai")
# rejections listed in full up to this many; beyond, the count and the first ones (the receipts have them all)
MAX_REJECTIONS_SHOWN = 200
TEMPLATE = "report.html.j2"
ECHARTS = "vendor/echarts.common.min.js"


def status_label(status: str | None, kind: str = "submission") -> str:
    """The Chinese word for a status code: ``kind`` 'submission' (meta.submissions) or 'calendar'.

    The labels are the warehouse's (warehouse/seeds/labels.csv, core.labels).
    """
    if status is None:
        return ""
    return label("calendar_status" if kind == "calendar" else "submission_status", status)


def dataset_label(dataset: str | None) -> str:
    """A dataset's Chinese name from its contract (the code itself when no contract knows it)."""
    if not dataset:
        return ""
    return label("dataset", dataset)


def _template_dir():
    return resources.files("fupin.tasks").joinpath("templates")


@cache
def echarts_js() -> str:
    """The vendored ECharts build, inlined into every report."""
    return _template_dir().joinpath(ECHARTS).read_text(encoding="utf-8")


@cache
def _environment():
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("fupin.tasks", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    # tojson keeps Chinese readable in the page (and still escapes <, >, & and ' for a <script> block)
    env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": False}
    return env


def render_report(data: dict[str, Any], day: date, library_js: str | None = None) -> str:
    """The report page; ``library_js``: the charting library's source, inlined once (default: vendored ECharts)."""
    charts_funds = funds_charts(data)
    others = [c for c in (incidence_chart(data), social_chart(data)) if c is not None]
    tables = county_tables(data)
    charts = [*charts_funds, *others]
    downloads = {c.id: c.download.payload() for c in charts}
    downloads.update({f"table-{t['area_code']}": t["download"].payload() for t in tables})
    # the banner's states come from the one query fupin status reads (warehouse/queries/submission_status.sql)
    attention = [r for r in data["calendar"] if r["status"] in ATTENTION]
    waiting = _decided_by(attention, "held")
    refused = _decided_by(attention, "failed")
    headline = [
        {
            **r,
            "indicator_name": _indicator_name(data, r["indicator"]),
            "text": display_figure(r["value"], r["unit"]) if r["value"] is not None else "不予公布",
            "raw": csv_cell(r["value"]),
            "coverage_note": r.get("coverage_note"),  # what the figure lacks (17/23 县，缺湖南省 6 县), None: complete
            "missing_county_codes": r.get("missing_county_codes") or [],
        }
        for r in data["headline"]
    ]
    submissions = [
        {
            **s,
            "province_name": submitters().get(s["province_code"], s["province_code"]),
            "dataset_name": dataset_label(s["dataset"]),
            "status_name": status_label(s["status"]),
            "message": (s["message"] or "")[:200],
        }
        for s in data["submissions"]
    ]
    rejections = [{**r, "field_name": field_label(r["field"])} for r in data["rejections"][:MAX_REJECTIONS_SHOWN]]
    ledger = "，".join(f"{status_label(r['status'])} {r['n']}" for r in data["ledger"]) or "无"
    page = (
        _environment()
        .get_template(TEMPLATE)
        .render(
            day=day.isoformat(),
            generated=datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M"),
            font=FONT,
            library_js=library_js if library_js is not None else echarts_js(),
            failures=data["failures"],
            held=data["held"],
            waiting=waiting,
            refused=refused,
            late_or_missing=sum(r["status"] in ("late", "missing") for r in attention),
            attention=[
                {
                    **r,
                    "status_name": status_label(r["status"], "calendar")
                    + ("（此前已入库）" if r.get("received_before") else ""),
                    "dataset_name": r.get("dataset_name") or dataset_label(r["dataset"]),
                }
                for r in attention
            ],
            headline=headline,
            funds=charts_funds,
            others=others,
            county_tables=tables,
            definitions=data["definitions"],
            submissions=submissions,
            rows_loaded=sum(s["rows_loaded"] or 0 for s in data["submissions"]),
            rows_rejected=sum(s["rows_rejected"] or 0 for s in data["submissions"]),
            ledger=ledger,
            rejections=rejections,
            rejections_total=len(data["rejections"]),
            max_rejections=MAX_REJECTIONS_SHOWN,
            headers={
                c: field_label(c)
                for c in (
                    "province_name",
                    "file_name",
                    "dataset",
                    "status",
                    "rows_loaded",
                    "rows_rejected",
                    "message",
                    "row_number",
                    "field",
                    "value",
                    "reason",
                )
            },
            payload={"charts": {c.id: c.option for c in charts}, "downloads": downloads},
        )
    )
    return page


def _decided_by(rows: list[dict[str, Any]], status: str) -> list[dict[str, Any]]:
    """The submissions that put rows in ``status`` (held, failed), each once, with their province's name."""
    found: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["status"] == status and r.get("submission_id"):
            seen = found.setdefault(
                r["submission_id"],
                {
                    "submission_id": r["submission_id"],
                    "file_name": r["file_name"],
                    "province_name": r["province_name"] or submitters().get(r["province_code"], r["province_code"]),
                    "received_before": False,
                },
            )
            seen["received_before"] |= bool(r.get("received_before"))
    return list(found.values())


def _indicator_name(data: dict[str, Any], indicator: str) -> str:
    return next((d["name"] for d in data["definitions"] if d["indicator"] == indicator), indicator)
