"""The corpus of real layouts (tests/fixtures/corpus): every form loads exactly what a clerk reads, or is refused whole.

For each fixture, expected.yaml says what a careful clerk reads from it: its facts, the rows a person would
not load (``rejections``), or ``refuse: true``. fupin's outcome is one of
  right    loaded, exactly the expected facts, and no row rejected but the expected ones
  refused  no fact loaded, a file-level message ending in a ``[code]`` (or every row rejected where the
           clerk loads nothing either)
  partial  every loaded fact right, some expected facts not loaded (rows rejected, columns ignored)
  wrong    a loaded fact the clerk would not read: a wrong figure, key or an extra row
and ``wrong`` must be 0. ``LOADS_TODAY`` lists the fixtures that load right now: the reader may only get
better (add a fixture there when it starts loading right).

The flow-level smoke drops the whole corpus into Jiangxi's inbox beside the demo and runs the nightly flow.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from fupin.tasks.parse import ParseError, read_tables
from fupin.tasks.records import Outcome
from tests.helpers import FIXTURES, indicator_rows, open_warehouse, run_beside_the_demo
from tests.helpers import process as process_form

CORPUS = FIXTURES / "corpus"
EXPECTED = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))
FORMATS = EXPECTED.pop("formats")
KEYS = {
    "fund_allocation": ("county_code", "year", "fund_type", "fund_level"),
    "poverty_status": ("county_code", "year"),
}
VALUES = {
    "fund_allocation": ("amount_yuan",),
    "poverty_status": ("rural_population", "poor_population", "lifted_population", "declared_incidence"),
}

# the fixtures today's reader loads right (the yardstick: this list may only grow)
LOADS_TODAY = {
    "ankang_2016_gbk_levels.csv",
    "fujian_2019_types_as_columns.xlsx",
    "gansu_2017_short_names_poverty.xlsx",
    "guizhou_2019_yi_yuan.xlsx",
    "guizhou_2020_units_in_cells.csv",
    "haidong_2018_total_first_short_names.xlsx",
    "hunan_2016_traditional_unit_row.csv",
    "jiangxi_2014_traditional_types.xlsx",
    "jiangxi_2015_json_old_names.json",
    "jiangxi_2017_years_as_columns.xlsx",
    "jiangxi_2018_traditional_poverty.xlsx",
    "jiangxi_2019_carried_over.xlsx",
    "jiaozuo_2018_traditional_levels.xlsx",
    "jinggangshan_2016_year_end.xlsx",
    "luoxiao_2017_control.xlsx",
    "nanning_2015_long.xlsx",
    "ningde_2020_traditional_title_only.xlsx",
    "panzhihua_2013_traditional.xlsx",
    "qujing_2018_year_merged_down.xlsx",
    "zhangjiachuan_2022_county_in_title.xlsx",
}


def process(path: Path, home: Path, province: str) -> tuple[Outcome, list[dict]]:
    """One file through parse → normalise → validate → lake (no Prefect engine); its outcome and loaded rows."""
    outcome, datasets = process_form(path, home, province)
    return outcome, [dict(r, _dataset=d) for d, rows in datasets.items() for r in rows]


def _value(name: str, value):
    if value is None:
        return None
    if name == "amount_yuan":
        return Decimal(str(value)).quantize(Decimal("0.01"))
    if name == "declared_incidence":
        return round(float(value), 6)
    return int(value) if name.endswith("population") else value


def facts_of(rows: list[dict], dataset: str) -> dict[tuple, tuple]:
    """{key: values} of loaded rows (a row of another dataset keys as such: it is never expected)."""
    out = {}
    for r in rows:
        if r["_dataset"] != dataset:
            out[(r["_dataset"], *(str(v) for k, v in r.items() if k != "_dataset"))] = ("another dataset",)
            continue
        key = tuple(str(r[k]) for k in KEYS[dataset])
        out[key] = tuple(_value(k, r.get(k)) for k in VALUES[dataset])
    return out


def verdict(name: str, outcome: Outcome, rows: list[dict]) -> tuple[str, str]:
    """right / refused / partial / wrong, and what differs."""
    spec = EXPECTED[name]
    dataset = spec["dataset"]
    expected = facts_of([dict(f, _dataset=dataset) for f in spec["facts"]], dataset)
    loaded = facts_of(rows, dataset)
    bad = {k: v for k, v in loaded.items() if expected.get(k) != v}
    if bad:
        return "wrong", "; ".join(f"{k} loaded {v}, expected {expected.get(k, 'no such fact')}" for k, v in bad.items())
    allowed = {r["row"] for r in spec["rejections"]}
    unexpected = [r for r in outcome.rejections if r.row_number is not None and r.row_number not in allowed]
    if loaded and loaded == expected and not unexpected:
        return "right", ""
    if not loaded:
        message = outcome.message or "; ".join(r.reason for r in outcome.rejections)
        coded = message.rstrip().endswith("]") and "[" in message
        if not expected and not unexpected:  # the clerk loads nothing either: every row set aside, or refused
            return ("right" if outcome.rejections and not outcome.message else "refused"), message
        if coded and outcome.status in ("rejected", "failed", "held"):
            return "refused", message
        return "partial", f"nothing loaded, status {outcome.status}: {message}"
    missing = sorted(set(expected) - set(loaded))
    return "partial", f"{len(missing)} expected facts not loaded; rows rejected: " + "; ".join(
        f"{r.row_number} {r.code}" for r in outcome.rejections
    )


@pytest.fixture(scope="module")
def corpus_results(tmp_path_factory) -> dict[str, tuple[str, str, Outcome]]:
    results = {}
    for name, spec in EXPECTED.items():
        home = tmp_path_factory.mktemp("corpus")
        outcome, rows = process(CORPUS / name, home, spec["province"])
        results[name] = (*verdict(name, outcome, rows), outcome)
    counts = {k: sum(1 for v in results.values() if v[0] == k) for k in ("right", "refused", "partial", "wrong")}
    print(f"\ncorpus: {len(results)} fixtures: {counts}")
    for name, (kind, detail, _) in sorted(results.items()):
        print(f"  {kind:8} {name}  {detail[:160]}")
    return results


def test_the_corpus_has_thirty_real_layouts_each_with_its_source():
    assert len(EXPECTED) >= 30
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    for name, spec in EXPECTED.items():
        assert (CORPUS / name).is_file(), name
        assert spec["source"].startswith("http") and spec["source"] in readme, name
        assert spec.get("refuse") or spec["facts"] or spec["rejections"], f"{name}: nothing expected"


def test_no_fixture_loads_a_fact_a_clerk_would_not_read(corpus_results):
    """wrong must be 0. The corpus first found two (chaling: 建档立卡 beside 未脱贫 people; jian: households beside
    persons under one heading): two candidate columns for one field read without refusing; both are refused now."""
    wrong = {name: detail for name, (kind, detail, _) in corpus_results.items() if kind == "wrong"}
    assert not wrong, wrong


def test_every_refusal_says_why_with_a_code(corpus_results):
    for name, (kind, _, outcome) in corpus_results.items():
        if kind == "refused":
            assert outcome.message and outcome.message.startswith(name) and outcome.message.rstrip().endswith("]"), (
                name,
                outcome.message,
            )


def test_the_fixtures_read_today_still_load_right(corpus_results):
    right = {name for name, (kind, _, _) in corpus_results.items() if kind == "right"}
    assert LOADS_TODAY <= right, sorted(LOADS_TODAY - right)
    expected_refusals = {name for name, spec in EXPECTED.items() if spec.get("refuse")}
    for name in expected_refusals:
        assert corpus_results[name][0] in ("refused", "right"), (name, corpus_results[name][1])


# --- formats --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FORMATS["files"])
def test_every_format_calamine_reads_loads_the_same_facts(tmp_path, name):
    outcome, rows = process(CORPUS / "formats" / name, tmp_path, FORMATS["province"])
    assert outcome.status == "loaded", outcome.message
    expected = facts_of([dict(f, _dataset="fund_allocation") for f in FORMATS["facts"]], "fund_allocation")
    assert facts_of(rows, "fund_allocation") == expected


def _grid(path: Path) -> list[list]:
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    return [book.get_sheet_by_name(n).to_python() for n in book.sheet_names]


def test_calamine_test_files_read_the_same_grid_as_their_xlsx_twin():
    """python-calamine's own base.* files: one grid in four formats; the .xlsb has no free writer to make one.

    The .xlsb is the .xlsx cell for cell; the .xls and .ods keep the first sheet's text, numbers, booleans and
    date (their durations and third sheet differ in the source files themselves).
    """
    xlsx = _grid(CORPUS / "formats" / "base.xlsx")
    assert _grid(CORPUS / "formats" / "base.xlsb") == xlsx
    for suffix in (".xls", ".ods"):
        assert [row[:6] for row in _grid(CORPUS / "formats" / f"base{suffix}")[0]] == [row[:6] for row in xlsx[0]]
    tables = read_tables(CORPUS / "formats" / "base.xlsb")
    twin = read_tables(CORPUS / "formats" / "base.xlsx")
    assert [(t.sheet, t.header, t.rows) for t in tables] == [(t.sheet, t.header, t.rows) for t in twin]


def test_a_wps_et_file_is_refused_with_the_format_to_save_as(tmp_path):
    with pytest.raises(ParseError) as caught:
        read_tables(CORPUS / "formats" / "luoxiao_2017.et")
    assert str(caught.value) == (
        "luoxiao_2017.et：WPS 表格（.et）格式无法读取：请另存为 .xlsx 后重新报送 [unsupported_file_type]"
    )
    outcome, rows = process(CORPUS / "formats" / "luoxiao_2017.et", tmp_path, "36")
    assert outcome.status == "rejected" and rows == []
    assert outcome.message.endswith("请另存为 .xlsx 后重新报送 [unsupported_file_type]")


def test_an_opendocument_text_named_ods_is_not_a_workbook(tmp_path):
    import zipfile

    path = tmp_path / "报表.ods"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<office:document-content/>")
    with pytest.raises(ParseError, match=r"^报表\.ods：是 OpenDocument 文字或演示文档.*\[not_a_workbook\]$"):
        read_tables(path)


def test_an_unknown_format_names_the_formats_read(tmp_path):
    path = tmp_path / "报表.numbers"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(ParseError, match=r"Apple Numbers（\.numbers）.*导出为 \.xlsx.*\[unsupported_file_type\]$"):
        read_tables(path)
    path = tmp_path / "报表.abc"
    path.write_bytes(b"x")
    with pytest.raises(ParseError, match=r"不支持的文件类型（\.abc）：请以 XLSX（或 XLS、ODS）、CSV 或 JSON.*\]$"):
        read_tables(path)


# --- the whole corpus through the nightly flow -----------------------------------------------------------


@pytest.mark.slow
def test_the_whole_corpus_beside_the_demo_loads_or_is_refused_and_the_demo_figures_stay(demo_run, tmp_path):
    """Every corpus file in one province's inbox beside the demo: no traceback, each file loaded or refused with a
    code, and every figure the demo publishes unchanged (84.00亿元 …).

    Fujian's inbox: its own fixtures load there; the other provinces' are refused or their rows set aside (a
    province names only its own counties), and nothing reaches the demo's Jiangxi and Hunan figures.
    """
    sent = [p for p in CORPUS.glob("*.*") if p.suffix not in (".py", ".md", ".yaml")]
    sent += sorted((CORPUS / "formats").glob("luoxiao_2017.*"))
    home = tmp_path / "home"
    run_beside_the_demo(home, "35", {path.name: path for path in sent})

    query = "select file_name, status, message from meta.submissions where province_code = '35'"
    with open_warehouse(home) as con:
        ledger = {name: (status, message) for name, status, message in con.execute(query).fetchall()}
        after = indicator_rows(con)
    assert sorted(ledger) == sorted(p.name for p in sent)
    for name, (status, message) in ledger.items():
        assert "Traceback" not in (message or ""), name
        if status not in ("loaded", "partially_loaded"):
            assert status in ("rejected", "held") and message and message.rstrip().endswith("]"), (name, status)
    assert ledger["luoxiao_2017.et"] == (
        "rejected",
        "luoxiao_2017.et：WPS 表格（.et）格式无法读取：请另存为 .xlsx 后重新报送 [unsupported_file_type]",
    )
    with open_warehouse(demo_run["home"]) as con:
        before = indicator_rows(con)
    assert before and {k: after.get(k) for k in before} == before
