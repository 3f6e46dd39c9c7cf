"""The documented warehouse: every relation and column commented; `fupin docs` writes the dictionary."""

from __future__ import annotations

from typer.testing import CliRunner

from fupin.cli import app
from fupin.docs import mart_lineage, read_relations, references, undocumented
from warehouse.build import marts


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
    assert lineage["marts.poverty_by_county"] == ["core.fct_poverty_status", "core.dim_county", "core.exit_threshold"]
    assert "marts.poverty_by_county" in lineage["marts.poverty_by_area"]
    assert {"marts.fund_by_area", "marts.poverty_by_area", "core.indicator_definition"} <= set(
        lineage["marts.indicators"]
    )
    assert "marts.indicators" not in lineage["marts.indicators"]
    assert references("select * from CORE.dim_county join marts.x using (a)") == ["core.dim_county", "marts.x"]


def test_fupin_docs_writes_markdown_and_html(demo_run, tmp_path):
    result = CliRunner().invoke(app, ["docs", "--home", str(demo_run["home"]), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    md = (tmp_path / "data_dictionary.md").read_text(encoding="utf-8")
    page = (tmp_path / "data_dictionary.html").read_text(encoding="utf-8")
    for text in (md, page):
        assert "marts.poverty_by_county" in text
        assert "one row per county × year: registered poverty at year end" in text
        assert "Poverty incidence (贫困发生率), fraction: poor_population / rural_population." in text
        assert "Average annual growth (年均增长) of civil_affairs_funds" in text  # an indicator's definition
    section = md.split("## marts.poverty_by_county", 1)[1].split("\n## ", 1)[0]
    assert "Fed by: `core.fct_poverty_status`, `core.dim_county`, `core.exit_threshold`" in section
    assert "Feeds: `marts.indicators`, `marts.poverty_by_area`" in section or "`marts.poverty_by_area`" in section
    assert '<h2 id="core.fct_fund_allocation">' in page
    assert 'Fed by: <a href="#core.fct_fund_allocation_history">' in page


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
