"""The demo inbox reproduces the seed's figures when its files are read back directly.

These tests read the written files with openpyxl, pandas and json only, independent of the
pipeline, so a failure here is a fault in the demo, not in the parsers.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from fupin.demo import write_demo

YEARS = (2015, 2016, 2017)
DESIGNATED_PREFIXES = ("遂川", "莲花")
JIANGXI_FILES = [
    *(f"{year}年罗霄山片区县民政资金下达情况表.xlsx" for year in YEARS),
    "江西省罗霄山片区贫困人口统计表2015-2017.xlsx",
    "2018年社会组织定点扶贫项目.json",
    "2016年罗霄山片区养老护理员培训.csv",
    "遂川县建档立卡贫困户2017.csv",
    "莲花县建档立卡贫困户2017.xlsx",
    "2017年“十百千”帮扶行动资金发放花名册.xlsx",
    "2018年“十百千”帮扶行动资金发放花名册.xlsx",
]
MINISTRY_FILES = [
    "2017-2018年中央财政支持社会组织参与社会服务项目立项名单.xlsx",
    "2018年深度贫困地区社会组织培训.csv",
]
HUNAN_FILES = [
    "湖南省罗霄山片区民政资金2015-2017.csv",
    "湖南省罗霄山片区贫困人口2015-2017.csv",
    "2016年罗霄山片区养老护理员培训.csv",
]
FUND_COLUMNS = (
    "民政事业费/中央",
    "民政事业费/省级",
    "彩票公益金/中央",
    "彩票公益金/省级",
    "中央预算内投资/中央",
)
TRAINING_HEADER = (
    "年度",
    "培训项目",
    "县（市、区）",
    "期数",
    "培训人数",
    "其中建档立卡贫困人员",
    "培训后就业人数",
)
WAN = Decimal(10_000)


def _number(value: object) -> Decimal:
    """A cell value as a Decimal, accepting '1,234.56' and '3.17%' strings."""
    if isinstance(value, str):
        return Decimal(value.replace(",", "").removesuffix("%"))
    return Decimal(str(value))


def _growth(first: Decimal, last: Decimal, years: int) -> float:
    """Average annual (geometric) growth between two yearly amounts."""
    return (float(last) / float(first)) ** (1 / years) - 1


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo inbox written once for the module."""
    out = tmp_path_factory.mktemp("inbox")
    write_demo(out)
    return out


def _jiangxi_fund_form(inbox: Path, year: int) -> tuple[list[dict], dict]:
    """The data rows and the 合计 row of one Jiangxi fund form, amounts in 万元."""
    path = inbox / "jiangxi" / f"{year}年罗霄山片区县民政资金下达情况表.xlsx"
    sheet = openpyxl.load_workbook(path)["民政资金"]
    rows = []
    for values in sheet.iter_rows(min_row=5, values_only=True):
        if not isinstance(values[1], str):  # the column-number row
            continue
        row = {
            "name": values[1],
            "code": values[2],
            "raw": values[3:8],
            **{col: _number(v) for col, v in zip(FUND_COLUMNS, values[3:8], strict=True)},
        }
        if values[1] == "合计":
            return rows, row
        rows.append(row)
    raise AssertionError(f"no 合计 row in {path.name}")


@pytest.fixture(scope="module")
def hunan_funds(inbox: Path) -> pd.DataFrame:
    """Hunan's long-format fund CSV with amounts as Decimal yuan."""
    frame = pd.read_csv(inbox / "hunan" / HUNAN_FILES[0], encoding="gbk", dtype=str)
    frame["amount"] = frame["金额（元）"].map(_number)
    frame["年度"] = frame["年度"].astype(int)
    return frame


