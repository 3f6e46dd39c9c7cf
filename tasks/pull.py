"""Pull: list a province's source, copy each file not seen before into the raw archive."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import stat
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

import aiohttp
import fsspec
from fsspec.implementations.local import LocalFileSystem
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from fupin.core.config import Paths, Source
from fupin.core.faults import fault_point
from fupin.core.messages import say
from fupin.core.progress import report
from fupin.core.raw import COMPRESSED, archive_stream
from fupin.core.safe_text import printable, shown_name
from fupin.tasks.records import Received, submission_kind

# Every entry of a source gets a ledger row; these are refused before any byte of them is read.
# The reasons are shown to clerks (Chinese) with a stable code.
REFUSALS = {
    "symlink": say("not_regular_file.symlink"),
    "fifo": say("not_regular_file.fifo"),
    "device": say("not_regular_file.device"),
    "socket": say("not_regular_file.socket"),
    "hidden": say("hidden_file"),
    "office_lock": say("office_lock_file"),
    "undecodable": say("undecodable_name"),
    "unreadable": say("unreadable_file"),
}


class NotRegularFile(OSError):
    """A path that turned out not to be a regular file when it was opened."""


@dataclass(frozen=True)
class Entry:
    """One entry of a source's listing: where it is, its path relative to the root, and why it is refused."""

    full: str
    rel: str
    refused: str | None = None


def submission_id_for(province_code: str, source_path: str, sha256: str) -> str:
    """Stable id of a received file: the same file at the same place always gets the same id."""
    digest = hashlib.sha256(f"{province_code}|{source_path}|{sha256}".encode()).hexdigest()
    return f"{province_code}-{digest[:12]}"


def open_source(source: Source, timeout_seconds: float = 60.0):
    """The fsspec filesystem and root path of a source; http(s) gets a timeout and strict link parsing."""
    protocol = fsspec.utils.get_protocol(source.url)
    options: dict = {}
    if protocol in ("http", "https"):
        options = {"simple_links": False, "client_kwargs": {"timeout": aiohttp.ClientTimeout(total=timeout_seconds)}}
    return fsspec.core.url_to_fs(source.url, **options)


def _is_local(fs) -> bool:
    return isinstance(fs, LocalFileSystem)


def _name_refusal(name: str) -> str | None:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # bytes that are not UTF-8 arrive as surrogate escapes
        return REFUSALS["undecodable"]
    if name.startswith("~$"):
        return REFUSALS["office_lock"]
    if name.startswith("."):
        return REFUSALS["hidden"]
    return None


