"""Report: the nightly HTML report, one self-contained file per run date (Asia/Shanghai).

``<home>/reports/<yyyy-mm-dd>.html`` holds what needs someone today, the headline indicators, the
civil-affairs funds per year of each area with their growth, each county's poverty incidence against its
exit threshold, the social organisations' funds landed, a sortable per-county table for each area, the
indicators' definitions, and the run's submissions and rejections. The page comes from the Jinja2 template
``tasks/templates/report.html.j2``; Apache ECharts (vendored in ``tasks/templates/vendor/``) is inlined
once, and every chart's data travels in the page, so it opens, draws and hands out its CSVs with no
network (a press office laptop, an e-mail attachment, a phone).

The package's parts: ``queries`` (the warehouse's rows, through fupin.warehouse.read), ``charts`` (chart
options and CSV downloads) and ``render`` (the page); this module writes the file and is the nightly task.
"""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

from fupin.core.config import Paths
from fupin.core.files import write_text_atomic
from fupin.core.reference import submitters
from fupin.tasks.calendar import submission_status
from fupin.tasks.deferred import NO_CACHE, get_run_logger, task
from fupin.tasks.report.charts import csv_cell, field_label
from fupin.tasks.report.queries import read_report_data
from fupin.tasks.report.render import SHANGHAI, dataset_label, echarts_js, render_report, status_label
from fupin.tasks.summary import run_records
from fupin.warehouse import read

__all__ = [
    "SHANGHAI",
    "csv_cell",
    "dataset_label",
    "echarts_js",
    "field_label",
    "publish_report",
    "read_report_data",
    "render_report",
    "report_path",
    "run_date",
    "status_label",
    "write_report",
]


def run_date(now: datetime | None = None) -> date:
    """Today in Asia/Shanghai, where the Ministry reads the report."""
    return (now or datetime.now(SHANGHAI)).astimezone(SHANGHAI).date()


def report_path(paths: Paths, day: date) -> Path:
    """<home>/reports/<yyyy-mm-dd>.html."""
    return paths.reports / f"{day.isoformat()}.html"


def todays_failures(paths: Paths, day: date) -> list[tuple[str, str]]:
    """(province name, file and reason) of every failure recorded by the day's runs (<home>/runs/*.json)."""
    failures: dict[str, str] = {}
    for _, r in run_records(paths):
        if datetime.fromisoformat(r["started_at"]).astimezone(SHANGHAI).date() == day:
            failures.update(r.get("failures") or {})
    names = submitters()
    return [(names.get(code, code), reason.splitlines()[0]) for code, reason in sorted(failures.items())]  # whole


def _failed_run_times(paths: Paths) -> list[float]:
    """When the run records that name failures were written."""
    return [file.stat().st_mtime for file, r in run_records(paths) if r.get("failures")]


def write_report(paths: Paths, day: date | None = None) -> Path:
    """Read the warehouse and the day's run records and write <home>/reports/<date>.html atomically."""
    day = day or run_date()
    since = datetime.combine(day, time(0), tzinfo=SHANGHAI)  # everything received that day, by every run
    with read.connect(paths.warehouse) as con:
        data = read_report_data(con, since)
        data["calendar"] = [{**r, "dataset_name": dataset_label(r["dataset"])} for r in submission_status(con, paths)]
    data["failures"] = todays_failures(paths, day)
    page = render_report(data, day)
    return write_text_atomic(report_path(paths, day), page)


@task(cache_policy=NO_CACHE)
def publish_report(paths: Paths) -> str:
    """Write the nightly HTML report from the warehouse; returns its path ('' when there is no warehouse yet)."""
    if not paths.warehouse.exists():
        get_run_logger().warning("no warehouse at %s yet: no report written", paths.warehouse)
        return ""
    existing = report_path(paths, run_date())
    # a run that changed nothing and failed nothing keeps its cost at an empty flow's: today's report already
    # shows this warehouse and the day's failures
    newest = max([paths.warehouse.stat().st_mtime, *_failed_run_times(paths)])
    if existing.exists() and existing.stat().st_mtime >= newest:
        return str(existing)
    target = write_report(paths)
    get_run_logger().info("report written to %s", target)
    return str(target)