def _yearly_yuan(
    inbox: Path,
    hunan: pd.DataFrame,
    fund_type: str,
    level: str | None = None,
    designated_only: bool = False,
) -> dict[int, Decimal]:
    """Yearly yuan of one fund type over both provinces' files."""
    columns = [c for c in FUND_COLUMNS if c.startswith(fund_type) and (level is None or c.endswith(level))]
    totals = {}
    for year in YEARS:
        rows, _ = _jiangxi_fund_form(inbox, year)
        if designated_only:
            rows = [r for r in rows if r["name"].startswith(DESIGNATED_PREFIXES)]
        jiangxi = sum((r[c] for r in rows for c in columns), Decimal(0)) * WAN
        h = hunan[(hunan["年度"] == year) & (hunan["资金类别"] == fund_type)]
        if level is not None:
            h = h[h["资金级别"] == level]
        if designated_only:
            h = h[h["县市区"].str.startswith(DESIGNATED_PREFIXES)]
        totals[year] = jiangxi + sum(h["amount"], Decimal(0))
    return totals


@pytest.fixture(scope="module")
def poverty(inbox: Path) -> pd.DataFrame:
    """Both provinces' poverty rows: province, year, county, R, L, P, declared percent."""
    sheet = openpyxl.load_workbook(inbox / "jiangxi" / "江西省罗霄山片区贫困人口统计表2015-2017.xlsx")["贫困人口"]
    records = [
        {
            "province": "36",
            "year": int(v[0].removesuffix("年")),
            "county": v[1],
            "R": v[3],
            "L": v[4],
            "P": v[5],
            "declared": _number(v[6]),
        }
        for v in sheet.iter_rows(min_row=4, values_only=True)
        if isinstance(v[0], str) and v[0].endswith("年")
    ]
    hunan = pd.read_csv(inbox / "hunan" / HUNAN_FILES[1], encoding="utf-8-sig", dtype=str)
    records += [
        {
            "province": "43",
            "year": int(r["年份"]),
            "county": r["县市区"],
            "R": int(r["农业户籍人口（人）"]),
            "L": int(r["已脱贫人口（人）"]),
            "P": int(r["未脱贫人口（人）"]),
            "declared": _number(r["贫困发生率"]),
        }
        for _, r in hunan.iterrows()
    ]
    return pd.DataFrame(records)


@pytest.mark.slow
def test_writes_the_fifteen_files_and_returns_them(tmp_path: Path) -> None:
    written = write_demo(tmp_path)
    expected = {tmp_path / "jiangxi" / n for n in JIANGXI_FILES}
    expected |= {tmp_path / "hunan" / n for n in HUNAN_FILES}
    expected |= {tmp_path / "mca" / n for n in MINISTRY_FILES}
    assert set(written) == expected
    assert all(p.stat().st_size > 0 for p in written)


@pytest.mark.slow
def test_rewriting_overwrites_with_identical_bytes(tmp_path: Path) -> None:
    first = {p: p.read_bytes() for p in write_demo(tmp_path)}
    (tmp_path / "hunan" / HUNAN_FILES[0]).write_bytes(b"stale")
    second = {p: p.read_bytes() for p in write_demo(tmp_path)}
    assert first == second


def test_area_civil_affairs_funds_make_84_yi_growing_24_percent(inbox: Path, hunan_funds: pd.DataFrame) -> None:
    """F6: Jiangxi and Hunan to the 23 counties, 2015–2017."""
    yearly = _yearly_yuan(inbox, hunan_funds, "民政事业费")
    assert sum(yearly.values()) == pytest.approx(84e8, rel=1e-3)
    assert round(_growth(yearly[2015], yearly[2017], 2) * 100, 1) == 24.0


def test_designated_counties_civil_affairs_funds_make_7_06_yi_growing_25_7_percent(
    inbox: Path, hunan_funds: pd.DataFrame
) -> None:
    """F1: 遂川县 + 莲花县, 2015–2017."""
    yearly = _yearly_yuan(inbox, hunan_funds, "民政事业费", designated_only=True)
    assert sum(yearly.values()) == pytest.approx(7.06e8, rel=1e-3)
    assert round(_growth(yearly[2015], yearly[2017], 2) * 100, 1) == 25.7


def test_central_budget_investment_is_exactly_22489_wan(inbox: Path, hunan_funds: pd.DataFrame) -> None:
    """F7."""
    assert sum(_yearly_yuan(inbox, hunan_funds, "中央预算内投资").values()) == 22489 * WAN


def test_central_lottery_funds_are_exactly_4_46_yi(inbox: Path, hunan_funds: pd.DataFrame) -> None:
    """F8: only the 中央 level counts."""
    total = sum(_yearly_yuan(inbox, hunan_funds, "彩票公益金", "中央").values())
    assert total == Decimal("446000000")


