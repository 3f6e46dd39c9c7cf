"""Where fupin keeps its files and which sources it pulls."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from fupin.core import yamltext
from fupin.core.messages import CodedError, Message, limit_message, render
from fupin.core.reference import PROVINCE_PINYIN, resolve_province


@dataclass(frozen=True)
class Paths:
    """Every on-disk location under one home folder (the README draws them under Commands)."""

    home: Path
    sources_file: Path | None = None

    @classmethod
    def from_home(cls, home: str | os.PathLike | None = None, sources_file: str | os.PathLike | None = None) -> Paths:
        """Paths under ``home``, ``$FUPIN_HOME`` or ``data/`` (and the sources file the run reads, if any)."""
        return cls(
            Path(home or os.environ.get("FUPIN_HOME") or "data").resolve(),
            Path(sources_file).resolve() if sources_file else None,
        )

    @property
    def config(self) -> Path:
        return self.home / "config"

    @property
    def header_files(self) -> list[Path]:
        """The operators' headers.yaml files: <home>/config/ and beside sources.yaml, in that order."""
        candidates = [self.config / "headers.yaml"]
        if self.sources_file is not None:
            candidates.append(self.sources_file.parent / "headers.yaml")
        return list(dict.fromkeys(candidates))

    @property
    def raw(self) -> Path:
        return self.home / "raw"

    def stored(self, path: str | os.PathLike) -> str:
        """A path as the ledger keeps it: relative to the home when inside it, so the home can move."""
        if not path:
            return ""
        try:
            return Path(path).resolve().relative_to(self.home).as_posix()
        except ValueError:
            return str(path)

    def found(self, stored: str | None) -> Path | None:
        """A path the ledger keeps, in this home: relative ones under it; an absolute one from a home that
        moved (ledgers written before paths were relative) by its part from ``raw/`` on."""
        if not stored:
            return None
        path = Path(stored)
        if not path.is_absolute():
            return self.home / path
        if not path.exists() and "raw" in path.parts:
            parts = path.parts
            last = len(parts) - 1 - parts[::-1].index("raw")
            return self.home.joinpath(*parts[last:])
        return path

    @property
    def lake(self) -> Path:
        return self.home / "lake"

    @property
    def staging(self) -> Path:
        return self.home / "staging"

    @property
    def receipts(self) -> Path:
        return self.home / "receipts"

    @property
    def reports(self) -> Path:
        return self.home / "reports"

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def lock(self) -> Path:
        return self.home / ".run.lock"


@dataclass(frozen=True)
class Limits:
    """What one submitted file may hold; beyond a limit the file is rejected in seconds, the limit named.

    Each is set by an environment variable ``FUPIN_LIMIT_<NAME>`` (``FUPIN_LIMIT_ROWS_PER_SHEET=200000``).
    Forms are hundreds of rows; household registries (millions of rows) have their own file size.
    """

    form_bytes: int = 50 * 2**20
    registry_bytes: int = 20 * 2**30
    xlsx_expanded_bytes: int = 256 * 2**20  # the XML inside a workbook, unzipped
    rows_per_sheet: int = 500_000  # a village-level national form is ~130,000 rows
    columns_per_row: int = 1_000
    line_chars: int = 1_000_000
    field_chars: int = 32_767  # Excel's own limit for one cell
    # a form whose first this many rows are all refused for one reason stops there: one file-level message
    same_reason_rows: int = 1_000

    @classmethod
    def from_env(cls) -> Limits:
        """The defaults, each overridden by FUPIN_LIMIT_<NAME> when set to a positive integer."""
        values = {}
        for name in cls.__dataclass_fields__:
            text = os.environ.get(f"FUPIN_LIMIT_{name.upper()}")
            if text:
                try:
                    values[name] = int(text)
                except ValueError:
                    raise ConfigError(f"FUPIN_LIMIT_{name.upper()}={text!r}: expected a whole number") from None
        return cls(**values)

    def message(self, name: str, found: int, what: str) -> Message:
        """The message (code ``limit_<name>``) of a file beyond limit ``name``."""
        return limit_message(name, getattr(self, name), found, what)

    def exceeded(self, name: str, found: int, what: str) -> str:
        """The one-line reason (Chinese, with code) for a file beyond limit ``name``."""
        return render(self.message(name, found, what))


