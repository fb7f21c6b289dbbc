"""duban's import graph stays a tree of layers: no module imports itself round a cycle, none reaches into another
module's private (`_name`) names, and every folder of code is a package."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("duban", "flows", "tasks")
NOT_PACKAGES = {"static", "templates", "migrations", "versions", "__pycache__"}  # data, Alembic scripts


def import_graph():
    return grimp.build_graph(*PACKAGES, include_external_packages=False)


def cycles(graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(start: str) -> None:  # iterative: the graph is deep enough to matter for recursion
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_import_cycle():
    graph = import_graph()
    assert len(graph.modules) > 100  # the walk sees duban
    assert cycles(graph) == []


def _is_module(dotted: str) -> bool:
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def private_uses(path: Path) -> list[str]:
    """`from duban.x import _name`, and `m._name` where `m` is another of duban's modules imported by name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    modules: dict[str, str] = {}  # local name → the duban module it is bound to
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PACKAGES:
            for alias in node.names:
                if alias.name.startswith("_"):
                    found.append(f"{where}:{node.lineno} {node.module}.{alias.name}")
                elif _is_module(f"{node.module}.{alias.name}"):
                    modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PACKAGES and alias.asname:
                    modules[alias.asname] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            found.append(f"{where}:{node.lineno} {modules[node.value.id]}.{node.attr}")
    return found


def test_no_module_imports_another_modules_private_names():
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            offenders += private_uses(path)
    assert offenders == []


def test_a_private_name_reached_through_its_module_is_caught(tmp_path):
    """`from duban.services import dispatch` then `dispatch._COLUMNS` is the same reach as importing `_COLUMNS`."""
    sample = tmp_path / "reach.py"
    sample.write_text(
        "from duban.services import dispatch\n"
        "import duban.store.codec as codec\n\n"
        "x = dispatch._COLUMNS\ny = codec._SQLITE_FORMAT\nz = dispatch.__name__\n",
        encoding="utf-8",
    )
    assert [entry.split(" ", 1)[1] for entry in private_uses(sample)] == [
        "duban.services.dispatch._COLUMNS",
        "duban.store.codec._SQLITE_FORMAT",
    ]


def test_every_folder_of_code_is_a_package():
    loose = [
        str(folder.relative_to(ROOT))
        for package in PACKAGES
        for folder in (ROOT / package).rglob("*")
        if folder.is_dir()
        and not NOT_PACKAGES & set(folder.relative_to(ROOT).parts)
        and not (folder / "__init__.py").exists()
    ]
    assert loose == []


def test_few_top_level_modules():
    top = sorted(p.name for p in (ROOT / "duban").glob("*.py"))
    assert top == ["__init__.py", "errors.py", "instants.py", "settings.py"]
