"""Household registries: vectorised ID checks, keyed pseudonyms, streamed ingest, no PII in the output."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fupin.core.safe_text import mask_ids
from fupin.demo.registry import county_registry
from fupin.tasks.identity.hashing import MissingKeyError, pii_key
from fupin.tasks.identity.numbers import check_ids
from fupin.tasks.registry import checking, dup_rejections_path, finish_registry, ingest_registry
from tests.helpers import ID_SHAPE, rfc_pseudonym

KEY = b"test-key-0123456789abcdef"
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def _with_check(body: str) -> str:
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        pytest.param(_with_check("36082719700101123"), 0, id="valid"),
        pytest.param(_with_check("36242719700101123"), 0, id="old-suichuan-code-1970-valid"),
        pytest.param(_with_check("36070419700101123"), 0, id="code-newer-than-birth-year-valid"),
        pytest.param("360827197001011230", 2, id="wrong-check-character"),
        pytest.param(_with_check("36082719700231123"), 3, id="february-31"),
        pytest.param(_with_check("99999919700101123"), 4, id="no-such-division"),
        pytest.param("36082719700101123", 1, id="17-characters"),
        pytest.param("3608271970010112XX", 1, id="letters"),
    ],
)
def test_check_ids(number, reason):
    assert check_ids(pa.array([number]), np.array([2017]))[0] == reason


@given(st.integers(1940, 2005), st.integers(1, 12), st.integers(1, 28), st.integers(0, 999))
def test_every_well_formed_id_passes(year, month, day, seq):
    number = _with_check(f"360827{year:04d}{month:02d}{day:02d}{seq:03d}")
    assert check_ids(pa.array([number]), np.array([2017]))[0] == 0
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
    assert check_ids(pa.array([wrong]), np.array([2017]))[0] == 2


def test_no_key_refuses_with_a_clear_message(monkeypatch):
    monkeypatch.delenv("FUPIN_PII_KEY", raising=False)
    with pytest.raises(MissingKeyError, match=r"\[pii_key_missing\].*FUPIN_PII_KEY.*fupin-pii-key"):
        pii_key()


@pytest.fixture(scope="module")
def suichuan(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("registry")
    path = folder / "遂川县建档立卡贫困户2017.csv"
    county_registry(
        path, "360827", "遂川县", lifted=68386, poor=17002, year=2017, old_code="362427", encoding="gb18030"
    )
    return path


def test_demo_registry_of_suichuan_adds_up_to_f4(tmp_path, suichuan):
    result = ingest_registry(suichuan, "36", 2017, KEY, tmp_path / "staging", "36-test")
    finish_registry(result, tmp_path / "lake.parquet")
    assert result.rows_rejected == 0
    persons = dict(duckdb.sql(f"select status, sum(members) from '{tmp_path}/lake.parquet' group by 1").fetchall())
    assert persons == {"已脱贫": 68386, "未脱贫": 17002}


def test_bad_rows_are_rejected_alone_and_no_id_number_reaches_the_output(tmp_path, suichuan):
    with open(suichuan, encoding="gb18030", newline="") as fh:
        rows = list(csv.reader(fh))
    header, data = rows[0], rows[1:]
    id_col, members_col, status_col, hh_col = (
        header.index(c) for c in ("户主身份证号码", "家庭人口数", "脱贫状态", "户编号")
    )
    data[0][id_col] = data[0][id_col][:-1] + ("0" if data[0][id_col][-1] != "0" else "1")  # line 2
    data[1][members_col] = "25"  # line 3
    data[2][status_col] = "不知道"  # line 4
    data[3][hh_col] = data[4][hh_col]  # line 5 repeats line 6's household id
    bad = tmp_path / "bad.csv"
    with open(bad, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, *data])
    result = ingest_registry(bad, "36", 2017, KEY, tmp_path / "staging", "36-bad")
    finish_registry(result, tmp_path / "lake.parquet")
    rejected = duckdb.sql(
        f"select row_number, field, value, reason, reason_code from read_parquet(['{result.rejections_path}', "
        f"'{dup_rejections_path(result)}']) order by row_number"
    ).fetchall()
    assert [(r[0], r[1]) for r in rejected] == [(2, "head_id"), (3, "members"), (4, "status"), (6, "household_id")]
    assert rejected[0][2] is None and rejected[0][4] == "id_check_digit"
    assert rejected[0][3] == "“户主身份证号码”的校验位与前 17 位不符：请核对身份证号"  # the file's own header
    assert result.rows_loaded == len(data) - 4
    id_like = re.compile(ID_SHAPE)
    names = {r[header.index("户主姓名")] for r in data}
    for parquet in tmp_path.rglob("*.parquet"):
        text = repr(duckdb.sql(f"select * from read_parquet('{parquet}')").fetchall())
        assert not id_like.search(text), parquet
        windows = {run[i : i + 3] for run in re.findall(r"[\u4e00-\u9fff]{3,}", text) for i in range(len(run) - 2)}
        assert not windows & names, parquet  # the demo's names are 3 characters


def test_repeats_across_blocks_are_found_and_rows_keep_file_order(tmp_path, monkeypatch):
    """Small blocks on several worker threads: a repeat 2,000 lines apart, file order, keys of the right IDs."""
    from fupin.demo.registry import synthetic_registry
    from fupin.tasks.registry import ingest

    monkeypatch.setattr(ingest, "BLOCK_SIZE", 16 << 10)  # ~160 rows a block
    path = synthetic_registry(tmp_path / "registry2017.csv", 3000, province_code="36")
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    header, data = rows[0], rows[1:]
    hh, id_col = header.index("户编号"), header.index("户主身份证号码")
    data[2500][hh] = data[9][hh]  # line 2502 repeats line 11's household id
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, *data])

    result = ingest_registry(path, "36", 2017, KEY, tmp_path / "staging", "36-many-blocks")
    finish_registry(result, tmp_path / "lake.parquet")

    repeats = duckdb.sql(
        f"select row_number, value, reason, reason_code from '{dup_rejections_path(result)}'"
    ).fetchall()
    assert repeats == [
        (2502, data[9][hh], "“户编号”与第 11 行重复：一户只能填一行，请删去或合并重复的行", "duplicate_household")
    ]
    lake = duckdb.sql(f"select source_row, household_key, submission_id from '{tmp_path}/lake.parquet'").fetchall()
    assert len(lake) == result.rows_loaded == 3000 - result.rows_rejected
    assert [r[0] for r in lake] == sorted(r[0] for r in lake)  # written in file order
    assert {r[2] for r in lake} == {"36-many-blocks"}
    by_row = {r[0]: r[1] for r in lake}
    for line in (2, 1500, 3001):
        number = data[line - 2][id_col]
        assert by_row[line] == rfc_pseudonym(KEY, number)  # a UUID now, 64 hex characters before (issue 28)


@pytest.mark.parametrize(
    ("line", "damage"),
    [
        pytest.param(2000, lambda text: text + ",extra,fields", id="too_many_fields"),
        pytest.param(3, lambda text: text + ",extra,fields", id="in_the_first_block"),
        pytest.param(1500, lambda text: text.rsplit(",", 3)[0], id="too_few_fields"),
        pytest.param(2500, lambda text: text[:-1], id="a_quote_left_open"),  # ,"2018" → ,"2018
        pytest.param(2500, None, id="only_a_blank_line"),  # Arrow's fast path throughout
    ],
)
def test_a_bad_line_is_rejected_with_its_own_number_and_the_rest_loads(tmp_path, monkeypatch, line, damage):
    """Issue 18, finding 12 (registry with one bad line): the line is rejected with the number the clerk sees in
    their file, never its text (a name, an ID number); a blank line shifts no number; every other row loads."""
    from fupin.demo.registry import synthetic_registry
    from fupin.tasks.registry import ingest

    monkeypatch.setattr(ingest, "BLOCK_SIZE", 16 << 10)  # several blocks: the bad line is not in the first one
    path = synthetic_registry(tmp_path / "registry2017.csv", 3000, province_code="36")
    lines = path.read_text(encoding="utf-8").splitlines()
    name = lines[line - 1].split(",")[1].strip('"')
    if damage:
        lines[line - 1] = damage(lines[line - 1])
    lines.insert(2800, "")  # a blank line at line 2801: the lines below it keep their numbers
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = ingest_registry(path, "36", 2017, KEY, tmp_path / "staging", "36-broken")
    rejected = duckdb.sql(f"select row_number, field, value, reason from '{result.rejections_path}'").fetchall()
    if damage is None:
        assert rejected == [] and (result.rows_total, result.rows_loaded) == (3000, 3000)
    else:
        assert [(r[0], r[1], r[2]) for r in rejected] == [(line, None, None)]
        assert "[malformed_line]" in rejected[0][3] and name not in rejected[0][3]
        assert not re.search(ID_SHAPE, rejected[0][3])
        assert (result.rows_total, result.rows_loaded, result.rows_rejected) == (3000, 2999, 1)
    loaded = duckdb.sql(f"select source_row, household_id from '{result.good_path}' order by 1").fetchall()
    by_line = {n: text.split(",")[0].strip('"') for n, text in enumerate(lines, start=1)}
    assert all(by_line[row] == household for row, household in loaded)  # each row's number is its line
    assert 2801 not in {row for row, _ in loaded} and max(row for row, _ in loaded) == 3002


def test_a_workbook_is_a_registry_when_any_sheet_has_the_registry_header(tmp_path):
    import xlsxwriter

    from fupin.tasks.registry import is_registry_file

    registry, form = tmp_path / "莲花县建档立卡贫困户2017.xlsx", tmp_path / "资金表.xlsx"
    with xlsxwriter.Workbook(str(registry)) as book:
        book.add_worksheet("填表说明").write(0, 0, "本表由乡镇扶贫办填报")
        book.add_worksheet("户").write_row(0, 0, ["户编号", "户主姓名", "户主身份证号码", "县（市、区）", "家庭人口数"])
    with xlsxwriter.Workbook(str(form)) as book:
        book.add_worksheet("表1").write_row(0, 0, ["县（市、区）", "资金（万元）"])
    assert is_registry_file(registry)
    assert not is_registry_file(form)


KILLED_CONVERSION = """
import sys
from pathlib import Path
from fupin.core.config import Paths
from fupin.tasks.records import Outcome
from fupin.tasks.registry import registry_outcome

