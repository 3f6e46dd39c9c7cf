"""The report page: the Jinja2 template ``tasks/templates/report.html.j2`` filled with the charts, tables and
ledger, Apache ECharts inlined once."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from fupin.core.formatting import figure_text, number_text
from fupin.core.messages import code_in, say
from fupin.core.reference import submitters
from fupin.tasks.calendar import ATTENTION
from fupin.tasks.report.charts import (
    FONT,
    county_tables,
    csv_cell,
    display_figure,
    field_label,
    fund_table,
    funds_charts,
    headline_download,
    incidence_chart,
    key_figures,
    social_chart,
)
from fupin.warehouse.labels import label

SHANGHAI = ZoneInfo("Asia/Shanghai")
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


def _chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def reason_text(text: str | None) -> str:
    """A stored reason as the page shows it: its Chinese text with its code, never an engineer's text."""
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    if not line:
        return ""
    return line if _chinese(line) and code_in(line) else say("reason_unrecorded")


def failure_text(reason: str) -> str:
    """A run's failure of a province (``files: why; …``, or the source's error) in Chinese with its code: a reason
    fupin wrote for people as it is, an exception's text replaced by the catalogue's line naming the files."""
    parts = []
    for part in reason.splitlines()[0].split("; ") if reason else []:
        if _chinese(part) and code_in(part):
            parts.append(part)
            continue
        names, sep, _ = part.partition(": ")
        files = [n for n in names.split("、") if "." in n] if sep else []
        parts.append(say("failure_logged", what=f"文件 {'、'.join(files)} " if files else "数据源"))
    return "；".join(dict.fromkeys(parts))