@dataclass(frozen=True)
class Source:
    """One province's source: a folder, file://, http(s):// or s3:// URL and a glob."""

    province_code: str
    url: str
    pattern: str = "*"
    mode: str = "correction"  # "full": every file of this source is a 全量重报 of what it covers


class ConfigError(CodedError, ValueError):
    """A sources file or inbox that cannot be used, with the reason."""


def load_sources(path: str | os.PathLike) -> list[Source]:
    """Read ``sources.yaml``; relative folder URLs are taken relative to the current directory."""
    file = Path(path)
    if not file.exists():
        raise ConfigError(f"{file}: sources file not found")
    try:
        doc = yamltext.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: not valid YAML ({exc.__class__.__name__})") from exc
    entries = doc.get("sources") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{file}: expected a 'sources:' list with one entry per province")
    sources = []
    for i, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or "province" not in entry or "url" not in entry:
            raise ConfigError(f"{file}: source #{i} needs 'province' and 'url'")
        try:
            code = resolve_province(str(entry["province"]))
        except ValueError as exc:
            raise ConfigError(f"{file}: source #{i}: {exc}") from exc
        mode = str(entry.get("mode", "correction")).lower()
        if mode not in ("correction", "full"):
            raise ConfigError(f"{file}: source #{i}: mode must be 'correction' or 'full', not '{mode}'")
        sources.append(Source(code, str(entry["url"]), str(entry.get("pattern", "*")), mode))
    return sources


def load_headers(files: list[Path], province_code: str) -> dict[str, dict[str, list[str]]]:
    """The operators' header synonyms for one province: dataset → canonical column → labels.

    ``headers.yaml`` holds ``<dataset>: {<column>: [label, …]}`` for every province and, under
    ``provinces: {"43": {<dataset>: …}}``, for one province; all files and both levels add up.
    """
    merged: dict[str, dict[str, list[str]]] = {}
    for file in files:
        if not file.exists():
            continue
        try:
            doc = yamltext.safe_load(file.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{file}: not valid YAML ({exc.__class__.__name__})") from exc
        if not isinstance(doc, dict):
            raise ConfigError(f"{file}: expected '<dataset>: {{<column>: [label, …]}}' entries")
        provinces = doc.get("provinces") or {}
        local = {}
        for key, value in provinces.items():
            try:
                if resolve_province(str(key)) == province_code:
                    local = value or {}
            except ValueError as exc:
                raise ConfigError(f"{file}: provinces: {exc}") from exc
        for block in ({k: v for k, v in doc.items() if k != "provinces"}, local):
            for dataset, columns in block.items():
                if not isinstance(columns, dict):
                    raise ConfigError(f"{file}: {dataset}: expected '<column>: [label, …]'")
                for column, labels in columns.items():
                    labels = [labels] if isinstance(labels, str) else list(labels or [])
                    merged.setdefault(str(dataset), {}).setdefault(str(column), []).extend(map(str, labels))
    return merged


def inbox_sources(inbox: str | os.PathLike) -> list[Source]:
    """One source per subfolder of ``inbox``, named by province code, Chinese name or pinyin."""
    root = Path(inbox)
    if not root.is_dir():
        raise ConfigError(f"{root}: inbox folder not found (run `fupin demo` to write the demo inbox)")
    sources = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            code = resolve_province(sub.name)
        except ValueError as exc:
            raise ConfigError(f"{sub}: {exc}") from exc
        sources.append(Source(code, str(sub.resolve())))
    if not sources:
        raise ConfigError(
            f"{root}: no province folders (expected e.g. {', '.join(list(PROVINCE_PINYIN.values())[:3])})"
        )
    return sources
