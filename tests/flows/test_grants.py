"""Direct aid to households (“十百千”), the Ministry's social-service projects and its trainings (F3, F12, F13).

A grant list names each household by its head's ID number (and name) or the registry's household number:
the number becomes the registry's own pseudonym, the name is dropped, and a grant whose household the
county's registry does not list is shown by pseudonym in ``marts.household_grant_unmatched``.
"""

from __future__ import annotations

import csv
import hashlib
import os
import uuid
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from python_calamine import CalamineWorkbook

from fupin.core.reference import resolve_county_pair, resolve_province
from fupin.demo import figures
from fupin.flows.nightly import nightly
from fupin.tasks.identity.hashing import MissingKeyError
from fupin.tasks.identity.numbers import CHECK_CHARS, WEIGHTS
from fupin.tasks.normalise import normalise_table
from fupin.tasks.parse import read_tables
from fupin.tasks.registry import ingest_registry, registry_columns
from fupin.tasks.registry.reading import is_registry_file
from fupin.tasks.validate import validate_table
from tests.helpers import indicator, open_warehouse, rfc_pseudonym

GRANT_HEADER = [
    "年度",
    "帮扶项目",
    "县（市、区）",
    "乡镇",
    "行政村",
    "户主姓名",
    "户主身份证号码",
    "补助金额（元）",
    "资金来源",
]


def valid_id(body: str) -> str:
    """An 18-character resident ID number with its check character (body: division code, birth date, sequence)."""
    total = sum(int(d) * w for d, w in zip(body, WEIGHTS.tolist(), strict=True))
    return body + chr(CHECK_CHARS[total % 11])


def pseudonym(id_number: str) -> uuid.UUID:
    """The registry's household_key of an ID number: HMAC-SHA256 under the key the tests run with, its first 16
    bytes as a version 8 UUID (64 hex characters before issue 28)."""
    return rfc_pseudonym(os.environ["FUPIN_PII_KEY"].encode(), id_number.upper())


def _csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, *rows])
    return path


def _normalised(path: Path, province: str = "36"):
    table = read_tables(path, file_name=path.name)[0]
    return normalise_table(table, province)


ZHANG = valid_id("36082719700101123")  # an invented person of 遂川县
WANG = valid_id("36242719650304002")  # 遂川's code before 2000: still a valid number


def test_a_grant_list_gets_the_registrys_pseudonym_and_loses_the_names(tmp_path):
    grants = _csv(
        tmp_path / "2017年十百千花名册.csv",
        GRANT_HEADER,
        [
            ["2017", "十百千", "遂川县", "遂川1镇", "3村", "张三丰", ZHANG, "1000", "党费结余"],
            ["2017", "十百千", "遂川县", "遂川1镇", "3村", "王二小", WANG.lower(), "1000", "干部职工捐款"],
        ],
    )
    out = _normalised(grants)
    assert out.dataset == "household_grant" and not out.rejections
    records = out.rows
    assert [r["household_key"] for r in records] == [pseudonym(ZHANG), pseudonym(WANG)]
    assert "张三丰" not in repr(records) and ZHANG not in repr(records)
    assert {m["submitted_header"] for m in out.header_mapping if m["column_name"]} >= {"户主身份证号码"}
    assert "户主姓名" not in {m["submitted_header"] for m in out.header_mapping}  # read and dropped, never a column

    # the registry of the same county gives the same household the same key
    registry = _csv(
        tmp_path / "遂川县建档立卡贫困户2017.csv",
        ["户编号", "户主姓名", "户主身份证号码", "县（市、区）", "家庭人口数", "脱贫状态", "识别年度"],
        [
            ["H1", "张三丰", ZHANG, "遂川县", "4", "未脱贫", "2015"],
            ["H2", "王二小", WANG, "遂川县", "2", "已脱贫", "2014"],
        ],
    )
    key = os.environ["FUPIN_PII_KEY"].encode()
    result = ingest_registry(registry, "36", 2017, key, tmp_path / "registry", "36-test")
    keys = pq.read_table(result.good_path).column("household_key").to_pylist()
    assert keys == [r["household_key"] for r in records]


