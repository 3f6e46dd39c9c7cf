"""The machine code stored beside a message is the one fupin wrote, never brackets from the submitted text.

fupin carries the code beside the text it renders (tests/test_message_catalogue.py); ``code_in`` reads it back from
text an older run stored, and must never mistake the submitter's brackets for one.
"""

from __future__ import annotations

import duckdb
import pytest

from fupin.core.messages import CODE_SQL, code_in, codes_in

CASES = [
    ("x.csv：不是有效的 Excel（XLSX）文件：请在 Excel 中另存为 .xlsx 后重新报送 [not_a_workbook]", "not_a_workbook"),
    # a file name with brackets of its own (frictionless-py's test data has one)
    ("[table].csv：无法识别是哪一种报表（读到的表头：“id”） [dataset_unrecognised]", "dataset_unrecognised"),
    ("[a] x.csv：没有可读取的表格：请报送填好的报表 [no_table]", "no_table"),
    ("报表 [draft].xlsx：表头“金额[元]”无法识别 [header_unknown]", "header_unknown"),
    ("暂缓入库，待人工确认 [total_fall]：总额下降 40%。确认无误后执行 fupin approve 35-x", "total_fall"),
    ("待确认期间被更新的报送 35-x（a.csv）取代，未应用 [held_superseded]；原暂缓原因", "held_superseded"),
    ("a.csv：第 3 行 [detail_code:第3行] 有误", "detail_code"),
    # a ledger written before limit messages ended with their code
    ("wide.csv：超过限制：列数最多 1,000（本文件 9,074）[limit_columns_per_row]；管理员可用", "limit_columns_per_row"),
    ("[table].csv：读到的表头“[id]”", None),
    (None, None),
]


@pytest.mark.parametrize(("message", "code"), CASES)
def test_the_code_is_the_bracketed_word_fupin_wrote(message, code):
    assert code_in(message) == code


def test_a_limit_message_ends_with_its_code():
    from fupin.core.config import Limits

    message = Limits().exceeded("columns_per_row", 9074, "第 1 行列数")
    assert message.endswith(" [limit_columns_per_row]") and code_in(message) == "limit_columns_per_row"
    assert Limits().message("columns_per_row", 9074, "第 1 行列数").code == code_in(message)  # the code it carries


def test_every_code_of_a_text_is_read_in_order():
    failure = "a.csv：含身份证号码的名册等待假名化密钥 [pii_key_missing]：…；b.csv：文件是空的 [empty_file]"
    assert codes_in(failure) == ["pii_key_missing", "empty_file"]
    assert codes_in("[table].csv：读到的表头“[id]”") == [] and codes_in(None) == []


def test_an_outcome_carries_its_message_code_between_tasks(tmp_path):
    from fupin.tasks.records import Outcome

    outcome = Outcome("36-x", "36", "[draft].csv", "0" * 64, "2026-12-01", message="[draft].csv：文件是空的…")
    outcome.message_code = "empty_file"
    assert Outcome.load(outcome.save(tmp_path / "o.json")).message_code == "empty_file"


def test_the_warehouse_reads_the_same_code_as_python():
    with duckdb.connect() as con:
        for message, code in CASES:
            assert con.execute(f"select {CODE_SQL.format('?')}", [message]).fetchone()[0] == code, message
