"""Specs against the outside attacker's issue-20 findings in section 7 (and the 5,000-digit count): a forward item
rolling up into itself, a symlink inside the spec's folder pointing outside it (the overlay, forward.of, the
calendar beside the spec), errors about another file quoting it, Python's digit-limit hint, and `duban validate
FOLDER` going on past a spec that fails. Each is a SpecError naming the file and line, never a traceback."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from duban.errors import SpecError
from duban.services.lifecycle import plan_file
from duban.settings import get_settings
from tests.conftest import JINZHONG, SPECS

XIYANG = SPECS / "xiyang-2024-lookback.yaml"
SECRET_KEYS = "op_secret_login_7: {hash: x}\nop_secret_login_8: {hash: y}\n"  # what an operators file outside holds


def _folder(tmp_path: Path) -> Path:
    """A spec folder (the shipped specs with their units/ and calendar/) inside tmp_path; outside it a secret file."""
    folder = tmp_path / "specs"
    folder.mkdir()
    for sub in ("units", "calendar"):
        shutil.copytree(SPECS / sub, folder / sub)
    for spec in (JINZHONG, XIYANG):
        shutil.copy(spec, folder / spec.name)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "operators.yaml").write_text(SECRET_KEYS, encoding="utf-8")
    return folder


def _error(action) -> SpecError:
    with pytest.raises(SpecError) as caught:
        action()
    return caught.value


def _edit(path: Path, old: str, new: str) -> int:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


def test_a_forward_item_into_itself_is_an_error_at_its_line(tmp_path):
    folder = _folder(tmp_path)
    line = _edit(folder / XIYANG.name, "into: materials_rollup", "into: township_materials")
    error = _error(lambda: plan_file(folder / XIYANG.name))
    text = str(error)
    assert f"{folder / XIYANG.name}:{line - 1} forward.items[0]" in text, text  # the item's first line
    assert "`into` and `from` are both 'township_materials'" in text and "ValidationError" not in text


@pytest.mark.parametrize("target", ["outside/operators.yaml", "/etc/passwd", "/dev/zero"])
def test_an_overlay_symlink_pointing_outside_the_folder_is_refused_without_opening_it(tmp_path, target):
    folder = _folder(tmp_path)
    link = folder / "units" / "ops.yaml"
    link.symlink_to(tmp_path / target if not target.startswith("/") else target)
    line = _edit(folder / JINZHONG.name, "overlay: units/jinzhong.yaml", "overlay: units/ops.yaml")
    error = _error(lambda: plan_file(folder / JINZHONG.name))
    text = str(error)
    assert (error.file, error.line, error.path) == (str(folder / JINZHONG.name), line, "registry.overlay")
    assert "is a link to a file outside the spec's folder" in text
    assert "op_secret_login" not in text and "outside/" not in text and "passwd" not in text and "zero" not in text


def test_a_forward_of_through_a_symlinked_folder_is_refused_without_the_target(tmp_path):
    folder = _folder(tmp_path)
    (tmp_path / "outside" / JINZHONG.name).write_text(JINZHONG.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "upper").symlink_to(tmp_path / "outside", target_is_directory=True)
    _edit(folder / XIYANG.name, "of: jinzhong-2024-lookback.yaml", f"of: upper/{JINZHONG.name}")
    error = _error(lambda: plan_file(folder / XIYANG.name))
    found = [e for e in (getattr(error, "errors", None) or [error]) if e.path == "forward.of"]
    assert found and "is a link to a file outside the spec's folder" in found[0].message
    assert str(tmp_path / "outside") not in str(error)


def test_a_link_inside_the_folder_to_a_file_inside_it_is_followed(tmp_path):
    folder = _folder(tmp_path)
    (folder / "units" / "alias.yaml").symlink_to(folder / "units" / "jinzhong.yaml")
    _edit(folder / JINZHONG.name, "overlay: units/jinzhong.yaml", "overlay: units/alias.yaml")
    _spec, plan = plan_file(folder / JINZHONG.name)
    assert plan.assignments


def test_the_configured_root_admits_a_shared_folder(tmp_path, monkeypatch):
    folder = _folder(tmp_path)
    shutil.copy(folder / "units" / "jinzhong.yaml", tmp_path / "outside" / "jinzhong.yaml")
    (folder / "units" / "shared.yaml").symlink_to(tmp_path / "outside" / "jinzhong.yaml")
    _edit(folder / JINZHONG.name, "overlay: units/jinzhong.yaml", "overlay: units/shared.yaml")
    monkeypatch.setenv("DUBAN_SPEC_ROOT", str(tmp_path))
    get_settings.cache_clear()
    assert plan_file(folder / JINZHONG.name)[1].assignments


def test_a_calendar_beside_the_spec_linked_outside_is_refused(tmp_path):
    folder = _folder(tmp_path)
    os.remove(folder / "calendar" / "overrides.yaml")
    (folder / "calendar" / "overrides.yaml").symlink_to(tmp_path / "outside" / "operators.yaml")
    error = _error(lambda: plan_file(folder / JINZHONG.name))
    assert "calendar/overrides.yaml" in str(error) and "outside the spec's folder" in str(error)
    assert "op_secret_login" not in str(error)


def test_an_error_in_the_overlay_names_its_line_without_quoting_its_keys(tmp_path):
    folder = _folder(tmp_path)
    with (folder / "units" / "jinzhong.yaml").open("a", encoding="utf-8") as handle:
        handle.write("op_secret_login_7: {hash: x}\n")
    error = _error(lambda: plan_file(folder / JINZHONG.name))
    assert "units/jinzhong.yaml:" in str(error) and "op_secret_login" not in str(error), str(error)


def test_an_error_in_the_overlay_names_its_path_duban_s_choices_and_the_word_meant(tmp_path):
    """`level: villag` and a line's `bodies: {countty: …}` said only "`…` is not one of `…`, `…` …" with no field:
    the overlay's own text stays unquoted (a secret pasted there must not be repeated), but the path's known keys,
    the levels offered and the closest of them are duban's words, and are shown."""
    folder = _folder(tmp_path)
    with (folder / "units" / "jinzhong.yaml").open("a", encoding="utf-8") as handle:
        handle.write("lines:\n  civil: {name: 民政, bodies: {countty: '{name}民政局'}}\n")
    error = _error(lambda: plan_file(folder / JINZHONG.name))
    text = str(error)
    assert "lines.….bodies.…: `…` is not one of 'nation', 'province'" in text, text
    assert "did you mean 'county'?" in text and "countty" not in text and "civil" not in text, text


