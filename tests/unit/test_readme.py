"""A newcomer follows README.md literally: its first section has two commands — the demo, and the one that installs
what the tests need and runs them — and CI runs exactly that second command."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def _commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## 两条命令 · Two commands", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.strip()]


def test_the_readme_has_two_commands_and_ci_runs_the_test_one():
    assert _commands() == ["uv run duban demo", "tests/run"]
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert ci == ['exec "$(dirname "$0")/../tests/run" "$@"']


def test_the_test_command_installs_every_debian_package_the_readme_names():
    script = (ROOT / "tests" / "run").read_text()
    readme = (ROOT / "README.md").read_text(encoding="utf-8").split("## 管理员怎么用", 1)[0]
    packages = [
        "chromium",
        "libreoffice-writer-nogui",
        "libreoffice-calc-nogui",
        "poppler-utils",
        "fonts-noto-cjk",
        "fonts-noto-color-emoji",
    ]
    for package in packages:
        assert f"need+=({package})" in script and f"`{package}`" in readme, package
    assert "uv sync --frozen" in script and 'pytest "$@"' in script
    assert (ROOT / "tests" / "run").stat().st_mode & 0o111, "tests/run is executable"