def test_a_bad_id_number_is_rejected_without_being_echoed(tmp_path):
    broken = ZHANG[:-1] + ("0" if ZHANG[-1] != "0" else "1")
    grants = _csv(
        tmp_path / "2017年十百千花名册.csv",
        GRANT_HEADER,
        [["2017", "十百千", "遂川县", "遂川1镇", "3村", "张三丰", broken, "1000", "党费结余"]],
    )
    out = _normalised(grants)
    [rejection] = out.rejections
    assert rejection.code == "id_number_check_failed"
    assert rejection.value == broken[:6] + "*" * 12 and broken not in rejection.reason
    assert out.rows == []


def test_a_household_named_neither_by_id_nor_by_number_is_rejected(tmp_path):
    grants = _csv(
        tmp_path / "2018年十百千花名册.csv",
        ["年度", "帮扶项目", "县（市、区）", "户编号", "户主身份证号码", "补助金额（元）"],
        [["2018", "十百千", "莲花县", "", "", "1000"], ["2018", "十百千", "莲花县", "3603210000042", "", "1000"]],
    )
    out = _normalised(grants)
    good, rejections, _ = validate_table(out.dataset, out.table)
    assert [(r.row_number, r.field) for r in rejections] == [(2, "head_id")]
    assert rejections[0].code == "household_unidentified" and "户编号" in rejections[0].reason
    assert good.column("household_id").to_pylist() == ["3603210000042"]


def test_without_a_key_a_grant_list_waits(tmp_path, monkeypatch):
    monkeypatch.delenv("FUPIN_PII_KEY")
    monkeypatch.setenv("FUPIN_PII_KEY_BLOCK", "")
    grants = _csv(
        tmp_path / "2017年十百千花名册.csv",
        GRANT_HEADER,
        [["2017", "十百千", "遂川县", "遂川1镇", "3村", "张三丰", ZHANG, "1000", "党费结余"]],
    )
    with pytest.raises(MissingKeyError):
        _normalised(grants)


def test_a_grant_list_with_household_numbers_and_ids_is_not_a_registry(tmp_path):
    header = ["户编号", "户主姓名", "户主身份证号码", "县（市、区）", "补助金额（元）", "帮扶项目", "年度"]
    assert registry_columns(header) is None
    path = _csv(
        tmp_path / "2018年十百千花名册.csv", header, [["H1", "张三丰", ZHANG, "遂川县", "1000", "十百千", "2018"]]
    )
    assert not is_registry_file(path)
    assert _normalised(path).dataset == "household_grant"


def test_old_training_forms_still_load_and_new_ones_carry_organisations(tmp_path):
    old = _csv(
        tmp_path / "old.csv",
        ["年度", "培训项目", "县（市、区）", "期数", "培训人数"],
        [["2016", "养老护理", "遂川县", "1", "120"]],
    )
    [record] = _normalised(old).rows
    assert (record["trainee_kind"], record["organisations"], record["projects_paired"]) == (None, None, None)
    new = _csv(
        tmp_path / "new.csv",
        [
            "年度",
            "培训项目",
            "县（市、区）",
            "行政区划代码",
            "培训对象",
            "期数",
            "培训人数",
            "参训社会组织数",
            "对接项目数",
        ],
        [["2018", "社会组织培训班", "西昌市", "513401", "社会组织", "1", "112", "79", "86"]],
    )
    out = _normalised(new, resolve_province("民政部"))
    assert out.dataset == "training"
    [record] = out.rows
    assert (record["county_code"], record["trainee_kind"], record["organisations"], record["projects_paired"]) == (
        "513401",
        "社会组织",
        79,
        86,
    )


def test_the_ministrys_source_names_counties_of_every_province():
    ministry = resolve_province("mca")
    assert ministry == resolve_province("民政部") == "00"
    assert resolve_county_pair(None, "和田市", ministry).county_code == "653201"
    assert resolve_county_pair(None, "和田市", "36").county_code is None  # a province's own source stays in it