def test_an_error_in_the_upper_spec_is_not_quoted_by_the_forwarding_spec(tmp_path):
    folder = _folder(tmp_path)
    _edit(folder / JINZHONG.name, "title:", "op_secret_login_7: x\ntitle:")
    error = _error(lambda: plan_file(folder / XIYANG.name))
    found = [e for e in (getattr(error, "errors", None) or [error]) if e.path == "forward.of"]
    assert found and "cannot be planned (1 problem(s), the first at line" in found[0].message, str(error)
    assert "op_secret_login" not in str(error)


@pytest.mark.parametrize("digits", [31, 5000, 100_000])
def test_a_very_long_integer_is_a_clean_error_without_pythons_hint(tmp_path, digits):
    folder = _folder(tmp_path)
    line = _edit(folder / JINZHONG.name, "seed: ", f"seed: {'1' * digits}  # ")
    error = _error(lambda: plan_file(folder / JINZHONG.name))
    text = str(error)
    assert f":{line} " in text and "at most 30 characters" in text and "set_int_max_str_digits" not in text, text


def test_validate_folder_reports_every_spec_when_one_fails(tmp_path):
    from duban.cli.main import app

    folder = _folder(tmp_path)
    bad = folder / "a-self.yaml"
    shutil.copy(XIYANG, bad)
    _edit(bad, "into: materials_rollup", "into: township_materials")
    result = CliRunner().invoke(app, ["validate", str(folder)])
    assert result.exit_code == 1
    out = result.output
    assert "Traceback" not in out and "ValidationError" not in out, out
    assert "a-self.yaml" in out and "✓" in out and out.count("✓") >= 2, out  # both good specs still checked


def test_a_plan_over_the_bound_is_refused_before_it_is_expanded_with_its_arithmetic(tmp_path, monkeypatch):
    """The bound (20 million) lowered to 100 so that the shipped 晋中 spec (324 assignments) is over it."""
    import duban.domain.plan as planner

    built = []
    monkeypatch.setattr(planner, "MAX_ASSIGNMENTS", 100)
    monkeypatch.setattr(planner, "_expand", lambda *args: built.append(args))
    error = _error(lambda: plan_file(JINZHONG))
    text = str(error)
    assert not built  # refused before a single assignment was made
    assert "more than the 100 one campaign may have" in text and "units × 1 period(s) = " in text, text
    assert error.file == str(JINZHONG) and "split the notice" in (error.hint or "")


def test_the_bound_is_far_above_the_largest_campaigns_duban_plans():
    from duban.domain.plan import MAX_ASSIGNMENTS

    assert MAX_ASSIGNMENTS >= 100 * 166_272 and MAX_ASSIGNMENTS >= 4 * 4 * 1_000_000  # national; issue 24's 4 stages
