"""A household's pseudonym: a 16-byte UUID, version 8 (RFC 9562's custom UUID), made from a keyed digest.

The key of a household is the first 16 bytes of HMAC-SHA256(PII key, head's ID number) (truncation to at least
half the output is what RFC 2104 §5 allows) with the UUID's version (8) and variant (RFC 9562) bits set: byte 6 is
``(b6 & 0x0F) | 0x80``, byte 8 ``(b8 & 0x3F) | 0x80``. 122 bits of the HMAC remain: for n households the odds that
two share a key are about n²/2¹²³ (10⁸ households: about 9.4e-22). DuckDB stores it as UUID and prints it as
8-4-4-4-12 hex text; the lake stores Parquet's UUID logical type (16 bytes a household).

Before, the key was the whole HMAC as 64 lowercase hex characters. ``from_legacy_hex`` (Arrow) and
``legacy_hex_sql`` (DuckDB) turn such a key into the new one without the PII key: its first 32 hex characters as
16 bytes, the version and variant bits set — exactly what the new code derives from the ID number, so an old
submission and a new one of the same household join (warehouse/migrations.py, step 6).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

UUID_BYTES = 16  # bytes per pseudonym
LEGACY_HEX_WIDTH = 64  # characters of a pseudonym before: the whole HMAC-SHA256 in hex
UUID_TYPE = pa.uuid()  # the lake's and Arrow's type: an extension over fixed_size_binary(16)


def mark_uuid8(digests: np.ndarray) -> np.ndarray:
    """Set the version (8) and variant bits of n × 16 bytes (uint8, shape (n, 16)), in place; returns them."""
    digests[:, 6] = (digests[:, 6] & 0x0F) | 0x80
    digests[:, 8] = (digests[:, 8] & 0x3F) | 0x80
    return digests


def uuid_array(raw: bytes | pa.Buffer, n: int, validity: pa.Buffer | None = None) -> pa.ExtensionArray:
    """n pseudonyms back to back (16 bytes each) as an Arrow UUID array (nulls where ``validity`` says)."""
    storage = pa.Array.from_buffers(pa.binary(UUID_BYTES), n, [validity, pa.py_buffer(raw)])
    return pa.ExtensionArray.from_storage(UUID_TYPE, storage)


_HEX_VALUE = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX_VALUE[_c] = _i
    _HEX_VALUE[ord(chr(_c).upper())] = _i


def is_legacy(values: pa.Array | pa.ChunkedArray | pa.DataType) -> bool:
    """Whether a column (or its type) holds the old text pseudonyms rather than UUIDs."""
    kind = values if isinstance(values, pa.DataType) else values.type
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def from_legacy_hex(values: pa.Array | pa.ChunkedArray) -> pa.ExtensionArray:
    """Old pseudonyms (64 hex characters each, nulls kept) as the new UUIDs: the first 16 bytes, version 8.

    A value that is not 64 hex characters is not a pseudonym fupin wrote: ValueError, naming none of them.
    """
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    n = len(values)
    valid = pc.is_valid(values)
    filled = pc.fill_null(values.cast(pa.string()), "0" * LEGACY_HEX_WIDTH)
    if n and not pc.all(pc.equal(pc.binary_length(filled), LEGACY_HEX_WIDTH)).as_py():
        raise ValueError("a stored household_key is not 64 hex characters: not a pseudonym fupin wrote")
    head = pc.utf8_slice_codeunits(filled, 0, 2 * UUID_BYTES)
    if not n:
        return uuid_array(b"", 0)
    buffers = head.buffers()  # every value 32 characters: back to back from the first one's offset
    start = int(np.frombuffer(buffers[1], dtype=np.int32)[head.offset])
    chars = np.frombuffer(buffers[2], dtype=np.uint8, count=n * 2 * UUID_BYTES, offset=start)
    nibbles = _HEX_VALUE[chars].reshape(n, 2 * UUID_BYTES)
    if (nibbles == 255).any():
        raise ValueError("a stored household_key is not hexadecimal: not a pseudonym fupin wrote")
    digests = mark_uuid8((nibbles[:, 0::2] << 4) | nibbles[:, 1::2])
    validity = None if values.null_count == 0 else pa.array(valid).buffers()[1]
    return uuid_array(np.ascontiguousarray(digests).tobytes(), n, validity)


def legacy_hex_sql(column: str) -> str:
    """DuckDB: an old pseudonym (64 hex characters) in ``column`` as the new UUID, as ``from_legacy_hex`` makes it.

    The 13th hex digit becomes '8' (the version); the 17th keeps its two low bits under the variant's '10'.
    """
    h = f"lower({column})"
    variant = f"substr('89ab', (instr('0123456789abcdef', substr({h}, 17, 1)) - 1) % 4 + 1, 1)"
    return f"cast(substr({h}, 1, 12) || '8' || substr({h}, 14, 3) || {variant} || substr({h}, 18, 15) as uuid)"
