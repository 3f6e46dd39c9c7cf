"""Pseudonyms: the key, and hashes of whole Arrow string columns (native when built, an exact pure fallback).

``tasks._hashing`` (C, OpenSSL 3's EVP API) is an optional extension: ``pip install`` builds it when a
compiler and libssl-dev are there and carries on without it when they are not. Both paths give the
same bytes: a pseudonym is the first 16 bytes of ``hmac.new(key, id, 'sha256').digest()`` with the version 8 and
variant bits of an RFC 9562 UUID set (fupin/core/pseudonym.py) either way (tested on the demo registries), and a
fingerprint is the same FNV-1a + MurmurHash3 finaliser, computed with numpy.

``FUPIN_HASHING`` chooses: ``native`` (fail when the module is missing), ``python`` (always the fallback,
for tests and comparisons), or unset/``auto`` (native when importable).
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np
import pyarrow as pa

from fupin.core.messages import say
from fupin.core.pseudonym import UUID_BYTES, mark_uuid8, uuid_array

_BLOCK = 64  # SHA-256's block size in bytes (RFC 2104's B)
_FNV_OFFSET, _FNV_PRIME = np.uint64(14695981039346656037), np.uint64(1099511628211)
_MIX = (np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53))

log = logging.getLogger(__name__)


class MissingKeyError(RuntimeError):
    """No pseudonymisation key: the run refuses the registry and leaves it to be received again."""


class HashingUnavailable(RuntimeError):
    """FUPIN_HASHING=native, but the compiled module was not built."""


@cache
def _backend(choice: str) -> ModuleType | None:
    """The compiled module, or None for the pure fallback; says once per process which one it is."""
    native = None
    if choice != "python":
        try:
            native = importlib.import_module("fupin.tasks._hashing")
        except ImportError as exc:
            if choice == "native":
                raise HashingUnavailable(
                    f"FUPIN_HASHING=native but tasks._hashing is not built ({exc}): install gcc and libssl-dev "
                    "and reinstall fupin, or unset FUPIN_HASHING to use the pure fallback"
                ) from None
    _logger().info(describe_backend(native is not None, choice))
    return native


def _logger() -> logging.Logger | logging.LoggerAdapter:
    """The Prefect run's logger inside a flow or task run (so the run's log shows it), else this module's."""
    if "prefect" in sys.modules:  # not imported: certainly not inside a run, and not worth a second to import
        # lazy: Prefect only when this process already runs it (the registry streams without it)
        from prefect.exceptions import MissingContextError
        from prefect.logging import get_run_logger

        try:
            return get_run_logger()
        except MissingContextError:
            pass
    return log


def describe_backend(native: bool, choice: str) -> str:
    """One line for the logs: which hashing path this process uses and why."""
    if native:
        return "registry hashing: native (tasks._hashing, OpenSSL EVP, GIL released)"
    why = "FUPIN_HASHING=python" if choice == "python" else "fupin.tasks._hashing is not built"
    return f"registry hashing: pure Python fallback (hashlib, bit-identical, slower) because {why}"


def backend() -> ModuleType | None:
    """The hashing path chosen by $FUPIN_HASHING (native, python, or auto when unset)."""
    choice = (os.environ.get("FUPIN_HASHING") or "auto").strip().lower()
    if choice not in ("auto", "native", "python"):
        raise ValueError(f"FUPIN_HASHING must be native, python or auto, not {choice!r}")
    return _backend(choice)


def backend_name() -> str:
    """'native' or 'python': the path keyed_hashes and fingerprints take in this process."""
    return "native" if backend() is not None else "python"


def keyed_hashes(key: bytes, values: pa.Array) -> pa.ExtensionArray:
    """HMAC-SHA256 (RFC 2104) of every value as a version 8 UUID (Arrow's ``pa.uuid()``, 16 bytes a value).

    Equal per value on both paths (tested) to the first 16 bytes of ``hmac.new(key, value.encode(),
    'sha256').digest()`` with byte 6 ``(b & 0x0F) | 0x80`` and byte 8 ``(b & 0x3F) | 0x80``; natively one call
    per column with the GIL released (~0.13 µs a row), else ~1-3 µs a row.
    """
    if values.null_count:
        raise ValueError("cannot pseudonymise a missing ID number")
    offsets, data = string_buffers(values)
    native = backend()
    digests = native.hmac_sha256_uuid(key, offsets, data) if native else _hmac_uuid(key, offsets, data)
    return uuid_array(digests, len(values))


