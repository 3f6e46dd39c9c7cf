"""The message catalogue: every message code fupin writes is in it, every entry is used, each renders.

The source is read as Python (its string constants and the calls that name a catalogue key), not run: a message
written as a bare string with ``[code]`` instead of through the catalogue shows here.
"""

from __future__ import annotations

import ast
import dataclasses

import pytest

from fupin.core.config import Limits
from fupin.core.messages import (
    _CODE,
    CATALOGUE,
    KINDS,
    LIMIT_NAMES,
    CodedError,
    Message,
    catalogue_rows,
    code_in,
    message,
    placeholders,
    render,
    said_of,
    say,
)
from fupin.tasks import gate
from fupin.tasks.parse import ParseError, read_tables
from fupin.tasks.records import Rejection, all_refused
from tests.helpers import ROOT

SOURCES = sorted(p for folder in ("fupin", "tasks", "flows", "warehouse") for p in (ROOT / folder).rglob("*.py"))
CATALOGUE_FILE = ROOT / "fupin" / "core" / "messages.py"
BUILDERS = {"say", "message"}  # the functions that take a catalogue key first


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _module_strings(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "text"`` constants (``UNRECOGNISED_CODE = "dataset_unrecognised"``)."""
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            out.update({t.id: node.value.value for t in node.targets if isinstance(t, ast.Name)})
    return out


def _key(node: ast.expr, names: dict[str, str]) -> str | None:
    """A call's first argument as a key, when it is a literal, a known constant, or an f-string of those."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            part = _key(value.value if isinstance(value, ast.FormattedValue) else value, names)
            if part is None:
                return None
            parts.append(part)
        return "".join(parts)
    return None


@pytest.fixture(scope="module")
def source() -> dict:
    """What the source says: bracketed codes in its string constants (outside the catalogue), and the keys its
    say()/message() calls name."""
    shared = {}
    trees = {}
    for path in SOURCES:
        trees[path] = ast.parse(path.read_text(encoding="utf-8"))
        shared.update({k: v for k, v in _module_strings(trees[path]).items() if k.endswith("_CODE")})
    bracketed: dict[str, list[str]] = {}
    keys: dict[str, list[str]] = {}
    for path, tree in trees.items():
        where = str(path.relative_to(ROOT))
        names = {**shared, **_module_strings(tree)}
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if path != CATALOGUE_FILE and isinstance(node, ast.Constant) and isinstance(node.value, str):
                # a key named in a table (check_ids' ID_REASONS), not in a call: a variant or a row's reason
                if node.value in CATALOGUE and ("." in node.value or CATALOGUE[node.value].kind == "row"):
                    keys.setdefault(node.value, []).append(f"{where}:{node.lineno}")
                if id(node) not in docs:
                    for match in _CODE.finditer(" " + node.value):
                        bracketed.setdefault(match[1], []).append(f"{where}:{node.lineno}")
            if isinstance(node, ast.Call) and node.args:
                if isinstance(node.func, ast.Name) and node.func.id in BUILDERS:
                    key = _key(node.args[0], names)
                    if key is not None:
                        keys.setdefault(key, []).append(f"{where}:{node.lineno}")
    return {"bracketed": bracketed, "keys": keys}


def test_every_message_code_in_the_source_is_rendered_from_the_catalogue(source):
    """No string in the code carries a `` [code]`` of its own: each message comes from the catalogue."""
    assert source["bracketed"] == {}


def test_every_key_the_source_names_is_in_the_catalogue(source):
    unknown = {key: where for key, where in source["keys"].items() if key not in CATALOGUE}
    assert unknown == {}


def test_every_catalogue_entry_is_used(source):
    used = set(source["keys"])
    used |= {f"limit_{name}" for name in LIMIT_NAMES}  # limit_message(name, …): Limits.message
    used |= set(gate.CODES)  # gate.held: the most specific of the problems found
    assert sorted(set(CATALOGUE) - used) == []


def test_the_limit_codes_are_the_limits_a_file_is_checked_against():
    fields = {f.name for f in dataclasses.fields(Limits)}
    assert set(LIMIT_NAMES) == fields - {"same_reason_rows"}  # that one stops a form: rows_all_refused


def test_the_gate_codes_are_in_the_catalogue():
    assert set(gate.CODES) <= set(CATALOGUE)


def _sample(template: str) -> dict:
    """A value for each field: a number where the template formats one (``{rows:,}``, ``{declared:.2%}``)."""
    import string

    params = {}
    for _, name, spec, _ in string.Formatter().parse(template):
        if name:
            params[name] = 0.25 if spec.endswith("%") else 1234 if spec else f"〈{name}〉"
    return params


@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_each_entry_renders_in_both_languages_with_the_same_fields_and_its_code(key):
    entry = CATALOGUE[key]
    code = key.split(".", 1)[0]
    assert entry.kind in KINDS
    assert placeholders(entry.zh) == placeholders(entry.en), key
    params = _sample(entry.zh + entry.en)
    zh, en = render(Message(key, params)), render(Message(key, params), "en")
    for text in (zh, en):
        assert "{" not in text and "}" not in text, text
        # a row's code is stored beside its reason (reason_code); every other message carries its code in the text
        assert text.count(f"[{code}]") == (0 if entry.kind == "row" and f"[{code}]" not in entry.zh else 1), text
    if entry.kind != "row" or f"[{code}]" in entry.zh:
        assert code_in(zh) == code_in(en) == code  # what a ledger reader of older text finds
    assert any("\u4e00" <= ch <= "\u9fff" or ch == "：" for ch in entry.zh), key  # Chinese, or its punctuation


def test_a_key_outside_the_catalogue_is_refused():
    with pytest.raises(KeyError):
        message("no_such_code")


# --- the text is today's text -----------------------------------------------------------------------------------


def test_file_messages_read_as_before():
    assert say("empty_file", name="a.csv") == "a.csv：文件是空的：请报送填好的报表 [empty_file]"
    assert (
        say("not_a_workbook.zip", name="b.xlsx")
        == "b.xlsx：是压缩包而不是 Excel 工作簿：请报送 .xlsx 报表本身 [not_a_workbook]"
    )
    assert say("encoding_unknown", name="c.csv", offset=7, byte=0xFF) == (
        "c.csv：文字编码无法识别（既不是 UTF-8 也不是 GB18030，第 7 字节为 0xff）："
        "请用 Excel 另存为“CSV UTF-8”后重新报送 [encoding_unknown]"
    )


def test_a_limit_message_reads_as_before_and_carries_its_code():
    found = Limits().message("columns_per_row", 9074, "第 1 行列数")
    assert found.code == "limit_columns_per_row"
    assert render(found) == (
        "超过限制：第 1 行列数最多 1,000（本文件 9,074）；"
        "管理员可用 FUPIN_LIMIT_COLUMNS_PER_ROW 调整 [limit_columns_per_row]"
    )
    assert render(found.within("wide.csv")).startswith("wide.csv：超过限制：")
    assert render(found, "en") == (
        "limit exceeded: 第 1 行列数 at most 1,000 (this file 9,074); an administrator may raise "
        "FUPIN_LIMIT_COLUMNS_PER_ROW [limit_columns_per_row]"
    )


def test_the_all_refused_message_is_the_one_the_readme_quotes():
    first = Rejection(2, "county", "某县", "“县名”：县名无法识别", "county_unknown")
    assert all_refused("x.csv", first, 1000) == (
        "x.csv：前 1,000 行均因同一原因被退回（第 2 行：“县名”：县名无法识别；原因代码 county_unknown）："
        "已停止读取本文件，请按原因修改后重新报送 [rows_all_refused]"
    )


def test_a_held_message_names_the_most_specific_code_first():
    from fupin.tasks.records import Outcome

    o = Outcome("36-abc", "36", "a.xlsx", "0" * 64, "2026-12-01T00:00:00+00:00", message="1 行被退回")
    found = [gate.Problem("held_rise", "总额上升"), gate.Problem("held_unit_error", "像是单位错误")]
    held = gate.held(o, found)
    assert held.code == "held_unit_error"
    assert render(held) == (
        "暂缓入库，待人工确认 [held_unit_error]：总额上升；像是单位错误。确认无误后执行 fupin approve 36-abc；"
        "如为误报执行 fupin discard 36-abc --reason 原因。1 行被退回"
    )


def test_a_parse_error_carries_the_code_beside_the_text(tmp_path):
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ParseError) as caught:
        read_tables(path)
    assert caught.value.code == "workbook_corrupt"
    assert str(caught.value) == render(caught.value.message)
    assert str(caught.value).endswith("[workbook_corrupt]")


