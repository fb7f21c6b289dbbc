"""The suite passes in any order (pytest-randomly shuffles it on every run): no test replaces something other code
in the process shares. A test that patched `asyncio.sleep` for one login once left Prefect's background loop
spinning on the fake six million times; patching the portal's own name for that wait touches nothing else."""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
OURS = ("duban", "flows", "tasks", "tests")


def _owner(target: str):
    """What `monkeypatch.setattr("a.b.name", …)` changes an attribute of (pytest's own resolution)."""
    parts = target.split(".")[:-1]
    for cut in range(len(parts), 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            owner = getattr(owner, name)
        return owner
    raise AssertionError(f"{target}: nothing to import")


def patched_targets() -> list[tuple[str, str]]:
    """(where, what) of every monkeypatch.setattr in the tests: a dotted string, or the expression patched."""
    found = []
    for path in sorted(TESTS.rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "setattr"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "monkeypatch"
                and node.args
            ):
                first = node.args[0]
                what = first.value if isinstance(first, ast.Constant) else ast.unparse(first)
                found.append((f"{path.relative_to(TESTS.parent)}:{node.lineno}", what))
    return found


def test_no_test_patches_a_module_other_code_shares():
    targets = patched_targets()
    for where, what in targets:
        if "." in what and " " not in what and what.split(".")[0] in OURS:  # a dotted path, as a string
            owner = _owner(what)
            module = getattr(owner, "__module__", None) if not hasattr(owner, "__file__") else owner.__name__
            assert (module or "").split(".")[0] in OURS, f"{where}: {what} patches {owner!r}, which others share"
        else:  # an object: the name it is reached by must be one of ours
            root = what.split(".")[0]
            assert root not in sys.stdlib_module_names and root not in ("prefect", "sqlalchemy", "anyio"), where
    assert len(targets) >= 8, targets  # the walk sees the tests' patches