def explain_id(indicator: str, scope: str, period: str) -> str:
    """The element id of a headline figure's explanation panel."""
    return "explain-" + "-".join(x.replace(":", "_") for x in (indicator, scope, period))


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
    units = {d["indicator"]: d["unit_name"] for d in data["definitions"]}
    explained = data.get("explanations", {})
    headline = []
    for r in data["headline"]:
        e = explained.get((r["indicator"], r["scope_code"], r["period"]), {})
        headline.append(
            {
                **r,
                "indicator_name": _indicator_name(data, r["indicator"]),
                "unit_name": units.get(r["indicator"], ""),
                "text": display_figure(r["value"], r["unit"]) if r["value"] is not None else "不予公布",
                "brief": figure_text(r["value"], r["unit"], units.get(r["indicator"])),
                "raw": csv_cell(r["value"]),
                "exact": e.get("value", r["value"]),  # the warehouse's DECIMAL, for the CSV
                "explain_id": explain_id(r["indicator"], r["scope_code"], r["period"]),
                **{c: e.get(c) for c in ("counties_covered", "counties_expected", "coverage_note")},
                # what the figure lacks (17/23 县，缺湖南省 6 县) as marts.indicators says it; None: complete
                **{c: r[c] for c in ("counties_covered", "counties_expected", "coverage_note") if c in r},
                "missing_county_codes": r.get("missing_county_codes") or [],
            }
        )
    explanations = [_panel(h, explained.get((h["indicator"], h["scope_code"], h["period"]))) for h in headline]
    exact = [{**h, "value": h["exact"]} for h in headline]
    downloads["headline"] = headline_download(exact, data.get("coverage_kept", False)).payload()
    funds_table = fund_table(data.get("fund_by_county", []))
    downloads["fund-table"] = funds_table["download"].payload()
    names = submitters()
    submissions = [
        {
            **s,
            "province_name": names.get(s["province_code"], s["province_code"]),
            "dataset_name": dataset_label(s["dataset"]),
            "status_name": status_label(s["status"]),
            "message": reason_text(s["message"])[:200],
        }
        for s in data["submissions"]
    ]
    rejections = [
        {**r, "field_name": field_label(r["field"]), "reason": _rejection_reason(r)} for r in data["rejections"]
    ]
    changes = [
        {
            **c,
            "indicator_name": c["indicator_name"] or c["indicator"],
            "before": display_figure(c["value_before"], c["unit"]),
            "after": display_figure(c["value_after"], c["unit"]),
            "names": c["submission_names"] or ([c["submissions"]] if c["submissions"] else []),
        }
        for c in data.get("changes", [])
    ]
    ledger = "，".join(f"{status_label(r['status'])} {r['n']}" for r in data["ledger"]) or "无"
    page = (
        _environment()
        .get_template(TEMPLATE)
        .render(
            day=day.isoformat(),
            generated=datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M"),
            font=FONT,
            library_js=library_js if library_js is not None else echarts_js(),
            failures=[(name, failure_text(reason)) for name, reason in data["failures"]],
            held=[
                {
                    **h,
                    "province_name": names.get(h["province_code"], h["province_code"]),
                    "reason": reason_text(h["message"]),
                }
                for h in data["held"]
            ],
            waiting=waiting,
            refused=refused,
            late_or_missing=sum(r["status"] in ("late", "missing") for r in attention),
            attention=[
                {
                    **r,
                    "province_name": r.get("province_name") or names.get(r["province_code"], r["province_code"]),
                    "status_name": status_label(r["status"], "calendar")
                    + ("（此前已入库）" if r.get("received_before") else ""),
                    "dataset_name": r.get("dataset_name") or dataset_label(r["dataset"]),
                }
                for r in attention
            ],
            headline=headline,
            key_figures=key_figures(headline, data["areas"]),
            explanations=explanations,
            fund_table=funds_table,
            funds=charts_funds,
            others=others,
            county_tables=tables,
            definitions=data["definitions"],
            submissions=submissions,
            changes=changes,
            rows_loaded=sum(s["rows_loaded"] or 0 for s in data["submissions"]),
            rows_rejected=sum(s["rows_rejected"] or 0 for s in data["submissions"]),
            ledger=ledger,
            rejections=rejections,
            rejections_total=data["rejection_count"][0]["rejections"],
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


def _rejection_reason(r: dict[str, Any]) -> str:
    """A rejected row's reason in Chinese with its code beside it."""
    reason = (r.get("reason") or "").strip()
    code = r.get("reason_code") or code_in(reason)
    if not _chinese(reason):
        return say("reason_unrecorded")
    return reason if code is None or f"[{code}" in reason else f"{reason} [{code}]"


# a panel lists at most this many rows (a list of 228 county rows would weigh the page down); fupin explain gives all
MAX_PANEL_ROWS = 100


def _panel(h: dict[str, Any], e: dict[str, Any] | None) -> dict[str, Any]:
    """One headline figure's explanation panel: definition, value, coverage, what makes it."""
    e = e or {}
    rows = []
    # the files once per panel, numbered; each row names its file by number and its rows (a panel of 452 county
    # rows from one list stays small)
    files: dict[str, int] = {}
    for c in e.get("contributions", []):
        for source in c.get("sources") or []:
            files.setdefault(source["file"], len(files) + 1)
    for c in e.get("contributions", []):
        rows.append(
            {
                "province_name": c["province_name"] or "",
                "county_name": c["county_name"] or "",
                "year": c["year"],
                "text": figure_text(c["value"], "yuan" if c["kind"] == "basis" else h["unit"], h["unit_name"]),
                "raw": csv_cell(c["value"]),
                "kind": c["kind"],
                "sources": "；".join(
                    (f"[{files[s['file']]}] " if len(files) > 1 else "") + s["rows"] for s in c.get("sources") or []
                ),
            }
        )
    basis = bool(rows) and rows[0]["kind"] == "basis"
    summed = sum(c["value"] for c in e.get("contributions", []) if c["kind"] == "county")
    return {
        **h,
        "definition": e.get("definition", ""),
        "basis": basis,
        "files": [f"[{n}] {name}" if len(files) > 1 else name for name, n in files.items()],
        "rows_total": len(rows),
        "rows": rows[:MAX_PANEL_ROWS],
        "adds_up": e.get("adds_up", False),
        "ratio": h["unit"] in ("fraction", "boolean"),  # county values that are not added up
        "summed": figure_text(summed, h["unit"], h["unit_name"]),
        "total": h["brief"],
        "exact_text": "" if h["exact"] is None else number_text(h["exact"]),
    }
