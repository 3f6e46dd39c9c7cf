"""`fupin submissions`: the submission ledger, or one submission's rejected rows and how its headers were read."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from fupin.cli.app import HomeOption, connect, fail, paths, text
from fupin.core.messages import codes_in, say


def submissions(
    submission_id: Annotated[str | None, typer.Option("--id", help="Show one submission's rejections.")] = None,
    home: HomeOption = None,
) -> None:
    """The submission ledger, or one submission's rejected rows and how its headers were read (in Chinese)."""
    # lazy: DuckDB, the ledger's labels and the pipeline's records (Prefect) load when the ledger is read
    from fupin.core.reference import submitters
    from fupin.tasks.receipt import STATUS_LABELS, column_namer
    from fupin.tasks.records import Outcome, Rejection
    from fupin.tasks.summary import run_records
    from fupin.warehouse import read
    from fupin.warehouse.labels import label

    console = Console(width=160)
    with connect(home) as con:
        if submission_id:
            one = read.submission(con, submission_id)
            found = (one["file_name"], one["status"], one["message"]) if one else None
            if not found:
                fail(say("unknown_submission", id=submission_id))
            status = STATUS_LABELS.get(found[1], found[1])
            console.print(text(f"{submission_id}  {found[0]}  {status}  {found[2] or ''}"))
            found_mappings = read.header_mappings(con, submission_id)  # None: kept only by newer warehouses
            mapped = None if found_mappings is None else [tuple(m.values()) for m in found_mappings]
            rejected = [tuple(r.values()) for r in read.rejections(con, submission_id)]
            outcome = Outcome(submission_id, "", found[0], "", "", rejections=[Rejection(*r) for r in rejected])
            outcome.header_mapping = [
                {"column_name": m[2], "submitted_header": m[1], "matched_by": m[3]} for m in mapped or []
            ]
            column = column_namer(outcome)
            tables = [
                (
                    "退回的行",
                    ("行号", "列", "填报值", "原因", "原因代码"),
                    [(r.row_number, column(r.field, r.reason), r.value, r.reason, r.code) for r in outcome.rejections],
                )
            ]
            if mapped is not None:
                tables.append(
                    (
                        "表头识别",
                        ("工作表", "报送的表头", "对应字段", "识别方式", "来源"),
                        [
                            (m[0], m[1], m[2], label("matched_by", m[3]), label("mapping_source", m[4] or "header"))
                            for m in mapped
                        ],
                    )
                )
            for title, columns, rows in tables:
                table = Table(title=f"{title}（{len(rows)}）", title_justify="left")
                for col in columns:
                    table.add_column(col, overflow="fold")
                for r in rows:
                    table.add_row(*[text(v) for v in r])
                console.print(table)
            return
        rows = [tuple(r.values()) for r in read.submissions(con)]
    table = Table(title="报送台账", title_justify="left")
    for col in ("编号", "省份", "文件", "数据集", "状态", "读取行数", "入库行数", "退回行数", "说明"):
        table.add_column(col, overflow="fold")
    names = submitters()
    for sid, province, file_name, dataset, status, total, loaded, rejected, message in rows:
        cells = (
            sid,
            names.get(province, province),
            file_name,
            dataset_names(dataset),
            STATUS_LABELS.get(status, status),
        )
        table.add_row(*[text(v, 100) for v in (*cells, total, loaded, rejected, message)])
    console.print(table)
    # files with ID numbers waiting for the pseudonymisation key are kept in the raw archive, not yet in the
    # ledger: the latest run's failures name them
    records = run_records(paths(home))
    failed = (records[-1][1].get("failures") or {}) if records else {}
    for code, reason in sorted(failed.items()):
        if "pii_key_missing" in codes_in(reason):
            console.print(text(f"等待密钥（尚未入台账）：{names.get(code, code)} {reason.splitlines()[0]}"))


def dataset_names(datasets: str | None) -> str:
    """Datasets of a ledger row ('fund_allocation,training') in Chinese: 资金下达、培训."""
    from fupin.warehouse.labels import label  # lazy: the contracts' labels (~0.15 s), not for --help

    return "、".join(label("dataset", d) for d in (datasets or "").split(",") if d)
