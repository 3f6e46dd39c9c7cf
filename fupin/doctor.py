"""`fupin doctor`: check a home folder and say, one line each, what is wrong and what to do.

Findings are Chinese for the operator, each with a stable code. Errors make the command exit 1;
notes (tips that do not stop a run) leave it at 0. Nothing is changed: the doctor only reads (and makes
and removes one empty file per folder to tell whether a run could write there); ``--fix`` repairs what can
be repaired without a person's judgement (receipts rewritten from the ledger) before it checks.
"""

from __future__ import annotations

import fcntl
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import duckdb

from fupin.core.config import ConfigError, Paths
from fupin.core.home import in_home, unwritable
from fupin.core.locking import run_lock
from fupin.core.messages import message, render, say
from fupin.core.reference import MINISTRY_CODE, MINISTRY_NAME
from fupin.tasks.archive import LEDGER_TABLES
from fupin.tasks.calendar import load_calendar
from fupin.tasks.receipt import STATUS_LABELS, stale_receipts, sync_receipts
from fupin.warehouse import read
from fupin.warehouse.labels import labels_of

ERROR, NOTE = "错误", "提示"


@dataclass(frozen=True)
class Finding:
    """One thing the doctor found: its level (错误 or 提示), a stable code and the line an operator reads."""

    level: str
    code: str
    message: str

    def line(self) -> str:
        return f"{self.level} [{self.code}] {self.message}"


def _too_open(path: Path) -> bool:
    return bool(path.stat().st_mode & 0o077)


def _run_in_progress(paths: Paths) -> bool:
    if not paths.lock.exists():
        return False
    with open(paths.lock) as fh:  # read-only: the doctor may look at a home it cannot write
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
    return False


def _warehouse_findings(paths: Paths) -> list[Finding]:
    found: list[Finding] = []
    wal = Path(str(paths.warehouse) + ".wal")
    building = paths.warehouse.with_name(paths.warehouse.name + ".building")
    running = _run_in_progress(paths)
    if running:
        found.append(Finding(NOTE, "run_in_progress", "有一次运行正在进行；以下文件检查以它结束后为准"))
    if wal.exists() and not running:
        found.append(
            Finding(
                ERROR,
                "stale_wal",
                f"发现残留的 WAL 文件 {wal}（某个读写会话被中断，其中可能有别人未写入的数据）："
                f"确认没有程序打开仓库后，用 duckdb 读写打开一次仓库并执行 CHECKPOINT，"
                f"或把它改名保留（如 {wal.name}.old），再运行 fupin run",
            )
        )
    if building.exists() and not running:
        found.append(Finding(NOTE, "leftover_building", f"上次运行留下的 {building.name}：下次运行会自动清除"))
    if not paths.warehouse.exists():
        found.append(Finding(NOTE, "no_warehouse", f"{paths.warehouse} 还不存在：运行 fupin run 生成"))
        return found
    try:
        with read.connect(paths.warehouse) as con:
            partitions = read.lake_partitions(con)
            provinces = read.code_names(con, "province") or {}
    except duckdb.Error as exc:
        found.append(
            Finding(
                ERROR,
                "warehouse_unreadable",
                f"仓库文件无法打开（{type(exc).__name__}）：把 {paths.warehouse.name} 改名保留（不要删除），"
                "再用 rebuild-warehouse 从湖和台账重建",
            )
        )
        return found
    found += _lake_findings(paths, partitions, {**provinces, MINISTRY_CODE: MINISTRY_NAME}, labels_of("dataset"))
    if _too_open(paths.warehouse):
        found.append(
            Finding(NOTE, "warehouse_readable_by_others", f"{paths.warehouse.name} 对其他用户可读：建议 chmod 600")
        )
    return found


def _lake_findings(
    paths: Paths, partitions: list[dict], provinces: dict[str, str], datasets: dict[str, str]
) -> list[Finding]:
    """One finding per lake partition missing files the warehouse's facts came from: a rebuild or a recovery reads
    every version of them again, and would silently lose what is gone."""
    missing: dict[tuple[str, str, int], list[str]] = {}
    for p in partitions:
        if not in_home(p["lake_file"], paths.home).is_file():
            missing.setdefault((p["dataset"], p["province_code"], p["year"]), []).append(p["lake_file"])
    found = []
    for (dataset, province, year), files in sorted(missing.items()):
        files = sorted(set(files))
        report = message(
            "lake_partition_missing",
            partition=f"lake/{dataset}/province={province}/year={year}",
            dataset=datasets.get(dataset, dataset),
            province=provinces.get(province, province),
            province_code=province,
            year=year,
            count=len(files),
            example=Path(files[0]).name,
        )
        found.append(Finding(ERROR, report.code, render(report, coded=False)))
    return found


