"""Pull: list a province's source, copy each file not seen before into the raw archive."""

from __future__ import annotations

import fnmatch
import hashlib
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

import fsspec
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from fupin.config import Paths, Source
from fupin.faults import fault_point
from fupin.progress import report
from tasks.records import Received, submission_kind

_IGNORED = ("~$", ".")  # Excel lock files and hidden files are never submissions


def submission_id_for(province_code: str, source_path: str, sha256: str) -> str:
    """Stable id of a received file: the same file at the same place always gets the same id."""
    digest = hashlib.sha256(f"{province_code}|{source_path}|{sha256}".encode()).hexdigest()
    return f"{province_code}-{digest[:12]}"


def open_source(source: Source, timeout_seconds: float = 60.0):
    """The fsspec filesystem and root path of a source; http(s) gets a timeout and strict link parsing."""
    protocol = fsspec.utils.get_protocol(source.url)
    options: dict = {}
    if protocol in ("http", "https"):
        import aiohttp

        options = {"simple_links": False, "client_kwargs": {"timeout": aiohttp.ClientTimeout(total=timeout_seconds)}}
    return fsspec.core.url_to_fs(source.url, **options)


def _listing(fs, root: str, protocol: str) -> list[str]:
    if protocol in ("http", "https"):
        # a directory served with an index page: its links, one level deep
        return [e["name"] for e in fs.ls(root, detail=True) if e.get("type") == "file"]
    if not fs.exists(root):
        raise FileNotFoundError(f"source {root} does not exist")
    return fs.find(root)


def list_source(source: Source, timeout_seconds: float = 60.0) -> list[tuple[str, str]]:
    """(full path, path relative to the source root) of every file the source offers."""
    fs, root = open_source(source, timeout_seconds)
    protocol = fsspec.utils.get_protocol(source.url)
    found = []
    for full in sorted(_listing(fs, root, protocol)):
        if protocol in ("http", "https"):
            rel = unquote(full[len(root.rstrip("/")) + 1 :])
        else:
            rel = (
                str(PurePosixPath(full).relative_to(PurePosixPath(root))) if full != root else PurePosixPath(full).name
            )
        name = PurePosixPath(rel).name
        if name.startswith(_IGNORED) or not fnmatch.fnmatch(name, source.pattern):
            continue
        found.append((full, rel))
    return found


def _sha256_of(fs, full: str) -> str:
    """SHA-256 of a source file, streamed."""
    digest = hashlib.sha256()
    with fs.open(full, "rb") as src:
        while chunk := src.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_to_archive(fs, full: str, archive_dir: Path, ext: str) -> tuple[str, int, Path]:
    """Stream a file into the archive under its sha256, atomically; returns (sha, size, path)."""
    archive_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, tmp = tempfile.mkstemp(dir=archive_dir, prefix=".incoming-")
    try:
        with fs.open(full, "rb") as src, os.fdopen(fd, "wb") as dst:
            while chunk := src.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
                dst.write(chunk)
            dst.flush()
            os.fsync(dst.fileno())
        sha = digest.hexdigest()
        target = archive_dir / f"{sha}{ext}"
        os.chmod(tmp, 0o600)  # raw files may hold personal data: owner only
        if target.exists():
            os.unlink(tmp)
        else:
            os.replace(tmp, target)
        return sha, size, target
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _clear_incomplete(archive_dir: Path) -> None:
    """Remove copies a killed run left half-written (the run lock guarantees nobody is writing)."""
    for leftover in archive_dir.glob(".incoming-*"):
        leftover.unlink(missing_ok=True)


@task(retries=3, retry_delay_seconds=exponential_backoff(backoff_factor=2), cache_policy=NO_CACHE)
def pull_source(source: Source, paths: Paths, seen: dict[str, str], timeout_seconds: float = 60.0) -> list[Received]:
    """Copy the source's new files into the raw archive; ``seen`` maps 'province|path|sha' and 'province|sha' to ids."""
    fs, _ = open_source(source, timeout_seconds)
    archive_dir = paths.raw / source.province_code
    _clear_incomplete(archive_dir)
    received: list[Received] = []
    by_sha: dict[str, str] = {}
    for full, rel in list_source(source, timeout_seconds):
        ext = "".join(PurePosixPath(rel).suffixes[-1:]).lower()
        if f"{source.province_code}|{rel}|{_sha256_of(fs, full)}" in seen:
            continue  # this very file was received on an earlier run: read, nothing written
        sha, size, raw_path = _copy_to_archive(fs, full, archive_dir, ext)
        fault_point("pull")
        sid = submission_id_for(source.province_code, rel, sha)
        earlier = seen.get(f"{source.province_code}|{sha}") or by_sha.get(sha)
        received.append(
            Received(
                submission_id=sid,
                province_code=source.province_code,
                source_url=source.url,
                source_path=rel,
                file_name=PurePosixPath(rel).name,
                sha256=sha,
                size=size,
                raw_path=str(raw_path),
                received_at=datetime.now(UTC).isoformat(timespec="microseconds"),
                duplicate_of=earlier,
                kind=submission_kind(PurePosixPath(rel).name, source.mode),
            )
        )
        by_sha.setdefault(sha, sid)
    report(source.province_code, "pull", f"{len(received)} new files")
    return received
