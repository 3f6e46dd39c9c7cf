"""Where fupin keeps its files and which sources it pulls."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from warehouse.reference import PROVINCE_PINYIN, resolve_province


@dataclass(frozen=True)
class Paths:
    """Every on-disk location under one home folder (design.md, "Files on disk")."""

    home: Path

    @classmethod
    def from_home(cls, home: str | os.PathLike | None = None) -> Paths:
        """Paths under ``home``, ``$FUPIN_HOME`` or ``data/``."""
        return cls(Path(home or os.environ.get("FUPIN_HOME") or "data").resolve())

    @property
    def raw(self) -> Path:
        return self.home / "raw"

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
class Source:
    """One province's source: a folder, file://, http(s):// or s3:// URL and a glob."""

    province_code: str
    url: str
    pattern: str = "*"
    mode: str = "correction"  # "full": every file of this source is a 全量重报 of what it covers


class ConfigError(ValueError):
    """A sources file or inbox that cannot be used, with the reason."""


def load_sources(path: str | os.PathLike) -> list[Source]:
    """Read ``sources.yaml``; relative folder URLs are taken relative to the current directory."""
    file = Path(path)
    if not file.exists():
        raise ConfigError(f"{file}: sources file not found")
    try:
        doc = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
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
