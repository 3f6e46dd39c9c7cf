"""Issue 13: every message a clerk reads is Chinese, names the clerk's own column, and has a stable code beside it.

One nightly run over the whole fixture corpus (tests/fixtures: forms, headers, parse) and a few forms and a
registry full of mistakes, sent by Jiangxi (so Hunan's files are rejected row by row too). Then every
``meta.rejections.reason`` and every ``meta.submissions.message`` is read as a clerk would read it.
"""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from fupin.demo.registry import county_registry
from fupin.flows.nightly import nightly
from fupin.warehouse.contracts import contracts
from tests.helpers import FIXTURES

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness")]

CORPUS = sorted(p for folder in ("forms", "headers", "parse") for p in (FIXTURES / folder).iterdir() if p.is_file())
CJK = re.compile(r"[\u4e00-\u9fff]")
QUOTED = re.compile(r"“[^”]*”|「[^」]*」")  # the clerk's own headers “…” and values 「…」, quoted as sent
CODE = re.compile(r"^[a-z][a-z0-9_]*$")

FUNDS_HEADER = ["年度", "行政区划代码", "县市区", "资金类别", "资金级别", "金额（元）"]
FUNDS = [  # each row one mistake a clerk makes, but row 7
    ["2017", "360827", "遂川县", "民政事业费", "乡级", "1000"],  # 2 unknown_fund_level
    ["2017", "360321", "莲花县", "民政事业费", "中央", "-500.00"],  # 3 negative_amount
    ["2017", "360881", "井冈山市", "民政事业费", "中央", "3%"],  # 4 money_is_percent
    ["2017", "360827", "遂川县", "彩票公益金", "中央", "三十万"],  # 5 not_a_number
    ["2017", "360827", "遂川县", "福利资金", "中央", "100"],  # 6 unknown_fund_type
    ["2017", "360827", "遂川县", "民政事业费", "中央", "200"],  # 7 good
    ["2017", "360827", "遂川县", "民政事业费", "中央", "300"],  # 8 duplicate_row
    ["1990", "360321", "莲花县", "民政事业费", "中央", "100"],  # 9 year_not_reportable
    ["2017", "", "", "民政事业费", "中央", "100"],  # 10 county_empty
    ["2017", "360827", "遂川县", "彩票公益金", "省级", "1,23"],  # 11 number_bad_grouping
    ["2017", "36082", "遂川县", "彩票公益金", "中央", "100"],  # 12 county_code_malformed
    ["2017", "360321", "遂川县", "彩票公益金", "省级", "100"],  # 13 county_name_code_mismatch
]
TRAINING = (
    "培训项目,县名,年度,期数,培训人数,其中：建档立卡贫困人员\n"
    "养老护理员培训,遂川县,2017,1.5,100,10\n"  # not_whole_number
    "电商培训,莲花县,2017,2,50%,10\n"  # count_is_percent
    "家政培训,遂川县,2017,1,10,20\n"  # exceeds_limit
)
POVERTY = "县名,年度,农业户籍人口,未脱贫人口\n遂川县,2016,0,0\n莲花县,2016,,100\n"  # zero_not_allowed, value_missing
# codes the corpus must produce: if a fixture stops showing one, this test says so
EXPECTED_CODES = {
    "unknown_fund_level",
    "negative_amount",
    "negative_count",
    "money_is_percent",
    "not_a_number",
    "unknown_fund_type",
    "duplicate_row",
    "year_not_reportable",
    "county_empty",
    "number_bad_grouping",
    "county_code_malformed",
    "county_name_code_mismatch",
    "county_other_province",
    "county_unknown",
    "not_whole_number",
    "count_is_percent",
    "exceeds_limit",
    "out_of_range",
    "zero_not_allowed",
    "value_missing",
    "year_missing",
    "id_check_digit",
    "members_out_of_range",
    "unknown_status",
    "duplicate_household",
}
EXPECTED_MESSAGE_CODES = {
    "empty_file",
    "not_a_workbook",
    "workbook_corrupt",
    "workbook_encrypted",
    "binary_in_csv",
    "json_invalid",
    "json_nested_value",
    "no_header_row",
    "dataset_unrecognised",
    "missing_required_column",
    "rows_rejected",
    "duplicate",
    "superseded",
}


def _registry(folder: Path) -> Path:
    """A small Jiangxi registry with a bad ID, a bad household size, an unknown status and a repeated household."""
    path = folder / "遂川县建档立卡贫困户2017.csv"
    county_registry(path, "360827", "遂川县", lifted=40, poor=30, year=2017)
    with open(path, encoding="utf-8", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    ids, members, status, household = (header.index(c) for c in ("户主身份证号码", "家庭人口数", "脱贫状态", "户编号"))
    rows[0][ids] = rows[0][ids][:-1] + ("0" if rows[0][ids][-1] != "0" else "1")
    rows[1][members] = "25"
    rows[2][status] = "不知道"
    rows[3][household] = rows[4][household]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, *rows])
    return path


