"""The domain never imports Prefect, Apprise or FastAPI; adapters and flows import the domain."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Adapters by path under duban/; migrations: Alembic scripts that duban.store.migrate runs, not modules to import
ADAPTERS = {
    ("cli", "main.py"),
    ("cli", "outbox.py"),
    ("simulation", "demo.py"),
    ("web",),
    ("notify", "apprise_notifier.py"),
    ("notify", "channels.py"),
    ("store", "migrations"),
}
FORBIDDEN = ("prefect", "apprise", "fastapi")


def _domain_modules():
    for path in sorted((ROOT / "duban").rglob("*.py")):
        relative = path.relative_to(ROOT / "duban")
        if any(relative.parts[: len(adapter)] == adapter for adapter in ADAPTERS):
            continue
        yield path


def test_no_domain_module_imports_a_framework():
    offenders = []
    for path in _domain_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_importing_the_domain_loads_no_framework():
    modules = [".".join(p.relative_to(ROOT).with_suffix("").parts) for p in _domain_modules()]
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules if not m.endswith("__init__"))
        + f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"