def key_prints(keys: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A 64-bit fingerprint per pseudonym: its first 8 bytes (the key is a keyed hash already: no second hash)."""
    keys = keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys
    storage = keys.storage if isinstance(keys, pa.ExtensionArray) else keys
    raw = np.frombuffer(storage.buffers()[1], dtype=np.uint8)
    raw = raw[storage.offset * UUID_BYTES : (storage.offset + len(storage)) * UUID_BYTES]
    return raw.reshape(-1, UUID_BYTES)[:, :8].copy().view(np.uint64).ravel()


def fingerprints(values: pa.Array) -> np.ndarray:
    """A 64-bit fingerprint per value (equal values, equal fingerprints; the converse is checked as text)."""
    offsets, data = string_buffers(values)
    native = backend()
    if native:
        return np.frombuffer(native.hash64(offsets, data), dtype=np.uint64)
    return _fnv_mixed(offsets, np.frombuffer(data, dtype=np.uint8))


def string_buffers(values: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, pa.Buffer]:
    """A string column's n + 1 int32 offsets (this slice's) and its data buffer, as tasks._hashing takes them."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    values = values.cast(pa.string())
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[values.offset : values.offset + len(values) + 1]
    return offsets, values.buffers()[2] or pa.py_buffer(b"")


def _hmac_uuid(key: bytes, offsets: np.ndarray, data: pa.Buffer) -> bytes:
    """The native hmac_sha256_uuid in hashlib: the keyed inner and outer states made once, copied per value.

    Measured against hmac.new per value, hmac's own .copy() and DuckDB SQL nested sha256, this was the
    fastest pure path (README, Household registries).
    """
    block = hashlib.sha256(key).digest() if len(key) > _BLOCK else key
    block = block.ljust(_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
    raw = memoryview(data)
    out = []
    for start, end in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True):
        digest = inner.copy()
        digest.update(raw[start:end])
        keyed = outer.copy()
        keyed.update(digest.digest())
        out.append(keyed.digest()[:UUID_BYTES])
    digests = np.frombuffer(b"".join(out), dtype=np.uint8).reshape(-1, UUID_BYTES).copy()
    return mark_uuid8(digests).tobytes()


def _fnv_mixed(offsets: np.ndarray, data: np.ndarray) -> np.ndarray:
    """fupin.tasks._hashing.hash64 in numpy: FNV-1a over each value's bytes, then MurmurHash3's finaliser.

    One pass per character position over every value still that long, so its cost follows the longest
    value (household ids are short), not the row count times a Python loop.
    """
    starts = offsets[:-1].astype(np.int64)
    lengths = offsets[1:].astype(np.int64) - starts
    h = np.full(len(starts), _FNV_OFFSET, dtype=np.uint64)
    for position in range(int(lengths.max()) if len(lengths) else 0):
        longer = np.flatnonzero(lengths > position)
        h[longer] = (h[longer] ^ data[starts[longer] + position].astype(np.uint64)) * _FNV_PRIME
    for multiplier in _MIX:
        h ^= h >> np.uint64(33)
        h *= multiplier
    h ^= h >> np.uint64(33)
    return h


# what the clerk and the operator read wherever a file with ID numbers (a registry, a grant list) waits for
# the key (the run's failure, the report)
KEY_MISSING_CODE = "pii_key_missing"
KEY_MISSING_MESSAGE = say(KEY_MISSING_CODE)


def pii_key() -> bytes:
    """The pseudonymisation key: $FUPIN_PII_KEY, the file $FUPIN_PII_KEY_FILE, or a Prefect Secret block."""
    value = os.environ.get("FUPIN_PII_KEY")
    if not value and os.environ.get("FUPIN_PII_KEY_FILE"):
        key_file = Path(os.environ["FUPIN_PII_KEY_FILE"])
        value = key_file.read_text(encoding="utf-8").strip() if key_file.exists() else None
    if not value:
        value = _secret_key()
    if not value or len(value) < 16:
        raise MissingKeyError(KEY_MISSING_MESSAGE)
    return value.encode()


def _secret_key() -> str | None:
    """The Secret block named by $FUPIN_PII_KEY_BLOCK (default 'fupin-pii-key'; empty: never asked).

    Only asked where a Prefect API is at hand: inside a flow or task run, or with PREFECT_API_URL set.
    Elsewhere Prefect would start a temporary server (~10 s) just to find that there is no block.
    """
    name = os.environ.get("FUPIN_PII_KEY_BLOCK", "fupin-pii-key")
    if not name:
        return None
    # lazy: Prefect (~1 s) only when no key is in the environment (benchmarks and tests hash without it)
    from prefect.context import FlowRunContext, TaskRunContext
    from prefect.settings import PREFECT_API_URL

    if not (PREFECT_API_URL.value() or FlowRunContext.get() or TaskRunContext.get()):
        return None
    try:
        from prefect.blocks.system import Secret  # lazy: as above

        return Secret.load(name).get()
    except Exception:  # no such block, or the server cannot be reached: the caller says what to set
        return None
