"""Compact pseudonyms (issue 28): a household's key is a 16-byte version 8 UUID made from HMAC-SHA256, the lake keeps
it in 16 bytes, and an old 64-hex key becomes the same UUID without the PII key."""

from __future__ import annotations

import uuid

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fupin.core.pseudonym import from_legacy_hex, legacy_hex_sql
from fupin.demo.registry import synthetic_registry
from fupin.tasks.identity import hashing
from fupin.tasks.registry import GOOD_SCHEMA, finish_registry, ingest_registry
from fupin.warehouse import migrations
from fupin.warehouse.migrations import rewrite_lake_keys
from tests.helpers import legacy_layout, legacy_pseudonym, rfc_pseudonym, valid_id

KEY = b"test-key-0123456789abcdef"


def test_a_key_is_the_rfc_9562_version_8_uuid_of_the_truncated_hmac(hashing_path):
    ids = ["360827197001011234", "36082719800202456X", "", "户编号"]
    keys = hashing.keyed_hashes(KEY, pa.array(ids))
    assert keys.type == pa.uuid()
    assert keys.to_pylist() == [rfc_pseudonym(KEY, i) for i in ids]
    assert {k.version for k in keys.to_pylist()} == {8}
    assert {k.variant for k in keys.to_pylist()} == {uuid.RFC_4122}


def test_native_and_fallback_give_the_same_keys_for_many_ids(monkeypatch):
    pytest.importorskip("fupin.tasks._hashing", reason="the native module was not built")
    ids = pa.array([f"3608271970{i:08d}" for i in range(5000)]).slice(3)
    made = {}
    for choice in ("native", "python"):
        monkeypatch.setenv("FUPIN_HASHING", choice)
        made[choice] = hashing.keyed_hashes(KEY, ids)
    assert made["native"].equals(made["python"]) and len(made["native"]) == 4997
    assert len(set(made["native"].to_pylist())) == 4997


def test_a_repeat_fingerprint_is_the_keys_first_eight_bytes():
    keys = hashing.keyed_hashes(KEY, pa.array(["a", "b", "a", "c"]))
    prints = hashing.key_prints(keys.slice(1))
    assert prints.tolist() == [int.from_bytes(k.bytes[:8], "little") for k in keys.to_pylist()[1:]]
    assert prints[1] == hashing.key_prints(keys)[0]  # the same head, the same fingerprint


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(min_size=1, max_size=20)), min_size=1, max_size=30), st.integers(0, 3))
def test_an_old_hex_key_becomes_the_key_the_new_code_derives(ids, skip):
    """Without the PII key: Arrow (lake files) and DuckDB SQL (warehouse tables) agree with the RFC construction."""
    old = pa.array([None] * skip + [None if i is None else legacy_pseudonym(KEY, i) for i in ids]).slice(skip)
    expected = [None if i is None else rfc_pseudonym(KEY, i) for i in ids]
    assert from_legacy_hex(old).to_pylist() == expected
    in_sql = duckdb.sql(f"select {legacy_hex_sql('k')} from unnest(?) as t(k)", params=[old.to_pylist()])
    assert [r[0] for r in in_sql.fetchall()] == expected


def test_an_upper_case_old_key_converts_and_anything_else_is_refused():
    hexed = legacy_pseudonym(KEY, "x")
    assert from_legacy_hex(pa.array([hexed.upper()])).to_pylist() == [rfc_pseudonym(KEY, "x")]
    with pytest.raises(ValueError, match="64 hex"):
        from_legacy_hex(pa.array(["k1"]))
    with pytest.raises(ValueError, match="not hexadecimal"):
        from_legacy_hex(pa.array(["g" * 64]))


def test_the_lake_keeps_a_registry_in_well_under_forty_percent_of_the_csv(tmp_path):
    """Issue 28: at most 40% of the CSV's bytes; 16 bytes a key, uncompressed, read by DuckDB as UUID text."""
    csv = synthetic_registry(tmp_path / "registry.csv", 50_000)
    result = ingest_registry(csv, None, 2017, KEY, tmp_path / "staging", "00-bytes")
    lake = tmp_path / "lake.parquet"
    finish_registry(result, lake)
    assert result.rows_loaded > 49_000
    share = lake.stat().st_size / csv.stat().st_size
    print(f"lake bytes per CSV byte: {share:.3f} ({lake.stat().st_size} / {csv.stat().st_size})")
    assert share < 0.40, f"lake/CSV = {share:.3f}"
    schema = pq.read_schema(lake)
    assert schema.field("household_key").type == pa.uuid()
    column = pq.ParquetFile(lake).metadata.row_group(0).column(schema.get_field_index("household_key"))
    assert column.compression == "UNCOMPRESSED" and not column.is_stats_set
    [(shown, kind)] = duckdb.sql(
        f"select household_key::varchar, typeof(household_key) from '{lake}' limit 1"
    ).fetchall()
    assert kind == "UUID" and len(shown) == 36 and shown[14] == "8" and shown.count("-") == 4