def test_hunan_funds_cover_six_counties_in_long_format(hunan_funds: pd.DataFrame) -> None:
    assert hunan_funds["行政区划代码"].nunique() == 6
    assert len(hunan_funds) == 6 * 3 * 5
    assert set(hunan_funds.loc[hunan_funds["资金类别"] == "中央预算内投资", "资金级别"]) == {"中央"}
    assert hunan_funds["金额（元）"].str.contains(",").any()


@pytest.mark.parametrize("year", YEARS)
def test_jiangxi_total_row_equals_the_sum_of_its_column(inbox: Path, year: int) -> None:
    rows, total = _jiangxi_fund_form(inbox, year)
    assert len(rows) == 17
    for column in FUND_COLUMNS:
        assert sum(r[column] for r in rows) == total[column]


def test_jiangxi_fund_forms_carry_the_submission_quirks(inbox: Path) -> None:
    rows15, _ = _jiangxi_fund_form(inbox, 2015)
    rows16, _ = _jiangxi_fund_form(inbox, 2016)
    rows17, _ = _jiangxi_fund_form(inbox, 2017)
    assert ("赣县", 360721) in {(r["name"], r["code"]) for r in rows15}
    assert all(("南康区", 360703) in {(r["name"], r["code"]) for r in rows} for rows in (rows15, rows16, rows17))
    assert {"遂川", "莲花"} <= {r["name"] for r in rows16}
    assert sum(isinstance(v, str) for r in rows16 for v in r["raw"]) == 2
    assert sum(r["code"] is None for r in rows17) == 3
    assert ("遂川县", "360827") in {(r["name"], r["code"]) for r in rows17}
    sheet = openpyxl.load_workbook(inbox / "jiangxi" / "2017年罗霄山片区县民政资金下达情况表.xlsx")["民政资金"]
    assert [c.value for c in sheet[5]] == list(range(1, 10))
    assert "A1:I1" in {str(r) for r in sheet.merged_cells.ranges}


@pytest.mark.parametrize("year", YEARS)
def test_jiangxi_footer_has_labels_but_no_names(inbox: Path, year: int) -> None:
    path = inbox / "jiangxi" / f"{year}年罗霄山片区县民政资金下达情况表.xlsx"
    footer = list(openpyxl.load_workbook(path)["民政资金"].iter_rows(values_only=True))[-1]
    assert footer[0] == "负责人：" and footer[2] == "审核人：" and footer[4] == "填表人："
    assert footer[6] == f"填表日期：{year + 1}年3月15日"
    assert footer[1] is None and footer[3] is None and footer[5] is None


@pytest.mark.parametrize(
    ("county", "lifted", "poor", "incidence"),
    [
        pytest.param("遂川县", 68386, 17002, Decimal("3.17"), id="F4-suichuan"),
        pytest.param("莲花县", 33065, 6580, Decimal("2.84"), id="F5-lianhua"),
    ],
)
def test_designated_county_poverty_at_end_2017(
    poverty: pd.DataFrame, county: str, lifted: int, poor: int, incidence: Decimal
) -> None:
    row = poverty[(poverty["county"] == county) & (poverty["year"] == 2017)].iloc[0]
    assert (row["L"], row["P"], row["declared"]) == (lifted, poor, incidence)
    assert round(row["P"] / row["R"] * 100, 2) == float(incidence)


@pytest.mark.parametrize(
    ("province", "year", "expected"),
    [
        pytest.param("36", 2015, 9.86, id="F10-jiangxi-2015"),
        pytest.param("36", 2017, 4.36, id="F10-jiangxi-2017"),
        pytest.param("43", 2015, 10.15, id="F11-hunan-2015"),
        pytest.param("43", 2017, 3.65, id="F11-hunan-2017"),
    ],
)
def test_part_of_area_incidence(poverty: pd.DataFrame, province: str, year: int, expected: float) -> None:
    part = poverty[(poverty["province"] == province) & (poverty["year"] == year)]
    assert round(part["P"].sum() / part["R"].sum() * 100, 2) == expected


