"""Every relation declared once: the warehouse has what the specs and contracts declare, and a new dataset or a
new ledger column reaches the DDL, the comments, the labels, the ledger copies and rebuild's comparison."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import yaml

from fupin.core.config import Paths
from fupin.export import table_sheet
from fupin.tasks.archive import compare_warehouses, compared, export_ledger, ledger_rows
from fupin.tasks.calendar import STATUS_COMMENTS
from fupin.warehouse.build import apply_ddl, marts
from fupin.warehouse.contracts import contracts
from fupin.warehouse.labels import column_labels, labels
from fupin.warehouse.relations import folder, relations

ELDER_CARE = {
    "dataset": "elder_care",
    "zh": "养老服务床位",
    "en": "Elderly-care beds",
    "grain": "one row per county × year",
    "key": ["county_code", "year"],
    "required": ["county|county_code", "year", "beds"],
    "columns": [
        {"name": "county_code"},
        {"name": "year"},
        {
            "name": "beds",
            "type": "integer",
            "zh": "养老床位数",
            "en": "beds",
            "comment": "Elderly-care beds at year end.",
            "headers": ["养老床位数", "床位数"],
        },
    ],
}
DOCUMENT = {
    "name": "provincial_document",
    "type": "varchar",
    "zh": "省厅报送文号",
    "label": "报送文号",
    "en": "Number of the provincial department's covering letter, as submitted.",
}


@pytest.fixture()
def own_contracts(tmp_path, monkeypatch) -> Path:
    """A copy of the shipped contracts (relation specs included), in force for the test."""
    target = tmp_path / "contracts"
    shutil.copytree(folder(), target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    monkeypatch.setenv("FUPIN_CONTRACTS", str(target))
    return target


def _declared_types(spec) -> list[tuple[str, str]]:
    """(column, DuckDB's name of its type) as the spec declares them."""
    with duckdb.connect() as con:
        con.execute(f"create schema {spec.relation.split('.')[0]}")
        con.execute(spec.create_sql())
        return con.execute(
            "select column_name, data_type from duckdb_columns() where table_name = ? order by column_index",
            [spec.relation.split(".")[1]],
        ).fetchall()


def test_every_relation_of_a_built_warehouse_is_declared_once_and_as_built(warehouse):
    specs = relations()
    by_specs = [*specs, *(s.current.relation for s in specs.values() if s.current)]
    by_contracts = [name for c in contracts().values() for name in (c.table, c.view)]
    by_models = [f"marts.{m.name}" for m in marts()]
    by_calendar = ["marts.submission_status"]  # written by tasks.calendar, with its comments there
    declared = [*by_specs, *by_contracts, *by_models, *by_calendar]
    assert len(declared) == len(set(declared)), "a relation declared in two places"
    built = {
        f"{s}.{n}"
        for s, n in con_rows(
            warehouse,
            "select schema_name, table_name from duckdb_tables() where schema_name in ('meta', 'core', 'marts') "
            "union all select schema_name, view_name from duckdb_views() "
            "where not internal and schema_name in ('meta', 'core', 'marts')",
        )
    }
    assert built == set(declared)
    status_columns = con_rows(
        warehouse,
        "select column_name from duckdb_columns() where schema_name = 'marts' and table_name = 'submission_status'",
    )
    assert {c for (c,) in status_columns} == set(STATUS_COMMENTS)

    for spec in specs.values():
        schema, name = spec.relation.split(".")
        rows = con_rows(
            warehouse,
            "select column_name, data_type, is_nullable, comment from duckdb_columns() "
            "where schema_name = ? and table_name = ? order by column_index",
            [schema, name],
        )
        assert [(c, t) for c, t, _, _ in rows] == _declared_types(spec), spec.relation
        assert [comment for *_, comment in rows] == [c.comment for c in spec.columns], spec.relation
        if spec.build in ("table", "reference"):
            assert [n for _, _, n, _ in rows] == [c.nullable for c in spec.columns], spec.relation
        title = warehouse.execute(
            "select comment from duckdb_tables() where schema_name = ? and table_name = ? "
            "union all select comment from duckdb_views() where schema_name = ? and view_name = ?",
            [schema, name, schema, name],
        ).fetchone()[0]
        assert title == f"{spec.zh}｜{spec.en}", spec.relation


def con_rows(con, sql: str, params: list | None = None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def test_rebuild_compares_every_dataset_and_the_ledger():
    tables = compared()
    assert {c.view for c in contracts().values()} <= set(tables)
    assert {"core.fct_household_grant", "core.fct_social_service_project"} <= set(tables)
    assert {"meta.submissions", "meta.rejections", "meta.decisions", "meta.header_mappings"} <= set(tables)
    assert "core.fct_household" in tables


def test_a_new_dataset_contract_reaches_ddl_comments_labels_and_rebuilds_comparison(own_contracts, tmp_path):
    (own_contracts / "elder_care.yaml").write_text(yaml.safe_dump(ELDER_CARE, allow_unicode=True), encoding="utf-8")

    assert compared()["core.fct_elder_care"] == "select * from core.fct_elder_care"
    assert column_labels()["beds"] == "养老床位数"
    assert ("dataset", "elder_care", "养老服务床位") in {(x.kind, x.code, x.name_zh) for x in labels()}

    home = tmp_path / "home"
    (home / "rebuild").mkdir(parents=True)
    current, rebuilt = home / "warehouse.duckdb", home / "rebuild" / "warehouse.duckdb"
    for path in (current, rebuilt):
        with duckdb.connect(str(path)) as con:
            apply_ddl(con)
            con.execute("create table marts.indicators as select 1 as value")
    with duckdb.connect(str(current)) as con:
        comment = con.execute(
            "select comment from duckdb_columns() where table_name = 'fct_elder_care_history' and column_name = 'beds'"
        ).fetchone()[0]
        assert comment == "养老床位数｜Elderly-care beds at year end."
        con.execute(
            "insert into core.fct_elder_care_history (province_code, county_code, year, beds, submission_id, "
            "valid_from) values ('36', '360827', 2018, 120, 's1', now())"
        )
    differences = compare_warehouses.fn(current, rebuilt)
    assert differences["core.fct_elder_care"] == {"only_in_current": 1, "only_in_rebuilt": 0}
    assert not any(n for table, d in differences.items() if table != "core.fct_elder_care" for n in d.values())


def test_a_column_added_to_a_ledger_spec_reaches_ddl_export_and_labels(own_contracts, tmp_path):
    spec = own_contracts / "relations" / "meta.submissions.yaml"
    doc = yaml.safe_load(spec.read_text(encoding="utf-8"))
    doc["columns"].append(DOCUMENT)
    spec.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")

    paths = Paths.from_home(tmp_path / "home")
    paths.home.mkdir()
    with duckdb.connect(str(paths.warehouse)) as con:
        apply_ddl(con)
        con.execute(
            "insert into meta.submissions (submission_id, province_code, file_name, sha256, received_at, status, "
            "rows_total, rows_loaded, rows_rejected, provincial_document) "
            "values ('s1', '36', 'a.csv', 'abc', now(), 'loaded', 1, 1, 0, '赣民函〔2018〕7号')"
        )
        comment = con.execute(
            "select comment from duckdb_columns() where table_name = 'submissions' "
            "and column_name = 'provincial_document'"
        ).fetchone()[0]
        assert comment == "省厅报送文号｜Number of the provincial department's covering letter, as submitted."
        assert "报送文号" in table_sheet(con, "meta.submissions").headers
    assert column_labels()["provincial_document"] == "报送文号"

    export_ledger(paths)
    copy = pq.read_table(paths.home / "ledger" / "meta.submissions.parquet")
    assert copy.column("provincial_document").to_pylist() == ["赣民函〔2018〕7号"]
    paths.warehouse.unlink()  # read back from the ledger copies alone, as a recovery does
    (row,) = ledger_rows(paths)
    assert row["provincial_document"] == "赣民函〔2018〕7号"


def test_a_warehouse_built_before_the_column_gains_it(tmp_path, monkeypatch):
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        apply_ddl(con)  # with the shipped specs
    own = tmp_path / "contracts"
    shutil.copytree(folder(), own, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    monkeypatch.setenv("FUPIN_CONTRACTS", str(own))
    spec = own / "relations" / "meta.decisions.yaml"
    doc = yaml.safe_load(spec.read_text(encoding="utf-8"))
    doc["columns"].append({"name": "ticket", "type": "varchar", "zh": "工单号", "en": "Ticket of the decision."})
    spec.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with duckdb.connect(str(warehouse)) as con:
        apply_ddl(con)
        assert con.execute(
            "select comment from duckdb_columns() where table_name = 'decisions' and column_name = 'ticket'"
        ).fetchone() == ("工单号｜Ticket of the decision.",)


def test_a_relation_is_declared_in_its_own_file_only(own_contracts):
    twin = own_contracts / "relations" / "meta.twin.yaml"
    twin.write_text((own_contracts / "relations" / "meta.decisions.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(ValueError, match="declared once"):
        relations()
