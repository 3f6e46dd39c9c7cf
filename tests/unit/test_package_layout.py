"""The package's shape: one import name, every package shipped, imports at the top, `fupin --help` light.

fupin installs as one import name, ``fupin``: the top-level folders flows/, tasks/ and warehouse/ are
``fupin.flows``, ``fupin.tasks`` and ``fupin.warehouse`` (package-dir in pyproject.toml), so installing
fupin shadows no other package called ``tasks`` or ``flows``. A module's imports sit at its top, where
readers and import-linter see them; an import inside a function is allowed only for an optional
dependency, a command's heavy floors (so that `fupin --help` does not import Prefect or DuckDB) or the
few listed below, each with a comment saying why.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.helpers import ROOT

# the folder each import name is read from, as pyproject.toml's package-dir maps them
SOURCES = {"fupin": "fupin", "fupin.flows": "flows", "fupin.tasks": "tasks", "fupin.warehouse": "warehouse"}

# imported only where the feature that needs them is used (extras, or a heavy runner for one option)
OPTIONAL = {
    "s3fs": "the s3 extra (pip install 'fupin[s3]')",
    "playwright": "the report page's browser tests and screenshots",
    "prefect_dask": "Dask and distributed (~0.2 s) only for a run with --dask",
}

# the commands import the floors below them when they run, so that `fupin --help` stays light
# (test_help_imports_no_engine); each such import carries a `# lazy:` comment saying what it spares
LAZY_FILES = ("fupin/cli/",)

# lazy on purpose outside the commands, with the reason beside them in the code
LAZY = {
    ("tasks/identity/hashing.py", "prefect.exceptions"): "Prefect only when this process already runs it",
    ("tasks/identity/hashing.py", "prefect.logging"): "Prefect only when this process already runs it",
    ("tasks/identity/hashing.py", "prefect.context"): "a Secret block only when no key is in the environment",
    ("tasks/identity/hashing.py", "prefect.settings"): "a Secret block only when no key is in the environment",
    ("tasks/identity/hashing.py", "prefect.blocks.system"): "a Secret block only when no key is in the environment",
    ("tasks/deferred.py", "prefect"): "a task built on first use: the read-only commands never import Prefect",
    ("tasks/deferred.py", "prefect.cache_policies"): "a task built on first use, as above",
    ("tasks/deferred.py", "prefect.exceptions"): "the run logger, only where a run logs",
    ("tasks/summary.py", "prefect.runtime"): "the flow run's id, only in a run (not for the commands reading records)",
}

# lazy by design in another part's file, with the reason written there
KEPT = {
    ("fupin/__init__.py", "fupin"): "fupin.connect / fupin.indicators load the read API on first use (PEP 562)",
}


def _imports_in_functions(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import statement inside a function body of the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import):
                    found.update((inner.lineno, alias.name) for alias in inner.names)
                elif isinstance(inner, ast.ImportFrom):
                    found.add((inner.lineno, "." * inner.level + (inner.module or "")))
    return sorted(found)


def _says_why(lines: list[str], lineno: int) -> bool:
    """The import, or the block of imports and comments it stands in, has a `# lazy:` comment saying why."""
    i = lineno - 1
    while i >= 0 and (not lines[i].strip() or lines[i].lstrip().startswith(("import ", "from ", "#", ")"))):
        if "# lazy" in lines[i]:
            return True
        i -= 1
    return False


def _offenders(root: Path) -> list[str]:
    offenders = []
    for folder in SOURCES.values():
        for path in sorted((root / folder).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            lines = path.read_text(encoding="utf-8").splitlines()
            for lineno, module in _imports_in_functions(path):
                if module.split(".")[0] in OPTIONAL or (rel, module) in KEPT:
                    continue
                if (rel.startswith(LAZY_FILES) or (rel, module) in LAZY) and _says_why(lines, lineno):
                    continue
                offenders.append(f"{rel}:{lineno}: import {module}")
    return offenders


def test_the_distribution_installs_one_import_name():
    top_level = importlib.metadata.distribution("fupin").read_text("top_level.txt")
    assert top_level is not None and top_level.split() == ["fupin"]


def test_the_old_top_level_names_do_not_import_outside_the_checkout(tmp_path):
    """From a folder outside the checkout, `tasks`, `flows` and `warehouse` are nobody's; fupin.* are fupin's."""
    probe = (
        "import importlib.util, json\n"
        "names = ('tasks', 'flows', 'warehouse', 'fupin.tasks', 'fupin.flows', 'fupin.warehouse', 'fupin.cli')\n"
        "print(json.dumps({name: importlib.util.find_spec(name) is not None for name in names}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == (
        '{"tasks": false, "flows": false, "warehouse": false, '
        '"fupin.tasks": true, "fupin.flows": true, "fupin.warehouse": true, "fupin.cli": true}'
    )


def test_every_package_is_listed_for_the_wheel():
    """A folder of modules missing from pyproject.toml's packages would be left out of a built wheel."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    found = set()
    for name, folder in SOURCES.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((name, *parts)))
    assert found - listed == set()


def test_imports_sit_at_the_top_of_modules():
    assert _offenders(ROOT) == []


def test_an_import_inside_a_function_is_found(tmp_path):
    """The walk itself: a nested import is reported unless it is optional or a command's commented lazy one."""
    for folder in SOURCES.values():
        (tmp_path / folder).mkdir()
    (tmp_path / "tasks" / "x.py").write_text(
        "import os\n\n\ndef f():\n    import json\n\n    def g():\n        from fupin.core import sql\n"
        "    import s3fs\n    return json\n",
        encoding="utf-8",
    )
    (tmp_path / "fupin" / "cli").mkdir()
    (tmp_path / "fupin" / "cli" / "c.py").write_text(
        "def c():\n    # lazy: DuckDB only when it runs\n    import duckdb\n\n    import csv\n"
        "    x = 1\n    import pandas\n",
        encoding="utf-8",
    )
    assert _offenders(tmp_path) == [
        "fupin/cli/c.py:7: import pandas",
        "tasks/x.py:5: import json",
        "tasks/x.py:8: import fupin.core",
    ]


def test_lazy_entries_are_still_needed():
    """The allow-list of lazy imports outside the commands shrinks when one moves to the top."""
    files = {path for path, _ in LAZY}
    nested = {(path, module) for path in files for _, module in _imports_in_functions(ROOT / path)}
    assert set(LAZY) - nested == set()


def test_help_imports_no_engine():
    """`fupin --help` and a command's --help read no warehouse and start no Prefect: they stay fast."""
    probe = (
        "import sys\n"
        "from fupin.cli import app\n"
        "for args in (['--help'], ['run', '--help'], ['indicators', '--help'], ['check', '--help']):\n"
        "    try:\n"
        "        app(args)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = ('prefect', 'duckdb', 'pandas', 'pyarrow', 'numpy', 'fupin.tasks', 'fupin.warehouse', 'fupin.flows')\n"
        "print('loaded:', sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "loaded: []"
