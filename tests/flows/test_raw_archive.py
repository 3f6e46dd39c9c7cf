"""Issue 28, the raw archive: every file received kept losslessly, compressed (zstd), checked against its SHA-256
whenever it is read; a damaged copy is refused by name, `fupin doctor --verify-archive` finds it, and an archive
written before compression (files stored as received) still reprocesses."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import duckdb
import pytest
import zstandard
from typer.testing import CliRunner

from fupin.cli import app
from fupin.core.raw import RawArchiveError, open_raw, raw_size, read_raw, received_suffix
from tests.helpers import indicator_rows, open_warehouse


@pytest.fixture()
def home(demo_run, tmp_path) -> Path:
    """A copy of the demo run's home with its raw archive (the inbox left behind: the archive is what is read)."""
    copy = tmp_path / "home"
    shutil.copytree(demo_run["home"], copy, ignore=shutil.ignore_patterns("inbox"))
    return copy


FOLDERS = {"36": "jiangxi", "43": "hunan", "00": "mca"}  # the demo inbox's folder of each province


def _ledger(home: Path) -> list[tuple[str, str, str, Path]]:
    """(inbox path, submission id, SHA-256 in the ledger, archived file) of each submission."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute("select province_code, file_name, submission_id, sha256, raw_path from meta.submissions")
        return [(f"{FOLDERS[p]}/{name}", sid, sha, home / raw) for p, name, sid, sha, raw in rows.fetchall()]


def _archived(home: Path) -> dict[str, tuple[str, str, Path]]:
    """file name → (submission id, SHA-256 in the ledger, archived file), for the names one province sent."""
    return {where.split("/")[1]: rest for where, *rest in _ledger(home)}


def _figures(home: Path) -> dict:
    con = open_warehouse(home)
    try:
        return indicator_rows(con)
    finally:
        con.close()


def _tamper(raw: Path) -> None:
    """One byte of the received content changed, and stored compressed again: a copy that still decompresses."""
    data = bytearray(read_raw(raw))
    data[-2] = ord("7") if data[-2] != ord("7") else ord("8")
    raw.write_bytes(zstandard.ZstdCompressor().compress(bytes(data)))


def test_a_run_archives_text_files_compressed_and_their_bytes_unchanged(demo_run):
    folder = demo_run["home"] / "inbox"
    inbox = {p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file()}
    archived = {where: (sid, sha, raw) for where, sid, sha, raw in _ledger(demo_run["home"])}
    assert set(archived) == set(inbox)
    for name, (_, sha, raw) in archived.items():
        sent = inbox[name].read_bytes()
        assert read_raw(raw) == sent, name
        assert hashlib.sha256(sent).hexdigest() == sha == raw.name.split(".")[0]
        assert raw_size(raw) == len(sent)
        assert received_suffix(raw) == inbox[name].suffix.lower()
        if inbox[name].suffix in (".csv", ".json"):
            assert raw.name.endswith(".zst") and raw.read_bytes() != sent, name
        else:  # an .xlsx is a ZIP container already: kept as received
            assert raw.name.endswith(".xlsx") and raw.read_bytes() == sent, name
    registry = archived["jiangxi/遂川县建档立卡贫困户2017.csv"][2]
    assert registry.stat().st_size <= 0.35 * len(inbox["jiangxi/遂川县建档立卡贫困户2017.csv"].read_bytes())


def test_open_raw_streams_lines_and_starts_again_from_the_beginning(demo_run):
    _, _, raw = _archived(demo_run["home"])["遂川县建档立卡贫困户2017.csv"]
    sent = read_raw(raw)
    with open_raw(raw) as fh:
        head = fh.read(100)
        fh.seek(0)
        lines = list(fh)
    assert head == sent[:100] and b"".join(lines) == sent


def test_a_damaged_copy_is_refused_by_name_when_read(demo_run, tmp_path):
    _, sha, raw = _archived(demo_run["home"])["湖南省罗霄山片区民政资金2015-2017.csv"]
    changed = tmp_path / raw.name
    shutil.copyfile(raw, changed)
    _tamper(changed)
    with pytest.raises(RawArchiveError) as caught:
        read_raw(changed)
    assert caught.value.code == "raw_corrupt"
    assert str(changed) in str(caught.value) and "已损坏" in str(caught.value) and sha[:12] in str(caught.value)
    broken = tmp_path / f"{sha}.csv.zst"
    broken.write_bytes(b"not a zstd frame" * 4)  # overwritten: no longer compressed data
    with pytest.raises(RawArchiveError, match=r"压缩数据无法解压.*\[raw_corrupt\]"):
        read_raw(broken)


@pytest.mark.parametrize(
    ("province", "name"),
    [("hunan", "湖南省罗霄山片区民政资金2015-2017.csv"), ("jiangxi", "遂川县建档立卡贫困户2017.csv")],
)
def test_reprocessing_a_damaged_copy_fails_the_file_and_changes_nothing(home, province, name):
    from fupin.flows.backfill import backfill

    sid, _, raw = _archived(home)[name]
    before = _figures(home)
    _tamper(raw)
    state = backfill(provinces=[province], home=str(home), return_state=True)
    assert state.is_failed()
    assert f"{name}: 原始档案文件 {raw} 已损坏" in state.message and "[raw_corrupt]" in state.message
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        status = con.execute("select status from meta.submissions where submission_id = ?", [sid]).fetchone()[0]
    assert status == "loaded"  # the damage is the archive's, not the province's: nothing rejected, nothing replaced
    assert _figures(home) == before


def _doctor(home: Path):
    return CliRunner().invoke(app, ["doctor", "--home", str(home), "--verify-archive"])


def test_doctor_verify_archive_finds_a_damaged_and_a_missing_file(home):
    archived = _archived(home)
    intact = _doctor(home)
    assert intact.exit_code == 0, intact.output
    assert f"原始档案：{len({r for *_, r in _ledger(home)})} 个文件的 SHA-256 均与收到时一致" in intact.output
    assert "[raw_" not in intact.output.replace("[raw_verified]", "")
    _, _, damaged = archived["湖南省罗霄山片区贫困人口2015-2017.csv"]
    _tamper(damaged)
    sid, _, missing = archived["2018年社会组织定点扶贫项目.json"]
    missing.unlink()
    result = _doctor(home)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert [line for line in lines if line.startswith("错误 [raw_corrupt]")] == [
        line for line in lines if str(damaged) in line
    ]
    assert any(line.startswith(f"错误 [raw_missing] 原始档案文件 {missing} 不存在（报送 {sid}") for line in lines)
    assert not CliRunner().invoke(app, ["doctor", "--home", str(home)]).output.count("[raw_")  # only on request


def test_an_archive_written_before_compression_still_reprocesses(home):
    """Files stored as received, the ledger naming them so: read as they are, checked, figures unchanged."""
    from fupin.flows.backfill import backfill

    before = _figures(home)
    for raw in (home / "raw").rglob("*.zst"):
        raw.with_suffix("").write_bytes(read_raw(raw))
        raw.unlink()
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute("update meta.submissions set raw_path = replace(raw_path, '.zst', '')")
    assert not list((home / "raw").rglob("*.zst"))
    summary = backfill(provinces=["jiangxi", "hunan", "mca"], home=str(home))
    assert not summary["failed_provinces"], summary["failed_provinces"]
    assert {s["status"] for s in summary["submissions"]} == {"loaded"}
    assert len(summary["submissions"]) == 15
    assert _figures(home) == before
    assert "[raw_verified]" in _doctor(home).output
    plain = next((home / "raw" / "43").glob("*.csv"))
    plain.write_bytes(plain.read_bytes().replace(b"2017", b"2018", 1))  # stored as received, and changed
    assert f"错误 [raw_corrupt] 原始档案文件 {plain} 已损坏" in _doctor(home).output
