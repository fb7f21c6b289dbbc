"""ruff and mypy, as configured in pyproject.toml, pass over the tree (CI runs them through this test)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / command[0]), *command[1:]], cwd=ROOT, capture_output=True, text=True, timeout=900)


def test_ruff_finds_nothing():
    out = _run("ruff", "check", "--no-cache", ".")
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


def test_the_tree_is_formatted():
    """`ruff format` leaves every file as it is: one layout, and no line kept out of it by a skip marker."""
    out = _run("ruff", "format", "--check", "--no-cache", ".")
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    skips = subprocess.run(
        ["git", "grep", "-n", "# fmt: " + "skip", "--", "*.py"], cwd=ROOT, capture_output=True, text=True
    )
    assert skips.stdout == "", skips.stdout[-2000:]


def test_mypy_finds_nothing():
    out = _run("mypy")
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "Success" in out.stdout