def test_f3_f12_f13_are_in_the_indicators_and_the_headline(warehouse):
    for year in figures.GRANT_YEARS:  # F3: each year 100万元, 10 townships, 100 villages, 1000 households, 1000元
        assert indicator(warehouse, "grant_funds", "designated_mca", str(year)) == 1_000_000
        assert indicator(warehouse, "grant_townships", "designated_mca", str(year)) == 10
        assert indicator(warehouse, "grant_villages", "designated_mca", str(year)) == 100
        assert indicator(warehouse, "grant_households", "designated_mca", str(year)) == 1000
        assert indicator(warehouse, "grant_amount_per_household", "designated_mca", str(year)) == 1000
    # F12: 298 projects, 1.04亿元 in the 三区三州 over 2017–2018
    assert indicator(warehouse, "social_service_projects", "sanqu_sanzhou", "2017-2018") == 298
    assert indicator(warehouse, "social_service_funds", "sanqu_sanzhou", "2017-2018") == pytest.approx(1.04e8, abs=0.5)
    # F13: two sessions, more than 150 organisations, each paired with local projects
    assert indicator(warehouse, "training_sessions", "sanqu_sanzhou", "2018") == 2
    organisations = indicator(warehouse, "training_organisations", "sanqu_sanzhou", "2018")
    assert organisations > 150
    assert indicator(warehouse, "training_projects_paired", "sanqu_sanzhou", "2018") >= organisations
    headline = {
        (r[0], r[1], r[2])
        for r in warehouse.execute("select indicator, scope_code, period from marts.headline").fetchall()
    }
    assert {
        ("grant_funds", "designated_mca", "2017"),
        ("grant_households", "designated_mca", "2018"),
        ("social_service_projects", "sanqu_sanzhou", "2017-2018"),
        ("social_service_funds", "sanqu_sanzhou", "2017-2018"),
        ("training_organisations", "sanqu_sanzhou", "2018"),
    } <= headline
    names = dict(warehouse.execute("select indicator, indicator_name from marts.indicators").fetchall())
    assert names["grant_households"] == "到户帮扶贫困户" and names["social_service_projects"].startswith("中央财政")


def test_the_demo_grants_join_their_households_in_the_registry(warehouse):
    assert warehouse.execute("select count(*) from marts.household_grant_unmatched").fetchone()[0] == 0
    first = next(g for g in figures.grants() if g.year == 2018)
    found = warehouse.execute(
        "select g.household_id, h.household_id, h.village from core.fct_household_grant as g "
        "join core.fct_household as h using (county_code, household_key) where g.household_key = ? and g.year = 2018",
        [pseudonym(first.head_id)],
    ).fetchall()
    assert found == [(first.household_id, first.household_id, first.village)]


def test_grants_to_households_outside_the_registry_are_listed_by_pseudonym(demo_home_copy):
    stranger = valid_id("36082719800202456")  # in no registry
    elsewhere = valid_id("36088119751111222")  # 井冈山市: the demo has no registry there
    folder = demo_home_copy / "inbox-grants" / "jiangxi"
    folder.mkdir(parents=True)
    _csv(
        folder / "2017年十百千补报.csv",
        GRANT_HEADER,
        [
            ["2017", figures.GRANT_PROGRAMME, "遂川县", "遂川2镇", "5村", "李四光", stranger, "1000", "党费结余"],
            ["2017", figures.GRANT_PROGRAMME, "井冈山市", "茅坪乡", "神山村", "赵五", elsewhere, "1000", "党费结余"],
        ],
    )
    summary = nightly(inbox=str(folder.parent), home=str(demo_home_copy))
    assert summary["exit_code"] == 0, summary
    con = open_warehouse(demo_home_copy)
    rows = con.execute(
        "select county_code, household_key, reason_code, registry_year from marts.household_grant_unmatched "
        "order by county_code"
    ).fetchall()
    listed = repr(con.execute("select * from marts.household_grant_unmatched").fetchall())
    con.close()
    assert rows == [
        ("360827", pseudonym(stranger), "not_in_registry", 2017),
        ("360881", pseudonym(elsewhere), "no_registry", None),
    ]
    assert "李四光" not in listed and stranger not in listed and elsewhere not in listed