raw, home = Path(sys.argv[1]), Path(sys.argv[2])
rec = {"file_name": raw.name, "raw_path": str(raw), "province_code": "36", "submission_id": "36-killed"}
outcome = Outcome("36-killed", "36", raw.name, "-", "2026-11-29T02:00:00+08:00", raw_path=str(raw))
registry_outcome(outcome, rec, Paths(home), home / "staging" / "36-killed")
"""


def test_a_run_killed_while_converting_an_xlsx_registry_leaves_no_id_number_behind(tmp_path):
    """Issue 18, finding 12 (SIGKILL during XLSX-registry conversion): the converted CSV has no name on disk,
    so a real SIGKILL in the middle of writing it (the ``convert`` fault point) leaves no clear ID anywhere."""
    import os
    import subprocess
    import sys

    import xlsxwriter

    from fupin.demo.registry import synthetic_registry

    source = synthetic_registry(tmp_path / "source.csv", 25_000, province_code="36")
    with open(source, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    ids = {row[2] for row in rows[1:]}
    raw = tmp_path / "raw" / "莲花县建档立卡贫困户2017.xlsx"
    raw.parent.mkdir()
    with xlsxwriter.Workbook(str(raw), {"constant_memory": True}) as book:
        sheet = book.add_worksheet("户")
        for r, row in enumerate(rows):
            sheet.write_row(r, 0, row)
    source.unlink()
    home = tmp_path / "home"
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_CONVERSION, str(raw), str(home)],
        env={**os.environ, "FUPIN_KILL_AT": "convert"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert killed.returncode == -9, killed.stderr  # killed in the middle of the conversion, as a run would be
    assert (home / "staging" / "36-killed").is_dir()  # the conversion had begun there
    left = [p for p in tmp_path.rglob("*") if p.is_file() and p != raw]
    with_ids = [p for p in left if set(re.findall(r"[0-9]{17}[0-9X]", p.read_bytes().decode("utf-8", "replace"))) & ids]
    assert with_ids == []


GATE_CASES = [
    "井冈山市茅坪乡神山村",
    "户主 360827 19900101 0018 已迁出",  # an ID number in groups
    "３６０８２７１９９００１０１００１８",  # full-width digits
    "神山\u200b村",  # a zero-width space
    "H000123",
    None,
    "",
    "“户主身份证号码”的校验位与前 17 位不符",
]


@pytest.mark.parametrize("below", [0, checking.PYTHON_GATE_BELOW])
def test_rejected_values_are_gated_alike_in_python_and_on_arrow(monkeypatch, below):
    """A block's few rejected values are gated in Python, many on Arrow: either way IDs are masked and invisible
    characters removed, as ``mask_ids`` does one value."""
    monkeypatch.setattr(checking, "PYTHON_GATE_BELOW", below)
    gated = checking.gated_values(pa.array(GATE_CASES * 3, pa.string())).to_pylist()
    assert gated == [mask_ids(v) for v in GATE_CASES] * 3
    assert gated[1] == "户主 360827************ 已迁出" and gated[3] == "神山村" and gated[5] is None


def _refused_lines(path: Path, lines: range, damage) -> None:
    rows = path.read_text(encoding="utf-8").splitlines()
    for line in lines:
        fields = rows[line - 1].split(",")
        rows[line - 1] = ",".join(damage(fields, line))
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def _other_province(fields: list[str], line: int) -> list[str]:
    fields[3] = '"430426"'  # 祁东县, of Hunan, in Jiangxi's registry
    if line % 3 == 0:
        fields[6] = "0"  # and, on some rows, a second problem: no member
    return fields


@pytest.mark.parametrize("small_blocks", [False, True], ids=["one_block", "many_blocks"])
def test_a_registry_whose_first_rows_are_all_refused_for_one_reason_is_refused_as_a_file(
    tmp_path, monkeypatch, small_blocks
):
    """As a form: the first FUPIN_LIMIT_SAME_REASON_ROWS rows all refused, one reason among each row's reasons (a
    county of another province, some rows a bad member count too): the file stops with that reason and its row."""
    from fupin.demo.registry import synthetic_registry
    from fupin.tasks.registry import ingest
    from fupin.tasks.registry.schema import RowsAllRefused

    if small_blocks:
        monkeypatch.setattr(ingest, "BLOCK_SIZE", 16 << 10)  # ~160 rows a block: the stop falls in a later one
    monkeypatch.setenv("FUPIN_LIMIT_SAME_REASON_ROWS", "400")
    path = synthetic_registry(tmp_path / "registry2017.csv", 1000, province_code="36")
    _refused_lines(path, range(2, 1002), _other_province)
    with pytest.raises(RowsAllRefused) as refused:
        ingest_registry(path, "36", 2017, KEY, tmp_path / "staging", "36-misfiled")
    first = refused.value.first
    assert (refused.value.rows, first.row_number, first.field, first.code) == (400, 2, "county", "unknown_county")
    assert first.reason.startswith("“县（市、区）”：「430426」是湖南省的祁东县")


@pytest.mark.parametrize(
    ("refused", "damage"),
    [
        pytest.param(range(2, 401), _other_province, id="one_row_short_of_the_stop_then_a_good_row"),
        pytest.param(
            range(2, 1002),
            lambda fields, line: _other_province(fields, line) if line % 2 else [*fields[:6], "0", *fields[7:]],
            id="two_reasons_taking_turns",
        ),
    ],
)
def test_refused_rows_that_are_not_all_alike_are_each_rejected(tmp_path, monkeypatch, refused, damage):
    monkeypatch.setenv("FUPIN_LIMIT_SAME_REASON_ROWS", "400")
    from fupin.demo.registry import synthetic_registry

    path = synthetic_registry(tmp_path / "registry2017.csv", 1000, province_code="36")
    _refused_lines(path, refused, damage)
    result = ingest_registry(path, "36", 2017, KEY, tmp_path / "staging", "36-some-bad")
    assert result.rows_rejected >= len(refused) and result.rows_loaded == 1000 - result.rows_rejected
