"""The documented warehouse: every relation and column commented; `fupin docs` writes the dictionary."""

from __future__ import annotations

from typer.testing import CliRunner

from fupin.cli import app
from fupin.docs import mart_lineage, read_relations, references, undocumented
from fupin.warehouse.build import marts


def test_every_table_view_and_column_has_a_comment(warehouse):
    relations = read_relations(warehouse)
    names = {r.qualified for r in relations}
    assert {"meta.submissions", "core.fct_fund_allocation", "marts.indicators", "marts.poverty_by_county"} <= names
    assert undocumented(relations) == []


def test_mart_comments_name_only_real_columns(warehouse):
    for mart in marts():
        columns = mart.columns
        actual = {
            c
            for (c,) in warehouse.execute(
                "select column_name from duckdb_columns() where schema_name = 'marts' and table_name = ?", [mart.name]
            ).fetchall()
        }
        assert set(columns) <= actual, f"marts.{mart.name}: {set(columns) - actual} are not columns"


def test_undocumented_lists_what_lacks_a_comment(tmp_path):
    import duckdb

    with duckdb.connect() as con:
        con.execute("create schema marts; create table marts.t (a int, b int)")
        con.execute("comment on table marts.t is 'one row per thing'")
        con.execute("comment on column marts.t.a is 'an a'")
        assert undocumented(read_relations(con)) == ["marts.t.b"]


def test_lineage_of_marts_comes_from_their_sql():
    lineage = mart_lineage()
    assert lineage["marts.poverty_by_county"] == [
        "core.fct_poverty_status",
        "core.dim_county",
        "core.exit_threshold",
        "core.labels",
    ]
    assert "marts.poverty_by_county" in lineage["marts.poverty_by_area"]
    assert {"marts.fund_by_area", "marts.poverty_by_area", "core.indicator_definition"} <= set(
        lineage["marts.indicators"]
    )
    assert "marts.indicators" not in lineage["marts.indicators"]
    assert references("select * from CORE.dim_county join marts.x using (a)") == ["core.dim_county", "marts.x"]


def test_fupin_docs_lang_en_writes_markdown_and_html_in_english(demo_run, tmp_path):
    result = CliRunner().invoke(app, ["docs", "--home", str(demo_run["home"]), "--out", str(tmp_path), "--lang", "en"])
    assert result.exit_code == 0, result.output
    md = (tmp_path / "data_dictionary.md").read_text(encoding="utf-8")
    page = (tmp_path / "data_dictionary.html").read_text(encoding="utf-8")
    for text in (md, page):
        assert "marts.poverty_by_county" in text
        assert "one row per county × year: registered poverty at year end" in text
        assert "Poverty incidence (贫困发生率), fraction, DECIMAL rounded to 6 places: poor_population" in text
        assert "Average annual growth (年均增长) of civil_affairs_funds" in text  # an indicator's definition
    section = md.split("## marts.poverty_by_county", 1)[1].split("\n## ", 1)[0]
    assert "Fed by: `core.fct_poverty_status`, `core.dim_county`, `core.exit_threshold`, `core.labels`" in section
    assert "Feeds: `marts.indicators`, `marts.poverty_by_area`" in section or "`marts.poverty_by_area`" in section
    assert '<h2 id="core.fct_fund_allocation">' in page
    assert 'Fed by: <a href="#core.fct_fund_allocation_history">' in page
    assert '<html lang="en">' in page
    assert "数据字典" not in md and "县名称" not in md  # English only: the comments' Chinese names are left out
    assert "| `civil_affairs_funds` | civil-affairs funds | yuan |" in md


def test_fupin_docs_writes_the_dictionary_in_chinese_by_default(demo_run, tmp_path):
    result = CliRunner().invoke(app, ["docs", "--home", str(demo_run["home"]), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    md = (tmp_path / "data_dictionary.md").read_text(encoding="utf-8")
    page = (tmp_path / "data_dictionary.html").read_text(encoding="utf-8")
    assert md.startswith("# fupin 数据仓库数据字典")
    assert '<html lang="zh-CN">' in page and "<title>fupin 数据仓库数据字典</title>" in page
    section = md.split("## marts.fund_by_county", 1)[1].split("\n## ", 1)[0]
    assert "*表* — 县级资金（县×年度×资金类型×级别）｜县级资金：每个县 × 年度 × 资金类型 × 级别一行，" in section
    assert "含县名及所属片区。｜one row per county × year" in section
    assert "数据来源: `core.fct_fund_allocation`" in section
    assert "| `county_name` | 县名称 | VARCHAR |" in section
    assert "| `amount_yuan` | 金额（元） | DECIMAL(18,2) |" in section
    # the indicators by their Chinese names and units, as the Ministry prints them
    assert "| 民政事业费年均增长 | `civil_affairs_funds_growth` | 比例 |" in md
    assert "<td>县级资金（县×年度×资金类型×级别）</td><td>表</td>" in page
    assert "<td><code>county_name</code></td><td>县名称</td><td>VARCHAR</td>" in page


def test_fupin_docs_refuses_an_unknown_language(demo_run, tmp_path):
    result = CliRunner().invoke(app, ["docs", "--home", str(demo_run["home"]), "--out", str(tmp_path), "--lang", "fr"])
    assert result.exit_code == 1
    assert "[unknown_language]" in result.output
    assert not (tmp_path / "data_dictionary.md").exists()


def test_fupin_docs_default_folder_is_home_docs(demo_run):
    result = CliRunner().invoke(app, ["docs", "--home", str(demo_run["home"])])
    assert result.exit_code == 0, result.output
    assert (demo_run["home"] / "docs" / "data_dictionary.html").stat().st_size > 10_000


def test_marts_are_built_after_the_marts_their_sql_reads():
    order = [m.name for m in marts()]
    assert set(order) >= {"poverty_by_county", "poverty_by_area", "indicators", "headline"}
    for mart in marts():
        for read in mart.reads:
            assert order.index(read) < order.index(mart.name), (read, mart.name)
    assert next(m for m in marts() if m.name == "headline").reads == {"indicators"}
