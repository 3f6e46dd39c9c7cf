"""Small records passed between tasks: ids, paths and counts — never data frames."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fupin.core.messages import say

FULL_MARKERS = ("全量", "重报")


def submission_kind(file_name: str, source_mode: str | None = None, envelope_kind: str | None = None) -> str:
    """'full' for a 全量重报 — marked in the file name, the JSON envelope or the source — else 'correction'."""
    if (source_mode or "").lower() == "full" or any(m in file_name for m in FULL_MARKERS):
        return "full"
    if envelope_kind and any(m in str(envelope_kind) for m in FULL_MARKERS):
        return "full"
    return "correction"


@dataclass(frozen=True)
class Received:
    """One file pulled from a source and copied unchanged into the raw archive."""

    submission_id: str
    province_code: str
    source_url: str
    source_path: str
    file_name: str
    sha256: str
    size: int
    raw_path: str
    received_at: str
    duplicate_of: str | None = None
    kind: str = "correction"  # "full" for a 全量重报 (file name, or the source's mode); see submission_kind
    # why the entry was not read (a link, a pipe, a hidden or undecodable name): a rejection, never archived
    refused: str | None = None


@dataclass
class Rejection:
    """One rejected row (or the whole file when ``row_number`` is None)."""

    row_number: int | None
    field: str | None
    value: str | None
    reason: str
    code: str | None = None  # stable machine code of the reason (reason_code in meta.rejections)


@dataclass
class Outcome:
    """What became of one submission: the ledger row plus where its good rows went."""

    submission_id: str
    province_code: str
    file_name: str
    sha256: str
    received_at: str
    source_path: str | None = None
    raw_path: str | None = None
    dataset: str | None = None
    status: str = "rejected"
    years: list[int] = field(default_factory=list)
    rows_total: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    message: str | None = None
    message_code: str | None = None  # the code of ``message`` (meta.submissions.message_code); None: read from it
    lake_files: list[str] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    rejection_files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    kind: str = "correction"  # correction (更正/补报: only the keys it carries) or full (全量重报: the whole slice)
    applied_at: str | None = None  # when its facts took effect: on arrival, or when a person approved it
    approved: bool = False  # a person approved it: the shrink guard does not hold it again
    # how each table's headers were read: sheet, submitted_header, column_name, matched_by
    header_mapping: list[dict] = field(default_factory=list)

    def save(self, path: Path) -> Path:
        """Write as JSON next to the submission's staging files."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=1), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Outcome:
        """Read back what ``save`` wrote."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        data["rejections"] = [Rejection(**r) for r in data.get("rejections", [])]
        return cls(**data)


ALL_REFUSED_CODE = "rows_all_refused"


def all_refused(file_name: str, first: Rejection, rows: int) -> str:
    """The file-level message of a form whose first ``rows`` rows were all refused for ``first``'s reason."""
    where = f"第 {first.row_number} 行：" if first.row_number is not None else ""
    return say(ALL_REFUSED_CODE, name=file_name, rows=rows, where=where, reason=first.reason, reason_code=first.code)


def refused_alike(rejections: list[Rejection], rows: int) -> Rejection | None:
    """The first of ``rejections`` (rows in file order, one each, nothing loaded among them) when there are at
    least ``rows`` of them and all share its reason code; else None."""
    if len(rejections) < rows or rows <= 0:
        return None
    code = rejections[0].code
    if code is None or any(r.code != code for r in rejections[:rows]):
        return None
    return rejections[0]


def rows_phrase(n: int) -> str:
    """A count of rows in an outcome's message: 3 行."""
    return f"{n} 行"
