"""Pull's change detection: a local file read again only when its stat changed, and every change still seen."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from fupin.core.config import Paths, Source
from fupin.core.raw import read_raw
from fupin.tasks.pull import pull_source, submission_id_for

NAME = "2017年资金.csv"


@pytest.fixture
def setup(tmp_path: Path):
    folder = tmp_path / "inbox" / "jiangxi"
    folder.mkdir(parents=True)
    (folder / NAME).write_text("县名,金额\n遂川县,100\n", encoding="utf-8")
    return Source("36", str(folder)), Paths.from_home(tmp_path / "home"), folder / NAME


def pull(source: Source, paths: Paths, received_before: list) -> list:
    """One pull with the ledger keys of everything received before (as read_ledger gives them)."""
    seen = {}
    for r in received_before:
        seen[f"{r.province_code}|{r.source_path}|{r.sha256}"] = r.submission_id
        seen.setdefault(f"{r.province_code}|{r.sha256}", r.submission_id)
    return pull_source.fn(source, paths, seen)


def cache_file(paths: Paths) -> Path:
    return paths.home / "cache" / "pull-36.json"


def test_an_unchanged_file_is_not_received_again(setup):
    source, paths, file = setup
    first = pull(source, paths, [])
    assert [r.file_name for r in first] == [NAME]
    assert pull(source, paths, first) == []
    entry = json.loads(cache_file(paths).read_text(encoding="utf-8"))[str(file)]
    assert entry[0] == file.stat().st_size and entry[-1] == first[0].sha256
    assert cache_file(paths).stat().st_mode & 0o077 == 0


def test_a_file_rewritten_to_the_same_size_and_mtime_is_received(setup):
    source, paths, file = setup
    first = pull(source, paths, [])
    before = file.stat()
    file.write_text("县名,金额\n遂川县,900\n", encoding="utf-8")  # same size
    os.utime(file, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the old modification time
    assert file.stat().st_size == before.st_size
    second = pull(source, paths, first)
    assert [r.file_name for r in second] == [NAME]
    assert second[0].sha256 != first[0].sha256
    assert read_raw(second[0].raw_path).decode("utf-8").endswith("900\n")


def test_the_cache_is_trusted_only_under_the_exact_stat(setup):
    source, paths, file = setup
    first = pull(source, paths, [])
    cache = json.loads(cache_file(paths).read_text(encoding="utf-8"))
    cache[str(file)][-1] = "0" * 64  # what a stale entry would claim
    cache_file(paths).write_text(json.dumps(cache), encoding="utf-8")
    # the stat still matches: the entry is believed, so the file is not taken as the one in the ledger
    believed = pull(source, paths, first)
    assert [r.submission_id for r in believed] == [submission_id_for("36", NAME, first[0].sha256)]
    cache[str(file)][0] += 1  # another size: the entry no longer applies and the file is read
    cache_file(paths).write_text(json.dumps(cache), encoding="utf-8")
    assert pull(source, paths, first) == []


def test_a_damaged_cache_is_read_as_none(setup):
    source, paths, _ = setup
    first = pull(source, paths, [])
    cache_file(paths).write_text("{not json", encoding="utf-8")
    assert pull(source, paths, first) == []
    assert json.loads(cache_file(paths).read_text(encoding="utf-8"))  # written again
