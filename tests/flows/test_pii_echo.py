"""Issue 18, finding 6 (ID numbers, forms' path): no ID-number-shaped value leaves the raw archive in clear.

A row with an ID typed into another column is rejected with the value masked; a registry sent without
its header row (read as a form) is rejected without its first row's ID number in any output.
"""

from __future__ import annotations

import re

import duckdb
import pytest

from fupin.core.safe_text import mask_ids
from fupin.flows.nightly import nightly
from tests.helpers import open_warehouse

IDS = ["430224197001011234", "43022519800202567X"]
ID_LIKE = re.compile(r"[0-9]{17}[0-9Xx]")


def _outputs(home) -> dict[str, str]:
    texts = {}
    with open_warehouse(home) as con:
        for table in ("meta.submissions", "meta.rejections", "core.fct_training"):
            texts[table] = repr(con.execute(f"select * from {table}").fetchall())
    for folder in ("receipts", "reports", "lake", "staging"):
        for f in (home / folder).rglob("*") if (home / folder).exists() else []:
            if f.is_file():
                data = f.read_bytes()
                if f.suffix == ".parquet":  # its values, not its compressed bytes
                    text = repr(duckdb.sql(f"select * from read_parquet('{f}')").fetchall())
                else:
                    text = data.decode("utf-8", "replace")
                # the report inlines ECharts, whose minified numbers can look like an ID: its data is elsewhere
                texts[str(f)] = re.sub(r"<script[^>]*>.*?</script>", "", text, flags=re.DOTALL)
    return texts


@pytest.mark.usefixtures("prefect_harness")
def test_ids_in_other_columns_and_headerless_registries_are_never_echoed(tmp_path):
    inbox = tmp_path / "inbox" / "hunan"
    inbox.mkdir(parents=True)
    (inbox / "2016年培训.csv").write_text(
        "年度,培训项目,县（市、区）,期数,培训人数,其中建档立卡贫困人员,培训后就业人数\n"
        "2016,养老护理职业技能培训,茶陵县,1,137,72,109\n"
        f"2016,{IDS[0]},炎陵县,1,120,55,95\n",
        encoding="utf-8",
    )
    (inbox / "茶陵县建档立卡2017.csv").write_text(
        f"张三丰,{IDS[1]},茶陵县,城关镇,东村,3,已脱贫,2014,2016\n李四光,{IDS[0]},茶陵县,城关镇,西村,2,未脱贫,2015,\n",
        encoding="utf-8",
    )
    home = tmp_path / "home"
    summary = nightly(inbox=str(tmp_path / "inbox"), home=str(home))
    assert summary["failed_provinces"] == {}
    with open_warehouse(home) as con:
        rejected = con.execute(
            "select row_number, field, value, reason from meta.rejections join meta.submissions using (submission_id) "
            "where file_name = '2016年培训.csv'"
        ).fetchall()
        trainees = con.execute("select sum(trainees) from core.fct_training").fetchone()[0]
    assert rejected == [(3, "programme", mask_ids(IDS[0]), rejected[0][3])]
    assert rejected[0][3].endswith("中有疑似身份证号，已屏蔽：身份证号只能出现在建档立卡名册的身份证号列")
    assert rejected[0][2] == "430224************"
    assert trainees == 137
    for where, text in _outputs(home).items():
        assert not ID_LIKE.search(text), f"an ID number in {where}"


def _valid_id(body17: str) -> str:
    """An ID number with its check character (GB 11643: ISO 7064 MOD 11-2)."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body17 + "10X98765432"[sum(int(d) * w for d, w in zip(body17, weights, strict=True)) % 11]


@pytest.mark.usefixtures("prefect_harness")
def test_a_registry_row_with_an_id_in_another_column_is_rejected_masked(tmp_path):
    heads = [_valid_id(f"43022419700101{n:03d}") for n in range(1, 5)]
    typed_in = _valid_id("43022519800202123")
    rows = [
        f"4302240000001,王伟,{heads[0]},茶陵县,城关镇,东村,3,已脱贫,2014,2016",
        f"4302240000002,李娜,{heads[1]},茶陵县,城关镇,{typed_in},2,未脱贫,2015,",
        f"4302240000003,张敏,{heads[2]},{typed_in},城关镇,西村,2,未脱贫,2015,",
        f"4302240000004,刘强,{heads[3]},茶陵县,城关镇,南村,4,未脱贫,2015,",
    ]
    inbox = tmp_path / "inbox" / "hunan"
    inbox.mkdir(parents=True)
    (inbox / "茶陵县建档立卡贫困户2017.csv").write_text(
        "户编号,户主姓名,户主身份证号码,县（市、区）,乡镇,行政村,家庭人口数,脱贫状态,识别年度,脱贫年度\n"
        + "\n".join(rows)
        + "\n",
        encoding="utf-8",
    )
    home = tmp_path / "home"
    summary = nightly(inbox=str(tmp_path / "inbox"), home=str(home))
    assert summary["failed_provinces"] == {}
    with open_warehouse(home) as con:
        rejected = con.execute(
            "select row_number, field, value, reason, reason_code from meta.rejections order by 1, 2"
        ).fetchall()
        villages = sorted(r[0] for r in con.execute("select village from core.fct_household").fetchall())
    assert villages == ["东村", "南村"]
    assert [(r[0], r[1]) for r in rejected if r[4] == "id_in_non_id_column"] == [(3, "village"), (4, "county")]
    for _, _, value, reason, _ in rejected:
        assert not ID_LIKE.search(f"{value} {reason}"), (value, reason)
    for where, text in _outputs(home).items():
        assert not ID_LIKE.search(text), f"an ID number in {where}"