@pytest.fixture(scope="module")
def corpus_run(prefect_harness, tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("messages")
    inbox = home / "inbox" / "jiangxi"
    inbox.mkdir(parents=True)
    for source in CORPUS:  # the folder in the name: forms/ and parse/ both hold a projects_object.json
        shutil.copy(source, inbox / f"{source.parent.name}_{source.name}")
    with open(inbox / "江西资金下达2017更正.csv", "w", encoding="gbk", newline="") as fh:
        csv.writer(fh).writerows([FUNDS_HEADER, *FUNDS])
    (inbox / "江西培训2017.csv").write_text(TRAINING, encoding="utf-8")
    (inbox / "江西贫困人口2016.csv").write_text(POVERTY, encoding="utf-8")
    registry = _registry(inbox)
    summary = nightly(inbox=str(home / "inbox"), home=str(home))
    assert summary["failed_provinces"] == {}
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        submissions = con.execute(
            "select submission_id, file_name, status, message, message_code from meta.submissions"
        ).fetchall()
        rejections = con.execute(
            "select submission_id, row_number, field, value, reason, reason_code from meta.rejections"
        ).fetchall()
        mappings = con.execute(
            "select submission_id, column_name, submitted_header from meta.header_mappings"
        ).fetchall()
    headers: dict[str, dict[str, str]] = {}
    for sid, column, header in mappings:
        if column:
            headers.setdefault(sid, {}).setdefault(re.sub(r"^amount_yuan\[(.*)\]$", r"\1", column), header)
    with open(registry, encoding="utf-8") as fh:
        registry_header = next(csv.reader(fh))
    return {
        "submissions": submissions,
        "rejections": rejections,
        "headers": headers,
        "files": {sid: name for sid, name, *_ in submissions},
        "registry": next(sid for sid, name, *_ in submissions if name == registry.name),
        "registry_header": registry_header,
    }


def _canonical_names() -> set[str]:
    names = set()
    for contract in contracts().values():
        for column in [*contract.inputs, *contract.columns]:
            names |= {column.name, column.field}
    return {n for n in names if n}


def _english_names_in(text: str, file_names) -> list[str]:
    """Canonical column names in a message once the file names and the quoted headers and values are taken out."""
    for name in file_names:
        text = text.replace(name, "")
    text = QUOTED.sub("", text)
    return [n for n in _canonical_names() if re.search(rf"(?<![A-Za-z0-9_]){re.escape(n)}(?![A-Za-z0-9_])", text)]


def _labels(dataset_field: str) -> set[str]:
    """The contracts' Chinese labels of a field (used when the column is absent from the file)."""
    out = set()
    for contract in contracts().values():
        for column in [*contract.inputs, *contract.columns]:
            if dataset_field in (column.name, column.field):
                out |= {label for label in (column.label, column.zh) if label}
    return out


def test_every_rejection_reason_is_chinese_with_a_code_and_no_english_column_name(corpus_run):
    files = corpus_run["files"].values()
    assert len(corpus_run["rejections"]) > 100
    for *_, reason, code in corpus_run["rejections"]:
        assert CJK.search(reason), reason
        assert not _english_names_in(reason, files), (reason, _english_names_in(reason, files))
        assert code and CODE.match(code), (reason, code)


def test_every_message_is_chinese_with_a_code_and_no_english_column_name(corpus_run):
    files = corpus_run["files"].values()
    messages = [(m, c) for _, _, _, m, c in corpus_run["submissions"] if m]
    assert len(messages) > 30
    for message, code in messages:
        assert CJK.search(message), message
        assert not _english_names_in(message, files), (message, _english_names_in(message, files))
        assert code and CODE.match(code) and f"[{code}]" in message, (message, code)


def test_each_row_rejection_begins_with_the_submitters_own_header(corpus_run):
    """The reason starts with the column as the clerk headed it in the file (“金额（元）”…); a column the file
    does not have (a year stated nowhere) is named by its Chinese label."""
    checked = 0
    for sid, row, field, _, reason, _ in corpus_run["rejections"]:
        if row is None:
            continue
        leading = re.match(r"^“([^”]+)”", reason)
        assert leading, reason
        if sid == corpus_run["registry"]:
            assert leading[1] in corpus_run["registry_header"], reason
            continue
        mapped = corpus_run["headers"].get(sid, {})
        contract_field = next(
            (c.field for d in contracts().values() for c in d.columns if field == c.name and c.field),
            field,
        )
        expected = mapped.get(field) or mapped.get(contract_field)
        if expected is None and field == "county_code":
            expected = mapped.get("county")  # a form with names only: its duplicates are named by the county column
        if expected is None:
            assert leading[1] in _labels(field), (reason, field, mapped)
        else:
            assert leading[1] == expected, (reason, field, mapped)
            checked += 1
    assert checked > 100


def test_the_corpus_shows_each_rule_with_its_code(corpus_run):
    codes = {code for *_, code in corpus_run["rejections"]}
    assert EXPECTED_CODES <= codes, EXPECTED_CODES - codes
    message_codes = {code for *_, code in corpus_run["submissions"]}
    assert EXPECTED_MESSAGE_CODES <= message_codes, EXPECTED_MESSAGE_CODES - message_codes


def test_a_row_rejection_reads_as_the_issue_asks(corpus_run):
    """Row 3 of the fund form: the clerk's header, the rule in plain words, what to send instead."""
    files = {name: sid for sid, name in corpus_run["files"].items()}
    sid = files["江西资金下达2017更正.csv"]
    by_row = {(row, code): reason for s, row, _, _, reason, code in corpus_run["rejections"] if s == sid}
    assert by_row[(3, "negative_amount")] == "“金额（元）”不能为负数（折合 -500.00 元）：请填写实际数值，没有的填 0"
    assert by_row[(2, "unknown_fund_level")] == (
        "“资金级别”填写的「乡级」不是可接受的资金级次：请填写 中央、省级、市级 或 县级"
    )
    assert by_row[(8, "duplicate_row")].startswith(
        "“行政区划代码”这一行与第 7 行重复（县代码、年度、资金类型、资金级别相同"
    )


# --- message_code in the ledger: older warehouses and ledger copies without it -------------------------------


def _send(home: Path, *files: Path) -> dict:
    inbox = home / f"inbox-{len(list(home.glob('inbox-*')))}" / "jiangxi"
    inbox.mkdir(parents=True)
    for source in files:
        shutil.copy(source, inbox / source.name)
    return nightly(inbox=str(inbox.parent), home=str(home))


@pytest.fixture()
def demo_home(tmp_path, demo_run) -> Path:
    """A copy of the demo's home that also received a file with bad rows and an empty file."""
    target = tmp_path / "home"
    shutil.copytree(demo_run["home"], target, ignore=shutil.ignore_patterns("inbox", "runs"))
    _send(target, FIXTURES / "forms" / "poverty_bad_rows.csv", FIXTURES / "parse" / "empty.csv")
    return target


def _codes(warehouse: Path) -> dict[str, tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("select submission_id, message, message_code from meta.submissions").fetchall()
    return {r[0]: r[1:] for r in rows}


def test_a_ledger_copy_without_message_codes_is_recovered_with_them(demo_home):
    """A warehouse lost, its ledger copy written before message_code: the recovered ledger has the codes."""
    from fupin.flows.rebuild import rebuild_warehouse

    before = _codes(demo_home / "warehouse.duckdb")
    assert {"rows_rejected", "empty_file"} <= {code for _, code in before.values()}
    copy = demo_home / "ledger" / "meta.submissions.parquet"
    older = copy.with_name("older.parquet")
    duckdb.sql(f"copy (select * exclude (message_code) from '{copy}') to '{older}' (format parquet)")
    older.replace(copy)
    (demo_home / "warehouse.duckdb").unlink()
    state = rebuild_warehouse(home=str(demo_home), return_state=True)
    assert state.is_completed(), state.message
    assert _codes(demo_home / "warehouse.duckdb") == before
    columns = duckdb.sql(f"select * from '{copy}'").columns  # the copy is written again, with the column
    assert "message_code" in columns


def test_an_older_warehouse_gains_message_codes_from_its_messages(demo_home):
    before = _codes(demo_home / "warehouse.duckdb")
    assert {"rows_rejected", "empty_file"} <= {code for _, code in before.values()}
    with duckdb.connect(str(demo_home / "warehouse.duckdb")) as con:
        con.execute("alter table meta.submissions drop column message_code")
        con.execute("drop table meta.schema_version")  # as fupin wrote it before schema versions
    _send(demo_home, FIXTURES / "parse" / "binary.csv")  # the next load brings the ledger up to date
    after = _codes(demo_home / "warehouse.duckdb")
    assert {sid: after[sid] for sid in before} == before
    assert [code for sid, (_, code) in after.items() if sid not in before] == ["binary_in_csv"]
