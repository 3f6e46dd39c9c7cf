"""``fupin check FILE``: what a nightly run would make of one file, without touching the home.

A dry run for a clerk before sending a form, or an engineer adding a province: the file goes through the
same parse → normalise → validate → lake → load steps as a run (the tasks' plain functions, no Prefect
server), in a scratch home in the system's temporary folder holding a copy of the home's warehouse, its
config and run records, and links to its households' lake files. What it reports: the dataset recognised,
how each header and the title were read and from where, the unit, the rows that would load or be
rejected (the receipt's lines), whether the plausibility gate would hold the file, and which published
figures (marts.indicators) would change and by how much. The scratch home is deleted at the end; nothing
is written in the home.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect.logging import disable_run_logger

from fupin.core.config import ConfigError, Paths, inbox_sources
from fupin.core.formatting import figure_text
from fupin.core.messages import code_in, say
from fupin.core.reference import resolve_province, submitters
from fupin.core.safe_text import gate, printable, shown_name
from fupin.tasks.lake import write_lake
from fupin.tasks.load import load_warehouse
from fupin.tasks.load.ledger import LIVE, read_ledger
from fupin.tasks.normalise import field_label
from fupin.tasks.normalise.helpers import clean_label, sheet_unit
from fupin.tasks.process import normalise_submission, parse_submission, validate_submission
from fupin.tasks.pull import submission_id_for
from fupin.tasks.receipt import receipt_rows
from fupin.tasks.records import Outcome, Received, submission_kind
from fupin.tasks.summary import EXIT_OK, EXIT_REJECTED
from fupin.warehouse import read
from fupin.warehouse.contracts import contracts
from fupin.warehouse.labels import label


class CheckError(ValueError):
    """The check cannot run (no such file, no province), with the reason in Chinese and its code."""


@dataclass
class Change:
    indicator: str
    name: str
    scope_code: str
    scope_name: str
    period: str
    before: Any
    after: Any
    unit: str
    unit_name: str | None = None


@dataclass
class CheckReport:
    """What a run would make of the file."""

    file: str
    file_name: str
    province_code: str
    kind: str
    dataset: str | None = None
    status: str = "rejected"
    message: str | None = None
    rows_total: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    tables: list[dict[str, Any]] = field(default_factory=list)  # sheet, title, reporting unit, sheet unit
    header_mapping: list[dict[str, Any]] = field(default_factory=list)
    units: list[str] = field(default_factory=list)
    rejections: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    held: str | None = None  # the gate's held message, when it would hold the file
    duplicate_of: str | None = None
    changes: list[Change] = field(default_factory=list)
    first_published: int = 0

    @property
    def exit_code(self) -> int:
        if self.status == "loaded" and not self.held:
            return EXIT_OK
        return EXIT_REJECTED

    def as_json(self) -> dict[str, Any]:
        doc = {k: v for k, v in self.__dict__.items() if k != "changes"}
        doc["changes"] = [c.__dict__ for c in self.changes]
        doc["exit_code"] = self.exit_code
        return doc


def province_for(file: Path, paths: Paths, province: str | None) -> tuple[str, str]:
    """(province code, the file's path in its source) from --province, or the home's inbox folder holding it."""
    sources = []
    inbox = paths.home / "inbox"
    if inbox.is_dir():
        try:
            sources = inbox_sources(inbox)
        except ConfigError:
            sources = []
    holding = next((s for s in sources if file.resolve().is_relative_to(Path(s.url).resolve())), None)
    rel = file.resolve().relative_to(Path(holding.url).resolve()).as_posix() if holding else file.name
    if province:
        try:
            return resolve_province(province), rel
        except ValueError as exc:
            raise CheckError(say("unknown_province", province=province, error=exc)) from None
    if holding:
        return holding.province_code, rel
    if len(sources) == 1:
        return sources[0].province_code, rel
    raise CheckError(say("province_required", name=shown_name(file.name)))


def _scratch_home(paths: Paths, root: Path) -> Paths:
    """A home in ``root`` holding a copy of the warehouse (its households included), config and run records."""
    scratch = Paths(root / "home")
    scratch.home.mkdir(mode=0o700, parents=True)
    for name in ("warehouse.duckdb", "warehouse.duckdb.wal"):
        if (paths.home / name).is_file():
            shutil.copyfile(paths.home / name, scratch.home / name)
    for folder in ("config", "runs"):
        if (paths.home / folder).is_dir():
            shutil.copytree(paths.home / folder, scratch.home / folder)
    return scratch


def _indicators(warehouse: Path) -> dict[tuple[str, str, str], tuple]:
    if not warehouse.exists():
        return {}
    with read.connect(warehouse) as con:
        rows = con.execute(
            "select indicator, scope_code, period, indicator_name, scope_name, value, unit, unit_name "
            "from marts.indicators"
        ).fetchall()
    return {tuple(r[:3]): r[3:] for r in rows}


def _changes(before: dict, after: dict) -> tuple[list[Change], int]:
    """Figures whose value differs (changed or withdrawn), and how many would be published for the first time."""
    changed = []
    for key in sorted(set(before) | set(after)):
        b, a = before.get(key), after.get(key)
        if b is None:
            continue
        if a is not None and b[2] == a[2]:
            continue
        name, scope_name, value, unit, unit_name = (a or b)[0], (a or b)[1], b[2], b[3], b[4]
        changed.append(Change(key[0], name, key[1], scope_name, key[2], value, a[2] if a else None, unit, unit_name))
    return changed, sum(1 for key in after if key not in before)


def _sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with open(file, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _units(doc: dict, mapping: list[dict]) -> list[str]:
    """How the form states its units: each mapped column's own, then each sheet's 单位 line."""
    found = []
    for m in mapping:
        if not m.get("column_name"):
            continue
        unit = m.get("unit") or clean_label(str(m.get("submitted_header") or ""))[1]
        if unit:
            where = label("mapping_source", m.get("source") or "header")
            found.append(f"“{m['submitted_header']}”：{unit}（{where}）")
    for table in doc.get("tables") or []:
        unit = sheet_unit(table.get("context") or {})
        if unit:
            sheet = f"工作表「{table['sheet']}」" if table.get("sheet") else "全表"
            found.append(f"{sheet}：{unit}（表格的“单位”说明）")
    return found


def check_file(
    file: str | os.PathLike, home: str | os.PathLike | None = None, province: str | None = None
) -> CheckReport:
    """What a run on ``home`` would make of ``file``; writes nothing in the home (a scratch home, then deleted)."""
    source = Path(file)
    if not source.is_file():
        raise CheckError(say("file_not_found", path=source))
    paths = Paths.from_home(home)
    code, rel = province_for(source, paths, province)
    root = Path(tempfile.mkdtemp(prefix="fupin-check-"))
    if root.resolve().is_relative_to(paths.home):
        shutil.rmtree(root, ignore_errors=True)
        raise CheckError(say("check_tmp_in_home", root=root))
    try:
        scratch = _scratch_home(paths, root)
        sha = _sha256(source)
        seen = read_ledger.fn(scratch)  # the copy's ledger: the home's file is only read by the copy
        raw = scratch.raw / code / f"{sha}{''.join(source.suffixes[-1:]).lower()}"
        raw.parent.mkdir(parents=True)
        shutil.copyfile(source, raw)
        rel, name = shown_name(rel), shown_name(source.name)  # as a run stores and shows them: IDs masked
        received = Received(
            submission_id=submission_id_for(code, rel, sha),
            province_code=code,
            source_url=str(source.parent),
            source_path=rel,
            file_name=name,
            sha256=sha,
            size=raw.stat().st_size,
            raw_path=str(raw),
            received_at=datetime.now(UTC).isoformat(timespec="microseconds"),
            kind=submission_kind(source.name),
        )
        report = CheckReport(shown_name(source), name, code, received.kind)
        report.duplicate_of = seen.get(f"{code}|{sha}")
        before = _indicators(scratch.warehouse)
        with disable_run_logger():
            parsed = parse_submission.fn(received, scratch)
            parsed_doc = json.loads(Path(parsed).read_text(encoding="utf-8"))
            normalised = normalise_submission.fn(parsed, scratch)
            normalised_doc = json.loads(Path(normalised).read_text(encoding="utf-8"))
            outcome_path = write_lake.fn(validate_submission.fn(normalised, scratch), scratch)
            outcome = Outcome.load(outcome_path)
            report.tables = [
                {
                    "sheet": t.get("sheet"),
                    # the submitter's words, shown as the ledger would keep them
                    "title": _gated((t.get("context") or {}).get("title")),
                    "reporting_unit": _gated((t.get("context") or {}).get("reporting_unit")),
                }
                for t in parsed_doc.get("tables") or []
            ]
            report.header_mapping = normalised_doc.get("header_mapping") or []
            report.units = _units(parsed_doc, report.header_mapping)
            applied = outcome
            if outcome.status in LIVE:
                load_warehouse.fn([outcome_path], scratch)
                applied = Outcome.load(outcome_path)
                if applied.status == "held":  # what approving it would change: loaded again, approved, in a copy
                    report.held = applied.message
                    again = _scratch_home(paths, root / "approved")
                    outcome.approved = True
                    load_warehouse.fn([str(outcome.save(again.staging / "approved.json"))], again)
                    scratch = again
        report.dataset = outcome.dataset
        report.status = outcome.status
        report.message = outcome.message
        report.rows_total, report.rows_loaded, report.rows_rejected = (
            outcome.rows_total,
            outcome.rows_loaded,
            outcome.rows_rejected,
        )
        report.warnings = list(outcome.warnings)
        report.rejections = [
            {"row_number": row, "column": column, "value": value, "reason": reason, "code": code_ or code_in(reason)}
            for _, row, column, value, reason, code_ in receipt_rows(outcome)
        ]
        report.changes, report.first_published = _changes(before, _indicators(scratch.warehouse))
        return report
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _column_label(dataset: str | None, name: str | None) -> str:
    """金额 [amount_yuan]: a canonical column with its Chinese label."""
    if not name:
        return "（未识别）"
    inner = name[len("amount_yuan[") : -1] if name.startswith("amount_yuan[") else None
    if dataset and dataset in _datasets():
        try:
            shown = field_label(dataset, inner or name)
        except (KeyError, StopIteration):
            shown = name
        return f"{shown}{'·金额' if inner else ''} [{name}]"
    return name


def _datasets() -> set[str]:
    return set(contracts())


def _change_text(c: Change) -> str:
    before, after = figure_text(c.before, c.unit, c.unit_name), figure_text(c.after, c.unit, c.unit_name)
    if c.after is None:
        return f"{before} → （不再发布）"
    delta = ""
    if c.unit == "fraction":
        delta = f"（{(float(c.after) - float(c.before)) * 100:+.2f} 个百分点）"
    elif c.unit != "boolean" and c.before:
        delta = f"（{(float(c.after) - float(c.before)) / float(c.before):+.2%}）"
    return f"{before} → {after}{delta}"


def _gated(text: str | None) -> str | None:
    return None if text is None else gate(text)


def render(report: CheckReport, home: Path) -> list[str]:
    """The check's Chinese lines, as ``fupin check`` prints them."""
    names = submitters()
    kind = "全量重报" if report.kind == "full" else "更正/补报"
    who = f"{names.get(report.province_code, report.province_code)} {report.province_code}"
    lines = [f"检查：{report.file_name}（{who}，{kind}）"]
    datasets = [d for d in (report.dataset or "").split(",") if d]
    shown = "、".join(f"{label('dataset', d)} [{d}]" for d in datasets)
    lines.append(f"数据集：{shown or '未能识别'}")
    for t in report.tables:
        where = f"（工作表「{t['sheet']}」）" if t.get("sheet") else ""
        if t.get("title"):
            lines.append(f"标题：{t['title']}{where}")
        if t.get("reporting_unit"):
            lines.append(f"填报单位：{t['reporting_unit']}{where}")
    if report.units:
        lines.append("单位：" + "；".join(report.units))
    elif any(c.unit == "yuan" for d in datasets if d in contracts() for c in contracts()[d].columns):
        lines.append("单位：表头和表格中都没有写明金额单位")
    if report.header_mapping:
        lines.append("表头识别（报送的表头 → 对应字段，识别方式，来源）：")
        dataset = datasets[0] if len(datasets) == 1 else None
        for m in report.header_mapping:
            sheet = f"[{m['sheet']}] " if m.get("sheet") else ""
            source = f"，来源：{label('mapping_source', m['source'])}" if m.get("source") else ""
            lines.append(
                f"  {sheet}“{m.get('submitted_header')}” → {_column_label(dataset, m.get('column_name'))}，"
                f"{label('matched_by', m.get('matched_by') or 'unknown')}{source}"
            )
    lines.append(
        say("rejected.check")
        if report.status == "rejected" and not report.rows_total
        else f"读取 {report.rows_total} 行：可入库 {report.rows_loaded} 行，退回 {report.rows_rejected} 行"
    )
    if report.rejections:
        lines.append("退回（行号 / 列 / 填报值 / 原因 / 原因代码）：")
        for r in report.rejections:
            row = "整份文件" if r["row_number"] is None else f"第 {r['row_number']} 行"
            lines.append(f"  {row} / {r['column'] or '-'} / {r['value'] or '-'} / {r['reason']} / {r['code'] or '-'}")
    for warning in report.warnings:
        lines.append(f"提示：{warning}")
    if report.duplicate_of:
        lines.append(say("duplicate.check", original=report.duplicate_of))
    if report.status in LIVE:
        lines.append(f"合理性检查：{report.held}" if report.held else "合理性检查：通过")
        verb = "确认入库后" if report.held else "入库后"
        lines.append(f"{verb}已发布指标的变化（{len(report.changes)} 项；首次发布 {report.first_published} 项）：")
        for c in report.changes:
            lines.append(f"  {c.scope_name} [{c.scope_code}] {c.name} [{c.indicator}] {c.period}：{_change_text(c)}")
    if report.exit_code == EXIT_OK and report.duplicate_of:
        lines.append(say("check_loads.duplicate"))
    elif report.exit_code == EXIT_OK:
        lines.append(say("check_loads"))
    elif report.held:
        lines.append(say("check_held"))
    else:
        lines.append(say("check_rejected"))
    lines.append(f"本次检查没有写入数据目录 {home}。")
    return [printable(line) for line in lines]