def _kind_refusal(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return REFUSALS["symlink"]
    if stat.S_ISFIFO(mode):
        return REFUSALS["fifo"]
    if stat.S_ISSOCK(mode):
        return REFUSALS["socket"]
    return REFUSALS["device"]


def _walk_local(root: str) -> list[Entry]:
    """Every entry under a local folder, never following a link: folders are entered, the rest listed as they are."""
    if not os.path.isdir(root):
        raise FileNotFoundError(f"source {root} does not exist")
    found: list[Entry] = []
    pending = [(root, "")]
    while pending:
        folder, prefix = pending.pop()
        try:
            with os.scandir(folder) as listing:
                children = sorted(listing, key=lambda e: e.name)
        except OSError:
            if folder == root:
                raise
            found.append(Entry(folder, prefix.rstrip("/"), REFUSALS["unreadable"]))
            continue
        for child in children:
            rel = prefix + child.name
            try:
                mode = child.stat(follow_symlinks=False).st_mode
            except OSError:
                found.append(Entry(child.path, rel, REFUSALS["unreadable"]))
                continue
            refusal = _name_refusal(child.name)
            if refusal is None and stat.S_ISDIR(mode):
                pending.append((child.path, rel + "/"))
                continue
            found.append(Entry(child.path, rel, refusal or _kind_refusal(mode)))
    return found


def _listing(fs, root: str, protocol: str) -> list[Entry]:
    if _is_local(fs):
        return _walk_local(root)
    if protocol in ("http", "https"):
        # a directory served with an index page: its links, one level deep
        names = [e["name"] for e in fs.ls(root, detail=True) if e.get("type") == "file"]
    else:
        if not fs.exists(root):
            raise FileNotFoundError(f"source {root} does not exist")
        names = fs.find(root)
    entries = []
    for full in names:
        if protocol in ("http", "https"):
            rel = unquote(full[len(root.rstrip("/")) + 1 :])
        else:
            rel = (
                str(PurePosixPath(full).relative_to(PurePosixPath(root))) if full != root else PurePosixPath(full).name
            )
        entries.append(Entry(full, rel))
    return entries


def list_source(source: Source, timeout_seconds: float = 60.0) -> list[Entry]:
    """Every entry the source offers that matches its pattern, the ones to refuse marked with the reason."""
    fs, root = open_source(source, timeout_seconds)
    protocol = fsspec.utils.get_protocol(source.url)
    found = []
    for entry in sorted(_listing(fs, root, protocol), key=lambda e: e.rel):
        name = PurePosixPath(entry.rel).name
        if not fnmatch.fnmatch(name, source.pattern):
            continue
        refused = entry.refused or _name_refusal(name)
        found.append(Entry(entry.full, entry.rel, refused))
    return found


def _open(fs, full: str):
    """A source file opened for reading; a local one only if it is a regular file, never through a link."""
    if not _is_local(fs):
        return fs.open(full, "rb")
    # O_NONBLOCK: a FIFO put in place after the listing must not block the open; O_NOFOLLOW: nor a new link
    fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise NotRegularFile(f"{printable(full)} is not a regular file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _sha256_of(fs, full: str) -> str:
    """SHA-256 of a source file, streamed."""
    digest = hashlib.sha256()
    with _open(fs, full) as src:
        while chunk := src.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _stat_cache_path(paths: Paths, province_code: str) -> Path:
    return paths.home / "cache" / f"pull-{province_code}.json"


def _read_stat_cache(paths: Paths, province_code: str) -> dict[str, list]:
    """Local source files' SHA-256 by path, each with the stat it was computed under (empty if none or unreadable)."""
    try:
        cache = json.loads(_stat_cache_path(paths, province_code).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return cache if isinstance(cache, dict) else {}


def _write_stat_cache(paths: Paths, province_code: str, cache: dict[str, list]) -> None:
    """Replace the province's cache with this run's entries (files gone from the source drop out)."""
    target = _stat_cache_path(paths, province_code)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:  # mkstemp's file is owner-only
        json.dump(cache, f, ensure_ascii=False)
    os.replace(tmp, target)


def _stat_key(full: str) -> list[int] | None:
    """What changes whenever a local file's content does: size, mtime, ctime and inode (as git's index keeps)."""
    st = os.stat(full, follow_symlinks=False)
    if not stat.S_ISREG(st.st_mode):
        return None  # replaced by a link or a pipe since it was listed: _sha256_of opens it and says so
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _copy_to_archive(fs, full: str, archive_dir: Path, ext: str) -> tuple[str, int, Path]:
    """Stream a file into the archive under its sha256, atomically, zstd-compressed unless its content is
    compressed already (fupin.core.raw); returns (sha and size of the bytes received, archived path)."""
    for folder in (archive_dir.parent, archive_dir):  # owner only, like the files
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=archive_dir, prefix=".incoming-")
    try:
        with _open(fs, full) as src, os.fdopen(fd, "wb") as dst:
            sha, size, compress = archive_stream(src, dst)
            dst.flush()
            os.fsync(dst.fileno())
        stored = archive_dir / f"{sha}{ext}"
        target = stored.with_name(stored.name + COMPRESSED) if compress else stored
        os.chmod(tmp, 0o600)  # raw files may hold personal data: owner only
        other = stored if compress else stored.with_name(stored.name + COMPRESSED)
        if other.exists() and not target.exists():  # the same bytes archived the other way (by an older fupin)
            os.unlink(tmp)
            return sha, size, other
        os.replace(tmp, target)  # over a copy of the same bytes: a damaged one is mended
        return sha, size, target
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _clear_incomplete(archive_dir: Path) -> None:
    """Remove copies a killed run left half-written (the run lock guarantees nobody is writing)."""
    for leftover in archive_dir.glob(".incoming-*"):
        leftover.unlink(missing_ok=True)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _refused(source: Source, rel: str, reason: str) -> Received:
    """The ledger's record of an entry that was not read: no content, no archive copy, the reason."""
    return Received(
        submission_id=submission_id_for(source.province_code, rel, ""),
        province_code=source.province_code,
        source_url=source.url,
        source_path=rel,
        file_name=PurePosixPath(rel).name or rel,
        sha256="",
        size=0,
        raw_path="",
        received_at=_now(),
        refused=reason,
    )


@task(retries=3, retry_delay_seconds=exponential_backoff(backoff_factor=2), cache_policy=NO_CACHE)
def pull_source(source: Source, paths: Paths, seen: dict[str, str], timeout_seconds: float = 60.0) -> list[Received]:
    """Copy the source's new files into the raw archive; ``seen`` maps 'province|path|sha' and 'province|sha' to ids."""
    fs, _ = open_source(source, timeout_seconds)
    archive_dir = paths.raw / source.province_code
    _clear_incomplete(archive_dir)
    received: list[Received] = []
    by_sha: dict[str, str] = {}
    # a local file whose stat has not changed since its SHA-256 was computed is not read again: a rerun
    # with nothing new costs a stat per file, not a read of every registry (taken before the read, so a
    # file changed while it is read gets a new stat and is hashed again next time)
    local = _is_local(fs)
    cached = _read_stat_cache(paths, source.province_code) if local else {}
    stats: dict[str, list] = {}
    taken: set[str] = set()  # 'path|sha' of this run's entries, as the ledger will key them
    for entry in list_source(source, timeout_seconds):
        # what the ledger, receipts, Prefect and screens show: ID numbers masked, no invisible, control or
        # undecodable characters; the ledger's keys ('province|path|sha') compare these masked paths
        rel = shown_name(entry.rel)
        refused = entry.refused
        if refused is None:
            try:
                key = _stat_key(entry.full) if local else None
                # keyed by the masked path (two names that differ only inside an ID number share a key and
                # are read again, as the stat then differs: correct, if not free)
                cache_key = shown_name(entry.full)
                known = cached.get(cache_key)
                if key is not None and isinstance(known, list) and known[:-1] == key:
                    sha = known[-1]
                else:
                    sha = _sha256_of(fs, entry.full)
                if key is not None:
                    stats[cache_key] = [*key, sha]
            except NotRegularFile:  # replaced by a link or a pipe since it was listed
                refused = REFUSALS["symlink" if os.path.islink(entry.full) else "fifo"]
            except (FileNotFoundError, PermissionError, IsADirectoryError):
                refused = REFUSALS["unreadable"]
        if refused is not None:
            # never read, never archived: the ledger row says why; its sha256 stays empty
            if f"{source.province_code}|{rel}|" not in seen and f"{rel}|" not in taken:
                taken.add(f"{rel}|")
                received.append(_refused(source, rel, refused))
            continue
        if f"{source.province_code}|{rel}|{sha}" in seen or f"{rel}|{sha}" in taken:
            # this very file was received on an earlier run (read, nothing written), or is, under a name
            # that differs from one of this run's only inside an ID number, the same content: one submission
            continue
        taken.add(f"{rel}|{sha}")
        ext = "".join(PurePosixPath(rel).suffixes[-1:]).lower()
        sha, size, raw_path = _copy_to_archive(fs, entry.full, archive_dir, ext)
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
                received_at=_now(),
                duplicate_of=earlier,
                kind=submission_kind(PurePosixPath(rel).name, source.mode),
            )
        )
        by_sha.setdefault(sha, sid)
    if local and stats != cached:
        _write_stat_cache(paths, source.province_code, stats)
    report(source.province_code, "pull", f"{len(received)} new files")
    return received
