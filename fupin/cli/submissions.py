"""`fupin submissions`: the submission ledger (filtered by status, province, date), or one submission's rejected
rows, how its headers were read and, for a held one, what it would retire."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from fupin.cli.app import HomeOption, connect, fail, paths, text
from fupin.core.formatting import json_value
from fupin.core.messages import codes_in, say

SHANGHAI = ZoneInfo("Asia/Shanghai")


def submissions(
    submission_id: Annotated[
        str | None, typer.Option("--id", help="One submission: its rejections, headers and what it would retire.")
    ] = None,
    status: Annotated[
        list[str] | None,
        typer.Option("--status", help="Only this status (code such as held, or 暂缓入库，待确认); repeat for several."),
    ] = None,
    province: Annotated[
        str | None, typer.Option("--province", help="Only this province: code, Chinese name or pinyin.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only submissions received from this date (Asia/Shanghai) on.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    home: HomeOption = None,
) -> None:
    """The submission ledger with kind (更正/全量) and time received, or one submission in detail (in Chinese)."""
    # lazy: DuckDB, the ledger's labels and the pipeline's records (Prefect) load when the ledger is read
    from fupin.core.reference import resolve_province, submitters
    from fupin.tasks.summary import run_records
    from fupin.warehouse import read
    from fupin.warehouse.labels import labels_of

    if submission_id:
        _one(submission_id, as_json, home)
        return
    statuses = _statuses(status, labels_of("submission_status"))
    code = None
    if province:
        try:
            code = resolve_province(province)
        except ValueError:
            fail(say("unknown_province.named", value=province))
    moment = _since(since) if since else None
    names = submitters()
    kinds, labels = labels_of("submission_kind"), labels_of("submission_status")
    with connect(home) as con:
        found = read.submissions(con, statuses, code, moment)
    rows = [
        {
            **r,
            "province_name": names.get(r["province_code"], r["province_code"]),
            "dataset_name": dataset_names(r["dataset"]),
            "kind_name": kinds.get(r["kind"], r["kind"] or ""),
            "status_name": labels.get(r["status"], r["status"]),
        }
        for r in found
    ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1, default=json_value))
        return
    console = Console(width=180)
    table = Table(title=f"报送台账（{len(rows)}）", title_justify="left")
    headers = ("编号", "省份", "文件", "数据集", "类别", "状态", "接收时间", "读取行数", "入库行数", "退回行数", "说明")
    for col in headers:
        table.add_column(col, overflow="fold")
    for r in rows:
        cells = (
            r["submission_id"],
            r["province_name"],
            r["file_name"],
            r["dataset_name"],
            r["kind_name"],
            r["status_name"],
            _shown_time(r["received_at"]),
            r["rows_total"],
            r["rows_loaded"],
            r["rows_rejected"],
            r["message"],
        )
        table.add_row(*[text(v, 100) for v in cells])
    console.print(table)
    # files with ID numbers waiting for the pseudonymisation key are kept in the raw archive, not yet in the
    # ledger: the latest run's failures name them
    records = run_records(paths(home))
    failed = (records[-1][1].get("failures") or {}) if records else {}
    for province_code, reason in sorted(failed.items()):
        if (code is None or province_code == code) and "pii_key_missing" in codes_in(reason):
            name = names.get(province_code, province_code)
            console.print(text(f"等待密钥（尚未入台账）：{name} {reason.splitlines()[0]}"))


def _statuses(given: list[str] | None, labels: dict[str, str]) -> list[str] | None:
    """Status codes from codes or their Chinese labels (暂缓入库，待确认 or its first words, 暂缓入库)."""
    if not given:
        return None
    codes = []
    for value in given:
        v = value.strip()
        found = v if v in labels else next((c for c, z in labels.items() if v in (z, z.split("，")[0])), None)
        if found is None:
            known = "、".join(f"{c}（{z}）" for c, z in labels.items())
            fail(say("status_filter_unknown", value=value, known=known))
        codes.append(found)
    return codes


def _since(value: str) -> datetime:
    """The start of that day in Asia/Shanghai, or a moment given in full."""
    try:
        return datetime.combine(date.fromisoformat(value), time(0), tzinfo=SHANGHAI)
    except ValueError:
        pass
    from fupin.warehouse.asof import parse_moment  # lazy: DuckDB and the contracts, only for a full moment

    try:
        return parse_moment(value, "--since")
    except ValueError as exc:
        fail(str(exc))


def _shown_time(moment: datetime | None) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment else ""


# rejected rows `submissions --id` prints (a registry can have millions; --json gives them all)
SHOWN_REJECTIONS = 1_000


def _one(submission_id: str, as_json: bool, home) -> None:
    """One submission: its ledger line, rejected rows, headers read and, held, the facts it would retire."""
    # lazy: as submissions' own
    from fupin.tasks.receipt import STATUS_LABELS, column_namer
    from fupin.tasks.records import Outcome, Rejection
    from fupin.warehouse import read
    from fupin.warehouse.labels import label

    with connect(home) as con:
        one = read.submission(con, submission_id)
        if not one:
            fail(say("unknown_submission", id=submission_id))
        mappings = read.header_mappings(con, submission_id)  # None: kept only by newer warehouses
        rejected = read.rejections(con, submission_id, limit=None if as_json else SHOWN_REJECTIONS)
        rejected_count = len(rejected) if as_json else read.rejection_count(con, [submission_id])
        retired = read.retirements(con, [submission_id])
    outcome = Outcome(
        submission_id,
        "",
        one["file_name"],
        "",
        "",
        rejections=[Rejection(*r.values()) for r in rejected],
    )
    outcome.header_mapping = [
        {"column_name": m["column_name"], "submitted_header": m["submitted_header"], "matched_by": m["matched_by"]}
        for m in mappings or []
    ]
    column = column_namer(outcome)
    if as_json:
        document: dict[str, Any] = {
            **one,
            "status_name": STATUS_LABELS.get(one["status"], one["status"]),
            "kind_name": label("submission_kind", one["kind"]) if one["kind"] else "",
            "rejections": [{**r, "column": column(r["field"], r["reason"])} for r in rejected],
            "header_mappings": mappings,
            "retired": retired,
        }
        typer.echo(json.dumps(document, ensure_ascii=False, indent=1, default=json_value))
        return
    console = Console(width=160)
    status = STATUS_LABELS.get(one["status"], one["status"])
    kind = label("submission_kind", one["kind"]) if one["kind"] else ""
    console.print(
        text(f"{submission_id}  {one['file_name']}  {kind}  {status}  接收于 {_shown_time(one['received_at'])}")
    )
    console.print(text(one["message"] or ""))
    listed = f"，列出前 {SHOWN_REJECTIONS:,} 行；完整清单见回执 CSV 或 --json" if rejected_count > len(rejected) else ""
    tables = [
        (
            f"退回的行（{rejected_count:,}{listed}）",
            ("行号", "列", "填报值", "原因", "原因代码"),
            [(r.row_number, column(r.field, r.reason), r.value, r.reason, r.code) for r in outcome.rejections],
        )
    ]
    if mappings is not None:
        tables.append(
            (
                f"表头识别（{len(mappings)}）",
                ("工作表", "报送的表头", "对应字段", "识别方式", "来源"),
                [
                    (
                        m["sheet"],
                        m["submitted_header"],
                        m["column_name"],
                        label("matched_by", m["matched_by"]),
                        label("mapping_source", m["source"] or "header"),
                    )
                    for m in mappings
                ],
            )
        )
    if retired:
        what = "确认后将撤销的数据" if one["status"] == "held" else "暂缓时核对的将撤销数据"
        tables.append(
            (
                f"{what}（{len(retired)} 个县或地区，共 {sum(r['rows'] for r in retired)} 行）",
                ("数据集", "县（地区）", "年度", "行数", "其余键值"),
                [
                    (label("dataset", r["dataset"]), r["place_name"], r["years"], r["rows"], r["details"])
                    for r in retired
                ],
            )
        )
    for title, columns, rows in tables:
        table = Table(title=title, title_justify="left")
        for col in columns:
            table.add_column(col, overflow="fold")
        for r in rows:
            table.add_row(*[text(v) for v in r])
        console.print(table)


def dataset_names(datasets: str | None) -> str:
    """Datasets of a ledger row ('fund_allocation,training') in Chinese: 资金下达、培训."""
    from fupin.warehouse.labels import label  # lazy: the contracts' labels (~0.15 s), not for --help

    return "、".join(label("dataset", d) for d in (datasets or "").split(",") if d)
