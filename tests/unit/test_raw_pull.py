"""Issue 28: what pull writes into the raw archive — text compressed, a workbook as received, an older
uncompressed copy kept, a damaged copy mended by receiving the file again."""

from __future__ import annotations

import hashlib
from pathlib import Path

import xlsxwriter

from fupin.core.config import Paths, Source
from fupin.core.raw import read_raw
from fupin.tasks.pull import pull_source

CSV = "2017年资金.csv"
TEXT = "县名,金额\n" + "".join(f"遂川县,{n}\n" for n in range(2000))


def _inbox(tmp_path: Path) -> tuple[Source, Paths, Path]:
    folder = tmp_path / "inbox" / "jiangxi"
    folder.mkdir(parents=True)
    (folder / CSV).write_text(TEXT, encoding="utf-8")
    with xlsxwriter.Workbook(str(folder / "2017年资金.xlsx")) as book:
        book.add_worksheet().write_row(0, 0, ["县名", "金额"])
    return Source("36", str(folder)), Paths.from_home(tmp_path / "home"), folder


def test_text_is_archived_compressed_and_a_workbook_as_received(tmp_path):
    source, paths, folder = _inbox(tmp_path)
    received = {r.file_name: r for r in pull_source.fn(source, paths, {})}
    csv, xlsx = received[CSV], received["2017年资金.xlsx"]
    sent = (folder / CSV).read_bytes()
    assert Path(csv.raw_path).name == f"{hashlib.sha256(sent).hexdigest()}.csv.zst"
    assert csv.sha256 == hashlib.sha256(sent).hexdigest() and csv.size == len(sent)
    assert Path(csv.raw_path).stat().st_size < 0.35 * len(sent)
    assert read_raw(csv.raw_path) == sent
    assert Path(xlsx.raw_path).suffix == ".xlsx"
    assert Path(xlsx.raw_path).read_bytes() == (folder / "2017年资金.xlsx").read_bytes()
    assert all(Path(r.raw_path).stat().st_mode & 0o077 == 0 for r in received.values())


def test_an_older_uncompressed_copy_is_kept_and_a_damaged_copy_mended(tmp_path):
    source, paths, folder = _inbox(tmp_path)
    sent = (folder / CSV).read_bytes()
    sha = hashlib.sha256(sent).hexdigest()
    old = paths.raw / "36" / f"{sha}.csv"
    old.parent.mkdir(parents=True)
    old.write_bytes(sent)  # archived by a fupin before compression
    (received,) = [r for r in pull_source.fn(source, paths, {}) if r.file_name == CSV]
    assert received.raw_path == str(old) and not old.with_name(old.name + ".zst").exists()
    old.unlink()
    (first,) = [r for r in pull_source.fn(source, paths, {}) if r.file_name == CSV]
    Path(first.raw_path).write_bytes(b"damaged")
    (again,) = [r for r in pull_source.fn(source, paths, {}) if r.file_name == CSV]  # not in the ledger: sent again
    assert again.raw_path == first.raw_path and read_raw(again.raw_path) == sent
