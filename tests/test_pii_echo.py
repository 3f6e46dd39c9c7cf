"""Issue 18, finding 6 (ID numbers, forms' path): no ID-number-shaped value leaves the raw archive in clear.

A row with an ID typed into another column is rejected with the value masked; a registry sent without
its header row (read as a form) is rejected without its first row's ID number in any output.
"""

from __future__ import annotations

import re

import duckdb

from flows.nightly import nightly
from fupin.safe_text import mask_ids

IDS = ["430224197001011234", "43022519800202567X"]
ID_LIKE = re.compile(r"[0-9]{17}[0-9Xx]")


def _outputs(home) -> dict[str, str]:
    texts = {}
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        for table in ("meta.submissions", "meta.rejections", "core.fct_training"):
            texts[table] = repr(con.execute(f"select * from {table}").fetchall())
    for folder in ("receipts", "reports", "lake", "staging"):
        for f in (home / folder).rglob("*") if (home / folder).exists() else []:
            if f.is_file():
                data = f.read_bytes()
                text = data.decode("utf-8", "replace") if f.suffix != ".parquet" else repr(data)
                # the report inlines plotly.js, whose minified numbers can look like an ID: its data is elsewhere
                texts[str(f)] = re.sub(r"<script[^>]*>.*?</script>", "", text, flags=re.DOTALL)
    return texts


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
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        rejected = con.execute(
            "select row_number, field, value, reason from meta.rejections join meta.submissions using (submission_id) "
            "where file_name = '2016年培训.csv'"
        ).fetchall()
        trainees = con.execute("select sum(trainees) from core.fct_training").fetchone()[0]
    assert rejected == [(3, "programme", mask_ids(IDS[0]), rejected[0][3])]
    assert "[id_in_non_id_column]" in rejected[0][3] and rejected[0][2] == "430224************"
    assert trainees == 137
    for where, text in _outputs(home).items():
        assert not ID_LIKE.search(text), f"an ID number in {where}"