def test_a_fault_said_of_a_file_keeps_its_code():
    inner = CodedError(message("registry_year_unknown"))
    outer = said_of("名册.csv", inner)
    assert isinstance(outer, Message) and outer.code == "registry_year_unknown"
    assert (
        render(outer) == "名册.csv：看不出名册是哪一年的：请在文件名中写明年份（如 …2017年…） [registry_year_unknown]"
    )
    assert said_of("a.csv", ValueError("坏")) == "a.csv：坏"
    assert CodedError("旧的文本 [empty_file]").code == "empty_file"  # text from before: its code read back


def test_a_message_without_its_code_for_a_finding_that_shows_it_apart():
    found = message("calendar_invalid.entry", where="calendar.yaml：第 1 项")
    assert render(found, coded=False) == "calendar.yaml：第 1 项须有 provinces、datasets、years 和 due 四项：请补全"


def test_the_data_dictionary_lists_every_code_in_chinese_and_english():
    zh, en = catalogue_rows("zh"), catalogue_rows("en")
    codes = {key.split(".", 1)[0] for key in CATALOGUE}
    assert {r["code"] for r in zh} == {r["code"] for r in en} == codes
    empty = next(r for r in zh if r["code"] == "empty_file")
    assert empty == {"code": "empty_file", "kind": "报送文件", "text": "…：文件是空的：请报送填好的报表 [empty_file]"}