@pytest.mark.slow
def test_the_demo_lists_are_what_the_seed_says(tmp_path):
    from fupin.demo import write_demo

    write_demo(tmp_path)
    for year in figures.GRANT_YEARS:
        path = tmp_path / "jiangxi" / f"{year}年“十百千”帮扶行动资金发放花名册.xlsx"
        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
        header = [str(c) for c in rows[2]]
        data = [r for r in rows[3:] if str(r[0]).strip() not in ("", "负责人：")]
        assert "户主姓名" in header and "户主身份证号码" in header
        assert len(data) == 1000
        assert sum(float(r[header.index("补助金额（元）")]) for r in data) == 1_000_000


def test_grant_corrections_replace_by_household_and_a_half_full_resubmission_is_held(demo_home_copy):
    """The warehouse's guarantees reach grants through the contract: the household is the key, the total guarded."""
    of_2017 = [g for g in figures.grants() if g.year == 2017]

    def send(name: str, grants: list[figures.Grant], amount: str = "1000") -> dict:
        folder = demo_home_copy / f"inbox-{hashlib.sha1(name.encode()).hexdigest()[:8]}" / "jiangxi"
        folder.mkdir(parents=True)
        rows = [
            [
                str(g.year),
                figures.GRANT_PROGRAMME,
                figures.county(g.county_code).name,
                g.township,
                g.village,
                g.head_name,
                g.head_id,
                amount,
                g.funding_source,
            ]
            for g in grants
        ]
        _csv(folder / name, GRANT_HEADER, rows)
        return nightly(inbox=str(folder.parent), home=str(demo_home_copy))

    assert send("2017年十百千更正.csv", of_2017[:1], amount="1200")["exit_code"] == 0
    con = open_warehouse(demo_home_copy)
    assert indicator(con, "grant_funds", "designated_mca", "2017") == 1_000_200
    assert indicator(con, "grant_households", "designated_mca", "2017") == 1000
    con.close()

    summary = send("2017年十百千花名册全量重报.csv", of_2017[:500])
    assert summary["exit_code"] == 3
    con = open_warehouse(demo_home_copy)
    status, message = con.execute(
        "select status, message from meta.submissions where file_name = '2017年十百千花名册全量重报.csv'"
    ).fetchone()
    assert status == "held" and "held_shrink_guard" in message and "金额合计" in message
    assert indicator(con, "grant_households", "designated_mca", "2017") == 1000  # nothing of it applied
    con.close()


def test_a_forms_cells_in_staging_are_the_owners_alone(tmp_path):
    """A grant list's parsed cells (names, ID numbers) wait in staging only until normalised, unreadable to others."""
    import pyarrow as pa

    from fupin.tasks.staging import write_arrow

    written = Path(
        write_arrow(tmp_path / "parsed-0.arrow", pa.table({"户主姓名": ["张三丰"], "户主身份证号码": [ZHANG]}))
    )
    assert written.stat().st_mode & 0o077 == 0


def test_a_grant_withdrawn_is_keyed_by_its_pseudonym(tmp_path):
    grants = _csv(
        tmp_path / "2017年十百千更正.csv",
        [*GRANT_HEADER, "状态"],
        [["2017", "十百千", "遂川县", "遂川1镇", "3村", "张三丰", ZHANG, "1000", "党费结余", "撤销"]],
    )
    [record] = _normalised(grants).rows
    assert (record["row_action"], record["household_key"], record["household_id"]) == (
        "withdraw",
        pseudonym(ZHANG),
        None,
    )
    assert ZHANG not in repr(record)
