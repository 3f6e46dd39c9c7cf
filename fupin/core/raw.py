"""The raw archive's files: written compressed (zstd), read back through one door that checks their SHA-256.

Every received file is kept under ``<home>/raw/<province>/<sha256><ext>``, its name the SHA-256 of the bytes
received. A file is stored zstd-compressed as ``<sha256><ext>.zst`` unless its content already is compressed
(a ZIP container: .xlsx, .xlsm, .zip, which zstd does not shrink): those, and every file of an archive written
before compression, are kept as received. Either way the name's SHA-256 is of the bytes received, never of the
stored ones.

Every reader of a raw file goes through this module: :func:`open_raw` (a binary file, decompressed as it is
read; the SHA-256 checked when the end is reached, so a registry streams in bounded memory), :func:`read_raw`
(the whole file as bytes, checked before it is returned) and :func:`workbook_source` (what calamine opens).
A file whose bytes do not hash to its SHA-256, or whose compressed stream is damaged, raises
:class:`RawArchiveError` (``raw_corrupt``) naming it: nothing read from it is used.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import zstandard

from fupin.core.messages import CodedError, message

COMPRESSED = ".zst"
# zstd level 3 (zstd's default): a CSV registry to about a fifth of its bytes at ~230 MB/s on one core; higher
# levels save a few points more at several times the time (benchmarks/registry.py prints the ratio)
LEVEL = 3
# zstd's worker threads (-1: one per core) compress while this thread reads and hashes the next chunk: a 925 MiB
# registry is archived in 2.2 s instead of 4.1 (the same frame format; read back by one thread as before)
THREADS = -1
CHUNK = 1 << 20
ZIP_MAGIC = b"PK\x03\x04"
_SHA_NAME = re.compile(r"[0-9a-f]{64}")


class RawArchiveError(CodedError):
    """A raw file that is not what was received: its bytes hash to another SHA-256, or it cannot be decompressed."""


def compressed(path: str | os.PathLike) -> bool:
    """Whether an archived file is stored zstd-compressed (by its name)."""
    return str(path).endswith(COMPRESSED)


def received_suffix(path: str | os.PathLike) -> str:
    """The extension of the file as it was received (``.csv`` for ``<sha>.csv.zst``), lower case."""
    name = Path(path).name
    if compressed(name):
        name = name[: -len(COMPRESSED)]
    return Path(name).suffix.lower()


def expected_sha256(path: str | os.PathLike) -> str | None:
    """The SHA-256 an archived file's name gives (``<sha256><ext>[.zst]``); None for a name that is not one."""
    stem = Path(path).name.split(".", 1)[0]
    return stem if _SHA_NAME.fullmatch(stem) else None


def keeps_compressed(head: bytes) -> bool:
    """Whether a received file whose content starts with ``head`` is stored compressed: not when it is a ZIP
    container already (an .xlsx gains nothing from zstd and stays a file calamine opens by its path)."""
    return not head.startswith(ZIP_MAGIC)


def archive_stream(src: BinaryIO, dst: BinaryIO) -> tuple[str, int, bool]:
    """Copy ``src`` into ``dst``, streamed, zstd-compressed unless :func:`keeps_compressed` says otherwise of its
    first bytes; (SHA-256 and size of ``src``'s bytes, whether ``dst`` holds them compressed)."""
    digest = hashlib.sha256()
    size = 0
    chunk = src.read(CHUNK)
    compress = keeps_compressed(chunk)
    writer = None
    if compress:
        writer = zstandard.ZstdCompressor(level=LEVEL, threads=THREADS).stream_writer(dst, closefd=False)
    write: Callable[[bytes], object] = writer.write if writer is not None else dst.write
    while chunk:
        digest.update(chunk)
        size += len(chunk)
        write(chunk)
        chunk = src.read(CHUNK)
    if writer is not None:
        writer.close()  # ends the frame; ``dst`` stays open
    return digest.hexdigest(), size, compress


def _corrupt(path: Path, expected: str, found: str) -> RawArchiveError:
    return RawArchiveError(message("raw_corrupt", path=path, expected=expected[:12], found=found[:12]))


def _undecompressable(path: Path, error: Exception) -> RawArchiveError:
    return RawArchiveError(message("raw_corrupt.zstd", path=path, error=str(error)[:200]))


