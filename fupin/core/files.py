"""Writing a file so that a reader sees the old one or the new one, never half of either."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_write(target: Path | str, *, fsync: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; when the block ends without error it replaces ``target``.

    The temporary file (``.<name>.tmp``, hidden from globs of the folder) is removed when the block
    fails. ``fsync`` flushes it to disk before the rename, for files a crash must not leave empty.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(target: Path | str, text: str) -> Path:
    """Write UTF-8 text to ``target`` through :func:`atomic_write`; returns the target."""
    with atomic_write(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def plain_file(path: Path | str) -> bool:
    """A regular file, not a symbolic link, with no other name (a hard link may be to the raw archive)."""
    try:
        st = Path(path).lstat()
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_nlink == 1