def _key_findings(paths: Paths) -> list[Finding]:
    found: list[Finding] = []
    key_file = Path(os.environ.get("FUPIN_PII_KEY_FILE") or paths.home / ".pii_key")
    if os.environ.get("FUPIN_PII_KEY"):
        pass
    elif key_file.exists():
        if _too_open(key_file):
            found.append(
                Finding(ERROR, "key_readable_by_others", f"密钥文件 {key_file} 对其他用户可读：执行 chmod 600")
            )
    else:
        found.append(
            Finding(
                NOTE,
                "key_not_found",
                "环境变量 FUPIN_PII_KEY / FUPIN_PII_KEY_FILE 和 <home>/.pii_key 都没有假名化密钥："
                "若用 Prefect Secret 块 fupin-pii-key 可忽略，否则建档立卡数据会被退回",
            )
        )
    return found


def _raw_findings(paths: Paths) -> list[Finding]:
    if not paths.raw.exists():
        return []
    # the files hold ID numbers in clear; the folders only list sha256 names
    open_entries = [p for p in paths.raw.rglob("*") if stat.S_ISREG(p.lstat().st_mode) and p.lstat().st_mode & 0o077]
    if not open_entries:
        return []
    return [
        Finding(
            ERROR,
            "raw_readable_by_others",
            f"原始档案中 {len(open_entries)} 个文件对其他用户可读（如 {open_entries[0]}），"
            f"其中有明文身份证号：执行 chmod -R go-rwx {paths.raw}",
        )
    ]


def _home_findings(paths: Paths) -> list[Finding]:
    """The home's own permissions (everything in it may hold personal data) and a killed run's staging."""
    found: list[Finding] = []
    if _too_open(paths.home):
        found.append(
            Finding(
                ERROR,
                "home_readable_by_others",
                f"数据目录 {paths.home} 对其他用户开放（其中的湖、仓库、回执和报告含个人数据）："
                f"执行 chmod 700 {paths.home}（下次运行也会自动收紧）",
            )
        )
    blocked = unwritable(paths.home)
    if blocked:
        found.append(
            Finding(
                NOTE,
                "home_read_only",
                f"数据目录中的 {blocked[0]} 不可写（{blocked[1]}）：可以查询（fupin query、fupin indicators），"
                "但运行需要写权限：chmod u+w 或换一个可写的 --home",
            )
        )
    if paths.staging.exists() and any(paths.staging.iterdir()) and not _run_in_progress(paths):
        found.append(
            Finding(
                NOTE,
                "leftover_staging",
                f"上次运行中断留下的暂存目录 {paths.staging}：下次运行开始时会清除，也可以现在删除它",
            )
        )
    return found


def _receipt_findings(paths: Paths) -> list[Finding]:
    """Receipts that do not say what the ledger says (a command killed after the warehouse swap)."""
    if not paths.receipts.is_dir() or not paths.warehouse.exists():  # no receipt written in this home yet
        return []
    try:
        with read.connect(paths.warehouse) as con:
            found = stale_receipts(con, paths)
    except duckdb.Error:  # the warehouse findings say it
        return []
    found = [(o, why) for o, why in found if why == "stale"] + [(o, why) for o, why in found if why == "missing"]
    if not found:
        return []
    o, why = found[0]
    missing = sum(w == "missing" for _, w in found)
    status = STATUS_LABELS.get(o.status, o.status)
    what = "不存在" if why == "missing" else "与台账不符"
    example = f"如 {o.submission_id}（{o.file_name}）的回执{what}，台账为“{status}”"
    return [
        Finding(
            ERROR,
            "receipt_stale",
            f"{len(found)} 份回执与台账不符（其中 {missing} 份缺失；{example}）：各省据回执更正，须重写："
            "运行 fupin doctor --fix，或下次 fupin run 会按台账重写",
        )
    ]


# what fupin writes in the folders the warehouse reads or recovers from, relative to each (a killed write's
# `.<name>.tmp` aside): anything else was put there by someone else
_LAKE_DIRS = (re.compile(r"[a-z_]+"), re.compile(r"province=[0-9]{2}"), re.compile(r"year=[0-9]{4}"))
_LAKE_FILE = re.compile(r"[0-9]{2}-[0-9a-f]+\.parquet")
_LEFTOVER = re.compile(r"\..+\.tmp")