class _Verified(io.RawIOBase):
    """An archived file's received bytes, read forward (``seek(0)`` starts again); the SHA-256 of the bytes read
    from the start is checked when the end is reached, once."""

    def __init__(self, path: Path, expected: str | None):
        self.path, self.expected = path, expected
        self.verified = expected is None
        self._file: BinaryIO | None = None
        self._stream: BinaryIO | None = None
        self._start()

    def _start(self) -> None:
        self._close_stream()
        self._file = open(self.path, "rb")  # closed by close()
        if compressed(self.path):
            dctx = zstandard.ZstdDecompressor()
            self._stream = dctx.stream_reader(self._file, read_size=CHUNK, read_across_frames=True, closefd=False)
        else:
            self._stream = self._file
        self._position = 0
        self._digest = None if self.verified else hashlib.sha256()

    def _close_stream(self) -> None:
        if self._stream is not None and self._stream is not self._file:
            self._stream.close()
        if self._file is not None:
            self._file.close()
        self._stream = self._file = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = {io.SEEK_SET: offset, io.SEEK_CUR: self._position + offset}.get(whence)
        if target is None:
            raise io.UnsupportedOperation("an archived file is read forward; seek to the end is not supported")
        if target < self._position:
            if target != 0:
                raise io.UnsupportedOperation("an archived file is read forward, or from its start again")
            self._start()
        while self._position < target:  # forward: read and hash what is skipped
            if not self.read(min(CHUNK, target - self._position)):
                break
        return self._position

    def readinto(self, buffer) -> int:
        if self._stream is None:
            raise ValueError("I/O operation on closed file")
        view = memoryview(buffer).cast("B")
        try:
            n = self._stream.readinto(view)
        except zstandard.ZstdError as exc:
            raise _undecompressable(self.path, exc) from None
        if self._digest is not None:
            if n:
                self._digest.update(view[:n])
            elif len(view):  # the end: every byte from the start was hashed
                found = self._digest.hexdigest()
                self._digest = None
                if found != self.expected:
                    raise _corrupt(self.path, self.expected or "", found)
                self.verified = True
        self._position += n
        return n

    def close(self) -> None:
        self._close_stream()
        super().close()


def open_raw(path: str | os.PathLike, sha256: str | None = None) -> io.BufferedReader:
    """An archived file opened for reading its received bytes (decompressed when stored compressed).

    The SHA-256 of what is read from the start is checked against ``sha256`` (default: the one its name gives)
    when the end is reached; a mismatch raises :class:`RawArchiveError`. Reading goes forward; ``seek(0)``
    starts again.
    """
    path = Path(path)
    return io.BufferedReader(_Verified(path, sha256 or expected_sha256(path)), buffer_size=CHUNK)


def read_raw(path: str | os.PathLike, sha256: str | None = None, limit: int | None = None) -> bytes:
    """An archived file's received bytes, checked against its SHA-256 before they are returned.

    With ``limit``, at most ``limit + 1`` bytes are read: a longer file is returned cut there (unchecked, to be
    refused by its size; :func:`raw_size` gives the whole size).
    """
    with open_raw(path, sha256) as fh:
        if limit is None:
            return fh.read()
        data = fh.read(limit + 1)
        if len(data) <= limit:
            fh.read(1)  # the end: the SHA-256 is checked
        return data


def verify_raw(path: str | os.PathLike, sha256: str | None = None) -> int:
    """Read an archived file through, checking its SHA-256 (:class:`RawArchiveError` if it differs); its size."""
    size = 0
    with open_raw(path, sha256) as fh:
        while chunk := fh.read(CHUNK):
            size += len(chunk)
    return size


def raw_size(path: str | os.PathLike) -> int:
    """The size of the file as received: a stored one's size, a compressed one's counted as it decompresses
    (streamed, in constant memory)."""
    path = Path(path)
    if not compressed(path):
        return path.stat().st_size
    count = 0
    with open(path, "rb") as fh:
        reader = zstandard.ZstdDecompressor().stream_reader(fh, read_size=CHUNK, read_across_frames=True)
        try:
            while chunk := reader.read(CHUNK):
                count += len(chunk)
        except zstandard.ZstdError as exc:
            raise _undecompressable(path, exc) from None
    return count


def workbook_source(path: str | os.PathLike, verify: bool = True) -> str | BinaryIO:
    """What calamine opens for an archived workbook: its path when stored as received (checked first, unless
    ``verify`` is off: a sniff of its first rows, whose file is read checked afterwards), its bytes when stored
    compressed (an .xls or a text file under a workbook's name: never a large ZIP container, stored as is)."""
    path = Path(path)
    if compressed(path):
        return io.BytesIO(read_raw(path))
    if verify:
        verify_raw(path)
    return str(path)
