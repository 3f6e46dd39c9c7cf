"""Native hashing and its pure fallback: the same pseudonyms and fingerprints, bit for bit."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fupin.demo.registry import county_registry
from fupin.tasks.identity import hashing
from fupin.tasks.registry import ingest_registry, xlsx_to_csv
from tests.helpers import rfc_pseudonym

KEY = b"test-key-0123456789abcdef"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.text(min_size=0, max_size=40), min_size=1, max_size=30),
    st.binary(min_size=16, max_size=100),
    st.integers(0, 5),
)
def test_keyed_hash_is_rfc2104_hmac_on_both_paths(values, key, skip):
    """Any text, any key length (over 64 bytes too), and a sliced column (offsets not from zero): the HMAC's first
    16 bytes as a version 8 UUID (was 64 hex characters: changed on purpose, issue 28)."""
    column = pa.array(["padding"] * skip + values).slice(skip)
    expected = b"".join(rfc_pseudonym(key, v).bytes for v in values)
    assert hashing._hmac_uuid(key, *hashing.string_buffers(column)) == expected
    if _native() is not None:
        assert _native().hmac_sha256_uuid(key, *hashing.string_buffers(column)) == expected


@settings(deadline=None)
@given(st.lists(st.text(min_size=0, max_size=30), min_size=1, max_size=50), st.integers(0, 5))
def test_fingerprints_are_the_same_on_both_paths(values, skip):
    column = pa.array(["padding"] * skip + values).slice(skip)
    offsets, data = hashing.string_buffers(column)
    python = hashing._fnv_mixed(offsets, np.frombuffer(data, dtype=np.uint8))
    assert len(set(python.tolist())) == len(set(values))  # equal values, equal fingerprints (and no collision here)
    if _native() is not None:
        assert python.tolist() == np.frombuffer(_native().hash64(offsets, data), dtype=np.uint64).tolist()


def test_the_demo_registries_get_the_same_pseudonyms_on_both_paths(tmp_path, monkeypatch):
    """The demo's two registries (a GB18030 CSV and an XLSX) ingested natively and by the fallback."""
    pytest.importorskip("fupin.tasks._hashing", reason="the native module was not built")
    suichuan = tmp_path / "遂川县建档立卡贫困户2017.csv"
    county_registry(suichuan, "360827", "遂川县", 68386, 17002, 2017, old_code="362427", encoding="gb18030")
    lianhua = tmp_path / "莲花县建档立卡贫困户2017.xlsx"
    county_registry(lianhua, "360321", "莲花县", 33065, 6580, 2017, seed=5)
    lianhua_csv, _ = xlsx_to_csv(lianhua, tmp_path / "lianhua.csv")
    keys = {}
    for choice in ("native", "python"):
        monkeypatch.setenv("FUPIN_HASHING", choice)
        for name, source in (("suichuan", suichuan), ("lianhua", lianhua_csv)):
            result = ingest_registry(source, "36", 2017, KEY, tmp_path / choice / name, f"36-{name}")
            table = pq.read_table(result.good_path, columns=["source_row", "household_key"])
            keys[choice, name] = table.to_pydict()
            keys[choice, name, "repeats"] = result.repeat_candidates
    for name in ("suichuan", "lianhua"):
        assert keys["native", name] == keys["python", name]
        assert keys["native", name, "repeats"] == keys["python", name, "repeats"]
    assert len(keys["python", "suichuan"]["household_key"]) > 17000  # every household, not an empty agreement


def test_native_hashing_refuses_offsets_outside_the_data():
    native = pytest.importorskip("fupin.tasks._hashing", reason="the native module was not built")
    hash64, hmac_sha256_uuid = native.hash64, native.hmac_sha256_uuid

    offsets = np.array([0, 4, 50], dtype=np.int32)
    with pytest.raises(ValueError, match="outside the data buffer"):
        hmac_sha256_uuid(KEY, offsets, b"abcdefgh")
    with pytest.raises(ValueError, match="outside the data buffer"):
        hash64(offsets, b"abcdefgh")
    with pytest.raises(ValueError, match="n \\+ 1 int32"):
        hash64(b"abc", b"abcdefgh")


def test_keyed_hashes_on_the_chosen_path(hashing_path):
    values = pa.array(["360827197001011234", "", "户编号"])
    assert hashing.keyed_hashes(KEY, values).to_pylist() == [rfc_pseudonym(KEY, v) for v in values.to_pylist()]
    with pytest.raises(ValueError, match="missing ID number"):
        hashing.keyed_hashes(KEY, pa.array(["a", None]))


def test_a_process_says_once_which_path_it_uses(hashing_path, caplog):
    hashing._backend.cache_clear()
    with caplog.at_level(logging.INFO, logger="fupin.tasks.identity.hashing"):
        hashing.keyed_hashes(KEY, pa.array(["a"]))
        hashing.fingerprints(pa.array(["a"]))
    said = [r.getMessage() for r in caplog.records if r.name == "fupin.tasks.identity.hashing"]
    assert len(said) == 1
    assert said[0].startswith("registry hashing: " + ("native" if hashing_path == "native" else "pure Python fallback"))


def test_without_the_native_module_auto_falls_back_and_native_refuses(monkeypatch):
    monkeypatch.setitem(sys.modules, "fupin.tasks._hashing", None)  # as if it had never been built
    hashing._backend.cache_clear()
    try:
        monkeypatch.delenv("FUPIN_HASHING", raising=False)
        assert hashing.backend_name() == "python"
        assert hashing.keyed_hashes(KEY, pa.array(["x"])).to_pylist() == [rfc_pseudonym(KEY, "x")]
        monkeypatch.setenv("FUPIN_HASHING", "native")
        with pytest.raises(hashing.HashingUnavailable, match="libssl-dev"):
            hashing.backend()
    finally:
        hashing._backend.cache_clear()


def test_an_unknown_choice_is_refused(monkeypatch):
    monkeypatch.setenv("FUPIN_HASHING", "fast")
    with pytest.raises(ValueError, match="native, python or auto"):
        hashing.backend()


def _native():
    try:
        from fupin.tasks import _hashing
    except ImportError:
        return None
    return _hashing