def _old_registry_file(path, n: int, rows_per_group: int) -> list[str]:
    """A registry lake file as fupin wrote it before UUIDs (64-hex keys), in several row groups."""
    ids = [f"36082719700101{i:04d}" for i in range(n)]
    old = legacy_layout(GOOD_SCHEMA)
    columns = {
        "household_id": [f"H{i}" for i in range(n)],
        "household_key": [legacy_pseudonym(KEY, i) for i in ids],
        "county_code": ["360827"] * n,
        "members": list(np.arange(n) % 7 + 1),
        "source_row": list(range(2, n + 2)),
        "submission_id": ["36-old"] * n,
    }
    table = pa.table({f.name: columns.get(f.name, [None] * n) for f in old}).cast(old)
    pq.write_table(table, path, row_group_size=rows_per_group, compression="zstd", use_dictionary=["submission_id"])
    return ids


def test_an_old_lake_file_is_rewritten_by_batches_once(tmp_path, monkeypatch):
    monkeypatch.setattr(migrations, "REWRITE_BATCH_ROWS", 700)  # many batches from a small file
    lake = tmp_path / "36-old.parquet"
    ids = _old_registry_file(lake, 3000, 1000)
    before = pq.read_table(lake)
    (tmp_path / ".36-old.parquet.uuid.tmp").write_bytes(b"half a file a crashed run left")
    assert rewrite_lake_keys(lake) is True
    after = pq.read_table(lake)
    assert after.schema.field("household_key").type == pa.uuid()
    assert after["household_key"].to_pylist() == [rfc_pseudonym(KEY, i) for i in ids]
    assert after.drop_columns(["household_key"]).equals(before.drop_columns(["household_key"]))
    assert pq.ParquetFile(lake).metadata.num_row_groups > 1
    assert not (tmp_path / ".36-old.parquet.uuid.tmp").exists()
    stamp = lake.stat().st_mtime_ns
    assert rewrite_lake_keys(lake) is False  # a rerun: the file is in the new layout, left as it is
    assert lake.stat().st_mtime_ns == stamp


def test_a_rewrite_that_fails_leaves_the_old_file_whole(tmp_path, monkeypatch):
    lake = tmp_path / "36-old.parquet"
    _old_registry_file(lake, 50, 50)
    original = lake.read_bytes()

    def broken(values):
        raise OSError("disk full")

    monkeypatch.setattr(migrations, "from_legacy_hex", broken)
    with pytest.raises(OSError, match="disk full"):
        rewrite_lake_keys(lake)
    assert lake.read_bytes() == original and [p.name for p in tmp_path.iterdir()] == ["36-old.parquet"]


def test_a_grant_lists_column_is_pseudonymised_in_one_call_as_each_cell_would_be(monkeypatch):
    """A grant list's 户主身份证号码 column: each number's pseudonym is the registry's (rfc_pseudonym), a refused one
    FAILED with the reason a single cell gets, never the number; empty cells are None."""
    from fupin.tasks.normalise.columns import FAILED, error_at
    from fupin.tasks.normalise.pseudonyms import IdRefused, pseudonym_column, pseudonym_key, pseudonym_of

    monkeypatch.setenv("FUPIN_PII_KEY", KEY.decode())
    good = valid_id("36082719900101001")
    lower_x = valid_id("36082719800101002").lower()  # 'x' read as 'X', as the registry reads it
    cells = [good, None, "-", f" {good} ", good[:-1], lower_x, good[:-1] + "0", "", good]
    with pseudonym_key():
        column = pseudonym_column(cells, "head_id")
        singles = []
        for cell in cells:
            try:
                singles.append(pseudonym_of(cell))
            except IdRefused as exc:
                singles.append((str(exc), exc.code))
    assert column[0] == column[3] == column[8] == rfc_pseudonym(KEY, good)
    assert column[5] == rfc_pseudonym(KEY, lower_x.upper())
    assert [column[i] for i in (1, 2, 7)] == [None, None, None]
    assert [column[i] for i in (4, 6)] == [FAILED, FAILED]
    refused = [error_at(column, i) for i in (4, 6)]
    assert [(e.field, e.value, e.reason, e.code) for e in refused] == [
        ("head_id", "360827***********", *singles[4]),
        ("head_id", "360827************", *singles[6]),
    ]
    assert [c for i, c in enumerate(column) if i not in (4, 6)] == [s for i, s in enumerate(singles) if i not in (4, 6)]
