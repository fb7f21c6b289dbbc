"""A broken spec gets an error naming file, line and YAML path, and what to write instead."""

import shutil
from pathlib import Path

import pytest

from duban.errors import SpecError
from duban.services.lifecycle import plan_file
from duban.spec.load import load_spec
from tests.conftest import JINZHONG, SPECS


def _broken(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """A copy of the 晋中 spec with one change; returns its path and the changed line number."""
    text = JINZHONG.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    shutil.copytree(SPECS / "units", tmp_path / "units")
    path = tmp_path / "broken.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    line = text[: text.index(old)].count("\n") + 1
    return path, line


def _error(action) -> SpecError:
    with pytest.raises(SpecError) as caught:
        action()
    return caught.value


def test_impossible_date_names_file_line_and_path(tmp_path):
    path, line = _broken(
        tmp_path, "window: {start: 2024-06-10, end: 2024-06-30}", "window: {start: 2024-06-10, end: 2024-06-31}"
    )
    error = _error(lambda: load_spec(path))
    text = str(error)
    assert f"broken.yaml:{line} stages[2].window.end" in text
    assert "2024-06-31 is not a date" in text


def test_unknown_key_suggests_the_right_one(tmp_path):
    path, line = _broken(
        tmp_path, "        formats: [xlsx, pdf]\n        minimum: 6", "        formats: [xlsx, pdf]\n        minimun: 6"
    )
    text = str(_error(lambda: load_spec(path)))
    assert f"broken.yaml:{line + 1} stages[1].items[0].minimun" in text
    assert "unknown key `minimun`" in text and "did you mean `minimum`?" in text


def test_missing_required_field(tmp_path):
    path, _ = _broken(tmp_path, "issuer: 晋中市统计局\n", "")
    first_key = JINZHONG.read_text(encoding="utf-8").split("\n").index("id: jinzhong-2024-lookback") + 1
    text = str(_error(lambda: load_spec(path)))
    assert f"broken.yaml:{first_key} issuer: `issuer` is required" in text


def test_bad_offset_says_what_to_write(tmp_path):
    path, line = _broken(tmp_path, 'reminders: ["3 working days", "1 day"]', 'reminders: ["3 weeks", "1 day"]')
    text = str(_error(lambda: load_spec(path)))
    assert f"broken.yaml:{line} defaults.reminders[0]: '3 weeks' is not an offset" in text
    assert '"3 working days"' in text


def test_yaml_syntax_error_has_a_line(tmp_path):
    path, line = _broken(tmp_path, "  townships: {level: township}", "  townships: {level: township")
    error = _error(lambda: load_spec(path))
    assert "not valid YAML" in str(error) and error.line is not None and error.line >= line


def test_duplicate_key_is_an_error_at_its_line(tmp_path):
    path, line = _broken(tmp_path, "timezone: Asia/Shanghai\n", "timezone: Asia/Shanghai\ntimezone: Asia/Urumqi\n")
    error = _error(lambda: load_spec(path))
    assert "appears twice" in str(error) and error.line == line + 1 and error.file.endswith("broken.yaml")
    # refused, so it does not claim one of the two is used; it points at the other
    assert f"first on line {line}" in str(error) and "is used" not in str(error), str(error)


def test_unknown_group_is_reported_where_it_is_used(tmp_path):
    path, line = _broken(
        tmp_path, "        units: counties\n        submit_to", "        units: countys\n        submit_to"
    )
    error = _error(lambda: plan_file(path))
    assert "stages[3].items[0]" in str(error) and "'countys' is neither a group" in str(error)


def test_a_groups_unknown_unit_is_reported_at_the_group_used_or_not(tmp_path):
    """An operator's typo in a group (140799 for 140729) is the group's fault, even before an item uses it, and is
    said once."""
    spare = "  spare: {units: [140799, 140702]}\n"
    path, line = _broken(tmp_path, "  design_office: 140700-sgk ", spare + "  design_office: 140700-sgk ")
    error = str(_error(lambda: plan_file(path)))
    assert f"broken.yaml:{line} groups.spare: no unit '140799' in the registry" in error, error

    (tmp_path / "used").mkdir()
    used, _ = _broken(
        tmp_path / "used", "        units: counties\n        submit_to", "        units: spare\n        submit_to"
    )
    used.write_text(used.read_text(encoding="utf-8").replace("groups:\n", "groups:\n" + spare, 1), encoding="utf-8")
    error = _error(lambda: plan_file(used))
    assert "groups.spare: no unit '140799'" in str(error), str(error)
    # one typo, one error: the item using the group says nothing more (it repeated the whole message)
    assert len(getattr(error, "errors", [error])) == 1 and "stages[3]" not in str(error), str(error)


def test_a_kind_no_unit_has_is_an_error_with_a_guess(tmp_path):
    """`kind: divison` selected nothing and only warned (items "select no unit"): the campaign lost its counties."""
    path, line = _broken(
        tmp_path, "counties: {level: county, kind: division}", "counties: {level: county, kind: divison}"
    )
    error = str(_error(lambda: plan_file(path)))
    assert f"broken.yaml:{line} groups.counties: no unit of kind 'divison' in this campaign" in error, error
    assert "did you mean 'division'?" in error, error


def test_sample_larger_than_its_pool_is_an_error(tmp_path):
    path, _ = _broken(tmp_path, "{from: counties, count: 6}", "{from: counties, count: 16}")
    error = _error(lambda: plan_file(path))
    assert "samples[1]" in str(error) and "asks for 16 units but only 11" in str(error)


def test_relative_due_cycle_is_named(tmp_path):
    path, _ = _broken(
        tmp_path,
        "        formats: [xlsx, docx, pdf]\n",
        "        formats: [xlsx, docx, pdf]\n        due: {after: item:materials_upload, offset: 1 day}\n",
    )
    error = _error(lambda: plan_file(path))
    assert "cycle" in str(error) and "item:materials_upload" in str(error)


def test_a_channel_url_in_an_overlay_is_refused(tmp_path):
    path, _ = _broken(tmp_path, "id: jinzhong-2024-lookback", "id: jinzhong-2024-lookback")
    overlay = tmp_path / "units" / "jinzhong.yaml"
    overlay.write_text(
        overlay.read_text(encoding="utf-8") + '  "140724":\n    channels: ["wecombot://0123456789abcdef"]\n',
        encoding="utf-8",
    )
    error = _error(lambda: plan_file(path))
    assert "jinzhong.yaml" in str(error) and "never a URL" in str(error)
    assert "0123456789abcdef" not in str(error)