def _expected(folder: str, parts: tuple[str, ...], is_dir: bool) -> bool:
    """Whether a path (parts relative to <home>/<folder>) is one fupin writes there."""
    if not is_dir and _LEFTOVER.fullmatch(parts[-1]):
        return True
    if folder == "lake":
        if is_dir:
            return len(parts) <= 3 and all(p.fullmatch(x) for p, x in zip(_LAKE_DIRS, parts, strict=False))
        return len(parts) == 4 and _expected(folder, parts[:3], True) and bool(_LAKE_FILE.fullmatch(parts[3]))
    if folder == "runs":
        return not is_dir and len(parts) == 1 and parts[0].endswith(".json")
    return not is_dir and len(parts) == 1 and parts[0] in {f"{t}.parquet" for t in LEDGER_TABLES}


def _layout_findings(paths: Paths) -> list[Finding]:
    """Links (symbolic, or a file with another name elsewhere) and files fupin does not write in lake/, runs/ and
    ledger/: the warehouse, `fupin query` and a recovery read these folders."""
    found: list[Finding] = []
    for folder in ("lake", "runs", "ledger"):
        root = paths.home / folder
        if not root.exists() and not root.is_symlink():
            continue
        links: list[str] = []
        strange: list[str] = []
        if root.is_symlink():
            links.append(folder)
        elif not root.is_dir():
            strange.append(folder)
        else:
            for top, dirs, files in os.walk(root):  # links are not followed
                for name in [*dirs, *files]:
                    path = Path(top) / name
                    rel = path.relative_to(paths.home).as_posix()
                    st = path.lstat()
                    if stat.S_ISLNK(st.st_mode) or (stat.S_ISREG(st.st_mode) and st.st_nlink > 1):
                        links.append(rel)
                    elif not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)) or not _expected(
                        folder, path.relative_to(root).parts, stat.S_ISDIR(st.st_mode)
                    ):
                        strange.append(rel)
        if links:
            found.append(
                Finding(
                    ERROR,
                    "linked_file",
                    f"{folder}/ 中有 {len(links)} 个链接（符号链接或硬链接，如 {links[0]}），"
                    "可能指向原始档案或别处的文件，fupin 不会读取它们：确认来源后删除链接（需要的请复制为普通文件）",
                )
            )
        if strange:
            found.append(
                Finding(
                    ERROR,
                    "unexpected_file",
                    f"{folder}/ 中有 {len(strange)} 个不是 fupin 写入的文件或目录（如 {strange[0]}）："
                    "确认来源后移出数据目录",
                )
            )
    return found


_TRAILING_CODE = re.compile(r"\s*\[([a-z_]+)\]$")


def _calendar_findings(paths: Paths) -> list[Finding]:
    """The reporting calendar (<home>/config/calendar.yaml) as `fupin status` and every run read it."""
    try:
        load_calendar(paths)
    except ConfigError as exc:
        if exc.message is not None:  # the finding shows its code apart
            return [Finding(ERROR, exc.code, render(exc.message, coded=False))]
        return [Finding(ERROR, exc.code or "calendar_invalid", _TRAILING_CODE.sub("", str(exc)))]
    return []


def check_home(paths: Paths) -> list[Finding]:
    """Every finding about a home folder: its permissions, warehouse, WAL, lake files, raw archive, key, staging,
    receipts."""
    if not paths.home.is_dir():
        return [Finding(ERROR, "no_home", f"{paths.home} 不存在：用 --home 指定数据目录")]
    return (
        _home_findings(paths)
        + _warehouse_findings(paths)
        + _raw_findings(paths)
        + _key_findings(paths)
        + _layout_findings(paths)
        + _receipt_findings(paths)
        + _calendar_findings(paths)
    )


def fix_home(paths: Paths) -> list[str]:
    """What ``fupin doctor --fix`` repairs, under the run lock: receipts rewritten from the ledger. One line each."""
    if not paths.warehouse.exists():
        return []
    with run_lock(paths.lock, 0):
        done = sync_receipts(paths)
    lines = []
    if done["stale"] or done["missing"]:
        stale, missing = len(done["stale"]), len(done["missing"])
        lines.append(say("receipt_rewritten", count=stale + missing, stale=stale, missing=missing))
    return lines
