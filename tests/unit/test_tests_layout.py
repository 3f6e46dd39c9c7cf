"""The tests' own layout (tests/README.md): no test module imports another, and each lies in its tier's folder.

Both rules are read from the source, so that a misplaced or entangled file fails here, in the fast tier, with the
move or the import to fix in the message.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.helpers import ROOT

TESTS = ROOT / "tests"
TIERS = ("unit", "flows", "system")
# the fixtures of tests/conftest.py that start Prefect's engine (a test asking for one is marked `prefect`)
ENGINE_FIXTURES = {"prefect_harness", "demo_run", "warehouse", "demo_home_copy"}
# what starts a program a user or an operator starts, in a process of its own
SYSTEM_NAMES = {"FUPIN", "api_env", "launch_chromium"}
SYSTEM_MARKS = {"server", "browser"}
SYSTEM_PROGRAMS = {"fupin", "duckdb"}  # Path(sys.executable).with_name(...): the installed scripts
BENCHMARK = re.compile(r"benchmarks/\w+\.py")  # a benchmark script, run as the Makefile runs it


def all_test_modules() -> list[Path]:
    return sorted(p for p in TESTS.rglob("test_*.py") if "fixtures" not in p.relative_to(TESTS).parts)


def imported_modules(tree: ast.AST, module: str) -> list[str]:
    """Every module ``tree`` imports (top level or in a function), relative imports resolved against ``module``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")[: -node.level]
                base = ".".join([*package, base] if base else package)
            found.append(base)
            found += [f"{base}.{a.name}" for a in node.names]  # `from tests import test_x`
    return found


def is_test_module(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    return last.startswith("test_") or last == "conftest"


def tier_of(tree: ast.AST) -> str:
    """The tier a test file belongs in, by the most a test of it needs (tests/README.md)."""
    names, marks, fixtures, programs = set(), set(), set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Attribute) and node.value.attr == "mark":
                marks.add(node.attr)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            fixtures |= {a.arg for a in node.args.args}
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            strings = {a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)}
            if node.func.attr == "usefixtures":
                fixtures |= strings
            elif node.func.attr == "with_name":
                programs |= strings
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and BENCHMARK.fullmatch(node.value):
            programs.add(node.value)
    if (
        names & SYSTEM_NAMES
        or marks & SYSTEM_MARKS
        or programs & SYSTEM_PROGRAMS
        or any(map(BENCHMARK.fullmatch, programs))
    ):
        return "system"
    if fixtures & ENGINE_FIXTURES or "prefect" in marks:
        return "flows"
    return "unit"


def test_no_test_module_imports_another():
    entangled = {}
    for path in all_test_modules() + sorted(TESTS.rglob("conftest.py")) + [TESTS / "helpers.py"]:
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        bad = sorted({m for m in imported_modules(tree, module) if is_test_module(m)})
        if bad:
            entangled[str(path.relative_to(ROOT))] = bad
    assert entangled == {}, f"import these from tests/helpers.py (plain helpers) or use fixtures: {entangled}"


def test_every_test_module_lies_in_its_tier():
    misplaced = {}
    for path in all_test_modules():
        tier = tier_of(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        where = path.relative_to(TESTS).parts
        if where[0] != tier:
            misplaced[str(path.relative_to(ROOT))] = f"git mv {path.relative_to(ROOT)} tests/{tier}/{where[-1]}"
    assert misplaced == {}, "\n".join(
        ["test modules outside their tier's folder (tests/README.md):", *misplaced.values()]
    )


@pytest.mark.parametrize(
    ("source", "tier"),
    [
        ("def test_a():\n    assert 1 + 1 == 2\n", "unit"),
        ("def test_a(demo_home_copy):\n    pass\n", "flows"),
        ("@pytest.fixture\ndef home(demo_run):\n    pass\n", "flows"),
        ("pytestmark = pytest.mark.usefixtures('prefect_harness')\n", "flows"),
        ("def test_a(demo_run):\n    subprocess.run([*FUPIN, 'check'])\n", "system"),
        ("CLI = Path(sys.executable).with_name('duckdb')\n", "system"),
        ("@pytest.mark.browser\ndef test_a():\n    pass\n", "system"),
        ("def test_a():\n    subprocess.run([sys.executable, 'benchmarks/registry.py'])\n", "system"),
        ("def test_a(tmp_path):\n    subprocess.run([sys.executable, '-c', 'print(1)'])\n", "unit"),
    ],
)
def test_the_tier_rule_reads_what_a_test_needs(source, tier):
    assert tier_of(ast.parse(source)) == tier


@pytest.mark.parametrize(
    ("source", "module", "entangled"),
    [
        ("from tests.test_forms import process\n", "tests.unit.test_a", True),
        ("def f():\n    from tests.test_corrections import _send\n", "tests.flows.test_a", True),
        ("from tests.conftest import FIXTURES\n", "tests.unit.test_a", True),
        ("from . import test_forms\n", "tests.unit.test_a", True),
        ("from .test_forms import process\n", "tests.unit.test_a", True),
        ("from tests.helpers import process\n", "tests.unit.test_a", False),
        ("from fupin.tasks.parse import read_tables\n", "tests.unit.test_a", False),
    ],
)
def test_the_import_rule_finds_a_test_module(source, module, entangled):
    found = [m for m in imported_modules(ast.parse(source), module) if is_test_module(m)]
    assert bool(found) == entangled, found
