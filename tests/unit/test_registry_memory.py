"""A registry's repeats are found from fingerprints spilled to files, one part at a time: the same rows as
comparing them all in memory, whatever the number of parts."""

from __future__ import annotations

import numpy as np
import pytest

from fupin.tasks.registry import repeats
from fupin.tasks.registry.repeats import Fingerprints
from tests.helpers import valid_id


@pytest.mark.parametrize("parts", [1, 3, 64])
def test_spilled_fingerprints_find_the_repeats_in_any_number_of_parts(tmp_path, monkeypatch, parts):
    monkeypatch.setattr(repeats, "PARTS", parts)
    monkeypatch.setattr(repeats, "FLUSH_ROWS", 1_000)  # appended to the files several times
    rng = np.random.default_rng(7)
    values = rng.integers(0, 2**63, size=5_000, dtype=np.uint64)
    values[[100, 2_000, 4_999]] = values[5]  # one fingerprint four times
    values[3_333] = values[3_332]  # a pair side by side
    spilled = Fingerprints(tmp_path / "prints")
    for block in np.array_split(values, 13):  # as the ingest's blocks arrive
        spilled.add(block)
    counts = dict(zip(*np.unique(values, return_counts=True), strict=True))
    in_memory = [i for i, v in enumerate(values) if counts[v] > 1]  # every fingerprint compared at once
    assert spilled.repeated() == [5, 100, 2_000, 3_332, 3_333, 4_999] == in_memory
    assert not (tmp_path / "prints").exists()  # the spill files are gone once read


def test_no_rows_no_repeats(tmp_path):
    assert Fingerprints(tmp_path / "prints").repeated() == []
    assert list(tmp_path.iterdir()) == []


def test_invisible_characters_leave_the_free_text_and_plain_blocks_are_kept_as_they_are():
    """Only a block with an unprintable character goes through the regular expression; the lake never keeps one."""
    import pyarrow as pa

    from fupin.tasks.registry.checking import CountyCodes, check_block

    n = 3
    columns = {
        "household_id": pa.array(["H1", "H\u200b2", "H3"]),
        "head_id": pa.array([valid_id(f"1101051949123100{i}") for i in (1, 2, 3)]),
        "county": pa.array(["110105"] * n),
        "township": pa.array(["第1镇", "第\ufeff2镇", "第3镇\x07"]),
        "village": pa.array(["一村", "二村", "三村"]),
        "members": pa.array(["3"] * n),
        "status": pa.array(["未脱贫"] * n),
        "registration_year": pa.array(["2016"] * n),
    }
    good, rejections = check_block(columns, np.arange(2, 2 + n), CountyCodes("11"))
    assert not rejections
    assert good["household_id"].to_pylist() == ["H1", "H2", "H3"]
    assert good["township"].to_pylist() == ["第1镇", "第2镇", "第3镇"]
    assert good["village"].to_pylist() == ["一村", "二村", "三村"]