def test_poverty_rows_are_consistent(poverty: pd.DataFrame) -> None:
    assert poverty.groupby("province")["county"].nunique().to_dict() == {"36": 17, "43": 6}
    assert len(poverty) == 23 * 3
    for row in poverty.itertuples():
        exact = Decimal(row.P) * 100 / Decimal(row.R)
        assert row.declared == exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    for _, county in poverty.sort_values("year").groupby("county"):
        assert county["R"].nunique() == 1
        assert (county["L"] + county["P"]).nunique() == 1  # lifted grows as poor falls
        assert county["P"].is_monotonic_decreasing and county["P"].is_unique
        assert 200_000 <= county["R"].iloc[0] <= 800_000


def test_jinggangshan_is_under_the_exit_threshold_and_few_others_are(poverty: pd.DataFrame) -> None:
    jgs = poverty[poverty["county"] == "井冈山市"].set_index("year")["declared"]
    assert jgs[2016] == Decimal("1.60")
    assert jgs[2017] < 2
    end2017 = poverty[poverty["year"] == 2017]["declared"]
    assert 2 <= (end2017 < 2).sum() < len(end2017) / 2
    others = poverty[(poverty["year"] == 2017) & (poverty["county"] != "井冈山市")]
    assert others["declared"].between(Decimal("1.5"), Decimal("8")).all()


def test_social_organisation_funds_make_5430_9_wan_from_48_organisations(inbox: Path) -> None:
    """F2."""
    document = json.loads((inbox / "jiangxi" / JIANGXI_FILES[4]).read_text(encoding="utf-8"))
    header = (document["填报单位"], document["年度"], document["单位"])
    assert header == ("江西省民政厅", 2018, "万元")
    records = document["data"]
    assert len({r["社会组织名称"] for r in records}) == 48
    assert 55 <= len(records) <= 65
    assert sum(_number(r["落地资金（万元）"]) for r in records) == Decimal("5430.9")
    assert {r["县（市、区）"] for r in records} == {"遂川县", "莲花县"}
    assert any(isinstance(r["落地资金（万元）"], str) and "," in r["落地资金（万元）"] for r in records)
    assert all(isinstance(r["受益人数"], int) and r["受益人数"] > 0 for r in records)
    keys = {(r["社会组织名称"], r["项目名称"], r["县（市、区）"]) for r in records}
    assert len(keys) == len(records)


def test_elderly_care_training_makes_8_sessions_and_1003_trainees(inbox: Path) -> None:
    """F9: nearly half of the trainees are registered poor."""
    name = JIANGXI_FILES[5]
    jiangxi = pd.read_csv(inbox / "jiangxi" / name, encoding="utf-8")
    hunan = pd.read_csv(inbox / "hunan" / name, encoding="gb18030")
    assert list(jiangxi.columns) == list(hunan.columns) == list(TRAINING_HEADER)
    both = pd.concat([jiangxi, hunan])
    assert (len(jiangxi), len(hunan)) == (5, 3)
    assert set(both["年度"]) == {2016} and set(both["培训项目"]) == {"养老护理职业技能培训"}
    assert both["期数"].sum() == 8
    assert both["培训人数"].sum() == 1003
    assert both["其中建档立卡贫困人员"].sum() == 498
    assert (both["培训后就业人数"] <= both["培训人数"]).all()


def test_csv_encodings_are_the_ones_provinces_use(inbox: Path) -> None:
    hunan_funds = (inbox / "hunan" / HUNAN_FILES[0]).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        hunan_funds.decode("utf-8")
    assert hunan_funds.decode("gbk").count("\r\n") == 6 * 3 * 5 + 1
    assert '"' in hunan_funds.decode("gbk")
    assert (inbox / "hunan" / HUNAN_FILES[1]).read_bytes().startswith(b"\xef\xbb\xbf")
    jiangxi_training = (inbox / "jiangxi" / JIANGXI_FILES[5]).read_bytes()
    assert not jiangxi_training.startswith(b"\xef\xbb\xbf")
    jiangxi_training.decode("utf-8")
    with pytest.raises(UnicodeDecodeError):
        (inbox / "hunan" / HUNAN_FILES[2]).read_bytes().decode("utf-8")
