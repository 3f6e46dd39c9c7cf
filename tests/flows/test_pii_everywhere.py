"""Issue 24: resident ID numbers in every shape a clerk types them, in every place a file has words, leave no trace.

IDs typed in full-width digits, in groups joined by spaces (ASCII, no-break, ideographic), dashes or dots, glued to
a word (``身份证4302…``, ``张三4302…``), split by a zero-width space, in the 15-digit form of before 1999, with a
check character that validates and one that does not — planted in a free-text column of a CSV, a JSON document
(value and key), a header cell, a sheet name, file names and a household registry — go through one nightly run.
Then every table and ledger copy, the lake, receipts (names and contents), the report, caches, run records,
what ``fupin submissions`` prints, the run's log and Prefect's own database are read, their text normalised the
way the gate reads it (width, separators, invisible characters), and none of the planted numbers is found.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fupin.cli import app
from fupin.flows.nightly import nightly
from tests.helpers import REGISTRY_HEADER, home_texts, open_warehouse, prefect_database_texts, unescaped, valid_id

pytestmark = pytest.mark.usefixtures("prefect_harness")


def wide(text: str) -> str:
    """Full-width digits and X, as an input method types them."""
    return text.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789Xx"})


def groups(number: str, sizes: tuple[int, ...], sep: str) -> str:
    out, at = [], 0
    for size in sizes:
        out.append(number[at : at + size])
        at += size
    return sep.join(out)


def invalid(number: str) -> str:
    """The same number with a check character that does not validate."""
    return number[:-1] + ("0" if number[-1] != "0" else "1")


def with_x(prefix: str) -> str:
    """A valid ID number of ``prefix`` ending in X."""
    return next(i for n in range(1000) if (i := valid_id(f"{prefix}{n:03d}")).endswith("X"))


# one number per planted place and shape: (its digits as stored, the text that carries it)
IDS = {
    "full_width": valid_id("43022419700101011"),
    "spaced": valid_id("43022419710202022"),
    "dashed_invalid": invalid(valid_id("43022419720303033")),
    "glued_x": with_x("43022419730404"),
    "fifteen": "430224740505044",
    "dots_nbsp_ideographic": valid_id("43022419750606055"),
    "zero_width": invalid(valid_id("43022419760707066")),
    "lower_x_wide": with_x("43022419770808"),
    "header": valid_id("43022419780909077"),
    "sheet": valid_id("43022419791010088"),
    "json_key": valid_id("43022419801111099"),
    "json_project": "430224811212101",
    "json_org": invalid(valid_id("43022419820101112")),
    "file_wide": with_x("43022419830202"),
    "file_spaced": valid_id("43022419840303134"),
    "file_fifteen": "430224850404145",
    "registry_village": valid_id("43022419860505156"),
    "registry_head": valid_id("43022419870606167"),
}
PROGRAMMES = {  # the training's free-text programme name, as a clerk might fill it
    "full_width": "养老护理培训" + wide(IDS["full_width"]),
    "spaced": f"护理员 {groups(IDS['spaced'], (6, 8, 4), ' ')} 参训",
    "dashed_invalid": groups(IDS["dashed_invalid"], (6, 4, 4, 4), "-"),
    "glued_x": "身份证" + IDS["glued_x"],
    "fifteen": "张三" + IDS["fifteen"],
    "dots_nbsp_ideographic": groups(IDS["dots_nbsp_ideographic"], (6, 4, 4, 4), ".\u00a0") + "\u3000培训",
    "zero_width": IDS["zero_width"][:9] + "\u200b" + IDS["zero_width"][9:],
    "lower_x_wide": wide(IDS["lower_x_wide"].lower()),
}
CLEAN_PROGRAMME = "养老护理\u202e职业技能\u200d培训\ufeff"  # loaded, without its invisible characters
TRAINING_HEADER = "年度,培训项目,县（市、区）,期数,培训人数,其中建档立卡贫困人员,培训后就业人数"
FILE_NAMES = {
    "file_wide": f"张三{wide(IDS['file_wide'])}培训.csv",
    "file_spaced": f"{groups(IDS['file_spaced'], (6, 8, 4), ' ')}\u202e2016年培训.csv",
    "file_fifteen": f"李四-{IDS['file_fifteen']}-培训.csv",
}


def plant(inbox: Path) -> None:
    """The shapes above in every place a submission has words."""
    import xlsxwriter

    hunan = inbox / "hunan"
    hunan.mkdir(parents=True)
    lines = [TRAINING_HEADER, f"2016,{CLEAN_PROGRAMME},茶陵县,1,137,72,109"]
    lines += [f"2016,{p},炎陵县,1,{10 + k},5,5" for k, p in enumerate(PROGRAMMES.values())]
    (hunan / "2016年培训.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (hunan / "2016年攸县培训.csv").write_text(  # an ID number as a header of its own
        f"{TRAINING_HEADER},备注{IDS['header']}\n2016,家政服务培训,攸县,1,40,20,30,无\n", encoding="utf-8"
    )
    with xlsxwriter.Workbook(str(hunan / "2016年醴陵培训.xlsx")) as book:  # an ID number as the sheet's name
        sheet = book.add_worksheet(f"表{IDS['sheet']}")
        sheet.write_row(0, 0, TRAINING_HEADER.split(","))
        sheet.write_row(1, 0, [2016, "电商培训", "醴陵市", 1, 50, 20, 30])
    for k, (key, name) in enumerate(FILE_NAMES.items()):  # an ID number in the file's name
        (hunan / name).write_text(f"{TRAINING_HEADER}\n2016,{key}培训,茶陵县,{k + 2},{20 + k},5,5\n", encoding="utf-8")
    projects = [
        {
            "社会组织名称": "中华慈善总会",
            "项目名称": "茶陵县助学项目",
            "县（市、区）": "茶陵县",
            "落地资金（万元）": 10.5,
            "受益人数": 100,
            f"备注{IDS['json_key']}": "x",
        },
        {
            "社会组织名称": "中华慈善总会",
            "项目名称": f"资助张三{IDS['json_project']}",
            "县（市、区）": "茶陵县",
            "落地资金（万元）": 1.5,
            "受益人数": 1,
        },
        {
            "社会组织名称": f"王五{groups(IDS['json_org'], (3, 3, 4, 4, 4), ' ')}",
            "项目名称": "炎陵县助学项目",
            "县（市、区）": "炎陵县",
            "落地资金（万元）": 2.5,
            "受益人数": 10,
        },
    ]
    (hunan / "2018年社会组织定点扶贫项目.json").write_text(
        json.dumps({"填报单位": "湖南省民政厅", "年度": 2018, "单位": "万元", "data": projects}, ensure_ascii=False),
        encoding="utf-8",
    )
    village = groups(IDS["registry_village"], (6, 8, 4), "\u3000")
    head = IDS["registry_head"]
    (hunan / "茶陵县建档立卡贫困户2017.csv").write_text(
        REGISTRY_HEADER + "\n"
        f"4302240000001,王伟,{head},茶陵县,城关镇,东村,3,已脱贫,2014,2016\n"
        f"4302240000002,李娜,{valid_id('43022419880707178')},茶陵县,城关镇,{village},2,未脱贫,2015,\n"
        f"4302240000003,王伟,{head},茶陵县,城关镇,南村,4,未脱贫,2015,\n",  # one head, two households
        encoding="utf-8",
    )


SEPARATORS = r"[\s\-.\u00a0\u3000_·]"


def normalised(text: str) -> str:
    """Text read as the gate reads it: escapes undone, width folded (NFKC), format characters removed, digit
    groups joined across separators, upper case."""
    text = unescaped(text)
    text = re.sub(r"\\+x([0-9a-fA-F]{2})", lambda m: chr(int(m[1], 16)), text)
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return re.sub(rf"(?<=\d){SEPARATORS}{{1,3}}(?=[\dXx])", "", text).upper()


def planted_in(text: str) -> list[str]:
    """The planted numbers found in ``text``: whole, or all they hold past their division code."""
    text = normalised(text)
    return [place for place, number in IDS.items() if number.upper() in text or number[6:].upper() in text]


def test_ids_in_every_shape_and_place_are_found_nowhere(tmp_path, caplog):
    from prefect.client.orchestration import get_client

    plant(tmp_path / "inbox")
    home = tmp_path / "home"
    with caplog.at_level(logging.INFO):
        summary = nightly(inbox=str(tmp_path / "inbox"), home=str(home))
    assert summary["failed_provinces"] == {}

    with open_warehouse(home) as con:
        ledger = dict(con.execute("select file_name, status from meta.submissions").fetchall())
        rejected = con.execute(
            "select s.file_name, r.field, r.value, r.reason, r.reason_code from meta.rejections r "
            "join meta.submissions s using (submission_id) order by s.file_name, r.row_number"
        ).fetchall()
        programmes = sorted(p for (p,) in con.execute("select programme from core.fct_training").fetchall())
        projects = sorted(p for (p,) in con.execute("select project from core.fct_social_org_project").fetchall())
        households = sorted(h for (h,) in con.execute("select household_id from core.fct_household").fetchall())
        mapped = con.execute("select sheet, submitted_header from meta.header_mappings").fetchall()
    # the names a person sees are the masked ones
    assert {
        "张三430224************培训.csv",
        "430224************2016年培训.csv",
        "李四-430224*********-培训.csv",
    } <= set(ledger), ledger
    # every free-text value with an ID number is rejected with the code, masked; the rest loads, cleaned
    by_code = [(f, field, code) for f, field, _, _, code in rejected if code == "id_in_non_id_column"]
    assert sorted(by_code) == sorted(
        [("2016年培训.csv", "programme", "id_in_non_id_column")] * len(PROGRAMMES)
        + [("2018年社会组织定点扶贫项目.json", "project", "id_in_non_id_column")]
        + [("2018年社会组织定点扶贫项目.json", "organisation", "id_in_non_id_column")]
        + [("茶陵县建档立卡贫困户2017.csv", "village", "id_in_non_id_column")]
    ), rejected
    assert "养老护理职业技能培训" in programmes and not any("\u202e" in p or "\u200d" in p for p in programmes)
    assert "电商培训" in programmes and "家政服务培训" in programmes
    assert "茶陵县助学项目" in projects and len(projects) == 1
    # one head in two households: the later row rejected, naming the first household's number
    assert households == ["4302240000001"]
    head = [r for r in rejected if r[4] == "duplicate_head"]
    assert [r[3] for r in head] == [
        "“户主身份证号码”与第 2 行（户编号 4302240000001）的户主相同：一人只能是一户的户主，请核对身份证号或户编号"
    ]
    # the file's own words are kept, masked
    assert any(h == "备注430224************" for _, h in mapped), mapped
    assert any(s == "表430224************" for s, _ in mapped), mapped

    cli = CliRunner()
    printed = {"fupin submissions": cli.invoke(app, ["submissions", "--home", str(home)]).output}
    with open_warehouse(home) as con:
        for (sid,) in con.execute("select submission_id from meta.submissions").fetchall():
            printed[f"fupin submissions --id {sid}"] = cli.invoke(
                app, ["submissions", "--home", str(home), "--id", sid]
            ).output
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(sort="START_TIME_DESC", limit=1)
        flow_run_id = str(runs[0].id)
        task_runs = [t.name for t in client.read_task_runs()]
    prefect = prefect_database_texts(flow_run_id)
    assert any(n.startswith("parse 湖南省 张三430224************培训.csv") for n in task_runs), task_runs
    texts = {
        **home_texts(home),
        "the home's file names": "\n".join(str(p.relative_to(home)) for p in home.rglob("*")),
        **printed,
        "the run's log": caplog.text,
        "Prefect's task-run names": "\n".join(task_runs),
        **prefect,
    }
    assert any(k.startswith(str(home / "ledger")) for k in texts) and any("cache/pull-" in k for k in texts)
    assert any("/receipts/" in k for k in texts) and any("/reports/" in k for k in texts)
    found = {where: planted_in(text) for where, text in texts.items() if planted_in(text)}
    assert found == {}, json.dumps(found, ensure_ascii=False, indent=1)
    hidden = {where for where, text in texts.items() if "\u202e" in unescaped(text) or "\u200d" in unescaped(text)}
    assert {w for w in hidden if not w.startswith("prefect.")} == set(), hidden

    # a rerun compares the masked names with the masked ledger: nothing is received again
    again = nightly(inbox=str(tmp_path / "inbox"), home=str(home))
    assert again["received"] == 0, again["by_status"]
    with open_warehouse(home) as con:
        assert con.execute("select count(*) from meta.submissions").fetchone()[0] == len(ledger)


def test_the_gate_reads_every_shape_and_leaves_ordinary_numbers():
    from fupin.core.safe_text import gate, has_id

    for place, text in PROGRAMMES.items():
        assert gate(text).count("430224") == 1 and not planted_in(gate(text)), (place, gate(text))
    assert gate("养老护理\u202e培训\u200d\ufeff") == "养老护理培训"
    for ordinary in ["金额 123456789012345 元", "2015 2016 2017 2018 12", "电话 0791-88888888", "4302240000001"]:
        assert gate(ordinary) == ordinary and not has_id(ordinary)
    assert not has_id("sha256 " + "ab" * 7 + "430224197001010116" + "cd" * 20)  # digits inside a hash


def test_a_ledger_of_before_the_gate_still_knows_its_files(tmp_path):
    """A home whose ledger kept a file's name in clear (written before the gate): a rerun registers nothing."""
    import duckdb

    name = FILE_NAMES["file_wide"]
    hunan = tmp_path / "inbox" / "hunan"
    hunan.mkdir(parents=True)
    (hunan / name).write_text(f"{TRAINING_HEADER}\n2016,家政服务培训,茶陵县,1,20,5,5\n", encoding="utf-8")
    home = tmp_path / "home"
    assert nightly(inbox=str(tmp_path / "inbox"), home=str(home))["received"] == 1
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:  # as the ledger of an earlier version kept it
        con.execute("update meta.submissions set source_path = ?, file_name = ?", [name, name])
    again = nightly(inbox=str(tmp_path / "inbox"), home=str(home))
    assert again["received"] == 0, again["by_status"]
