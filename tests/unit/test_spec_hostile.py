"""A spec is hostile input: whatever it says, duban answers with a SpecError naming the file and the line.

Each test here is one of issue 20's findings (11–16) or an administrator's error of issue 22; the ones that
took minutes or gigabytes on the old code (99999999 working days, a billion laughs, /dev/zero as the spec) run
under a time and memory limit in tests/integration/test_spec_fuzz.py.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from duban.errors import SpecError
from duban.services.lifecycle import plan_file
from duban.spec.load import load_spec
from tests.conftest import JINZHONG, SPECS

XIYANG = SPECS / "xiyang-2024-lookback.yaml"


def _spec(tmp_path: Path, old: str, new: str, *, base: Path = JINZHONG, name: str = "hostile.yaml") -> tuple[Path, int]:
    """A copy of a shipped spec (with its folders) with one change; its path and the changed line."""
    text = base.read_text(encoding="utf-8")
    assert text.count(old) >= 1, old
    for folder in ("units", "calendar"):
        if not (tmp_path / folder).exists():
            shutil.copytree(SPECS / folder, tmp_path / folder)
    shutil.copy(JINZHONG, tmp_path / JINZHONG.name)
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path, text[: text.index(old)].count("\n") + 1


def _error(action) -> SpecError:
    with pytest.raises(SpecError) as caught:
        action()
    return caught.value


def _all(error: SpecError) -> list[SpecError]:
    return list(getattr(error, "errors", None) or [error])


def _store(path: Path) -> None:
    """What the first tick does with a spec: plan it and store the plan (here in a throw-away SQLite)."""
    from duban.store.db import init_db
    from duban.store.engine import make_engine
    from duban.store.plans import store_plan

    spec, plan = plan_file(path)
    engine = make_engine("sqlite://")
    init_db(engine)
    try:
        store_plan(engine, spec, plan, now=datetime(2024, 5, 1, tzinfo=timezone.utc))
    finally:
        engine.dispose()


# 11. nesting and recursive aliases -------------------------------------------------------------------------------


def test_a_thousand_levels_of_nesting_is_an_error_at_its_line(tmp_path):
    path, line = _spec(tmp_path, "timezone: Asia/Shanghai", "timezone: " + "[" * 1000 + "]" * 1000)
    error = _error(lambda: load_spec(path))
    assert error.file == str(path) and error.line == line
    assert "nested more than 64 levels" in str(error)


def test_a_recursive_alias_is_an_error_at_its_line(tmp_path):
    path, line = _spec(tmp_path, "title: ", "x: &l [*l]\ntitle: ")
    error = _error(lambda: load_spec(path))
    assert error.file == str(path) and error.line == line
    assert "refers to a value that contains it" in str(error)


# 12. offsets and dates bounded to what a notice can mean --------------------------------------------------------


@pytest.mark.parametrize(
    "written, bound",
    [
        ("3650000 days", "3,660 days"),
        ("2147483648 minutes", "5,270,400 minutes"),
        ("99999999 working days", "2,500 working days"),
    ],
)
def test_an_offset_beyond_ten_years_is_an_error_that_says_the_bound(tmp_path, written, bound):
    path, line = _spec(tmp_path, '"1 day"]', f'"{written}"]')
    error = _error(lambda: plan_file(path))
    assert (error.file, error.line) == (str(path), line)
    assert f"an offset is at most {bound}" in str(error)


def test_a_negative_forward_buffer_is_an_error_not_read_as_a_positive_one(tmp_path):
    """`buffer: -2 working days` planned the county's roll-up 2 working days before the city's due, as `2 working
    days` does: the minus sign was dropped without a word (a tester's finding about a due's offset, here too)."""
    path, line = _spec(tmp_path, "buffer: 2 working days", "buffer: -2 working days", base=XIYANG)
    error = _error(lambda: plan_file(path))
    found = [e for e in _all(error) if e.path == "forward.buffer"]
    assert found and (found[0].file, found[0].line) == (str(path), line), str(error)
    assert "-2个工作日 is negative: each level is due this long before the one above it" in found[0].message


def test_a_window_ending_9999_12_31_is_an_error_that_says_the_years(tmp_path):
    path, line = _spec(
        tmp_path, "window: {start: 2024-05-10, end: 2024-06-30}", "window: {start: 2024-05-10, end: 9999-12-31}"
    )
    error = _error(lambda: plan_file(path))
    assert (error.file, error.line) == (str(path), line)
    assert "a notice's dates lie between 1900 and 2199" in str(error)


def test_relative_dues_counting_past_2199_are_an_error_at_the_due(tmp_path):
    """Each offset is within bounds, but they add up past the years a notice means: an error, not an overflow."""
    path, line = _spec(
        tmp_path,
        "window: {start: 2024-05-10, end: 2024-06-30}",
        "window: {start: 2195-05-10, end: 2195-06-30}\n"
        "events:\n  - {id: far, name: 远, at: {after: campaign.end, offset: 3660 days}}",
    )
    error = _error(lambda: plan_file(path))
    found = [e for e in _all(error) if "leaves the years 1900–2199" in e.message]
    assert found and found[0].file == str(path) and found[0].line == line + 2


# 14. files a spec names stay in its folder, bounded, never quoted -----------------------------------------------


@pytest.mark.parametrize(
    "overlay, said",
    [
        ("/dev/zero", "absolute path"),
        ("/dev/urandom", "absolute path"),
        ("/etc/passwd", "absolute path"),
        ("../../../../etc/shadow", "outside the spec's folder"),
        ("../../../../etc/passwd", "outside the spec's folder"),
        ("units", "is a folder"),
        ("units/../../x.yaml", "outside the spec's folder"),
    ],
)
def test_an_overlay_outside_the_folder_or_not_a_file_is_refused(tmp_path, overlay, said):
    path, line = _spec(tmp_path, "overlay: units/jinzhong.yaml", f"overlay: {overlay}")
    error = _error(lambda: plan_file(path))
    text = str(error)
    assert said in text
    assert "root:" not in text and "/bin/" not in text  # nothing of another file is quoted
    assert (error.file, error.line, error.path) == (str(path), line, "registry.overlay")


def test_an_overlay_larger_than_the_bound_is_refused_without_reading_it(tmp_path):
    path, line = _spec(tmp_path, "overlay: units/jinzhong.yaml", "overlay: units/huge.yaml")
    (tmp_path / "units" / "huge.yaml").write_bytes(b"# " + b"x" * (5 * 1024 * 1024))
    error = _error(lambda: plan_file(path))
    assert (error.file, error.line, error.path) == (str(path), line, "registry.overlay")
    assert "the overlay units/huge.yaml is 5,242,882 bytes: an overlay file is at most 4 MB" in str(error)


@pytest.mark.parametrize(
    "upper, said",
    [
        ("/etc/passwd", "absolute path"),
        ("../../../../etc/passwd", "outside the spec's folder"),
        (".", "is a folder"),
        ("/dev/zero", "absolute path"),
    ],
)
def test_a_forward_of_a_file_outside_the_folder_is_refused(tmp_path, upper, said):
    path, line = _spec(tmp_path, "of: jinzhong-2024-lookback.yaml", f"of: {upper}", base=XIYANG)
    error = _error(lambda: plan_file(path))
    found = [e for e in _all(error) if e.path == "forward.of"]
    assert found and found[0].line == line and found[0].file == str(path)
    assert said in found[0].message and "root:" not in str(error)


def test_a_spec_that_is_a_device_or_a_folder_is_refused(tmp_path):
    assert "not a regular file" in str(_error(lambda: load_spec("/dev/null")))
    assert "is a folder" in str(_error(lambda: load_spec(tmp_path)))


# 15. text no database or terminal takes ---------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["title", "issuer"])
def test_a_lone_surrogate_in_a_title_or_issuer_is_an_error_at_its_line(tmp_path, field):
    old = {"title": 'title: 统计基层基础工作规范化建设"回头看"', "issuer": "issuer: 晋中市统计局"}[field]
    path, line = _spec(tmp_path, old, f'{field}: "晋中\\ud800统计"')
    error = _error(lambda: _store(path))
    assert (error.file, error.line, error.path) == (str(path), line, field)
    assert "\\ud800" in str(error) and "UTF-16" in str(error)
    str(error).encode("utf-8")  # the error itself prints


def test_a_nul_byte_in_text_is_an_error_at_its_line(tmp_path):
    path, line = _spec(tmp_path, "issuer: 晋中市统计局", 'issuer: "晋中\\x00市统计局"')
    error = _error(lambda: _store(path))
    assert (error.line, error.path) == (line, "issuer") and "control character \\x00" in str(error)


def test_an_explicit_timestamp_that_does_not_exist_is_an_error_at_its_line(tmp_path):
    path, line = _spec(tmp_path, "issued_on: 2024-05-13", "issued_on: !!timestamp 2024-13-45")
    error = _error(lambda: load_spec(path))
    assert (error.file, error.line) == (str(path), line) and "2024-13-45 is not a date" in str(error)


# 16. what would fail only when stored -------------------------------------------------------------------------


def test_a_stage_id_used_twice_is_an_error_at_the_second(tmp_path):
    path, line = _spec(tmp_path, "  - id: county_check\n", "  - id: self_assessment\n")
    error = _error(lambda: _store(path))
    found = [e for e in _all(error) if "stage id 'self_assessment' is used twice" in e.message]
    assert found and (found[0].file, found[0].line) == (str(path), line)


def test_an_item_id_used_twice_in_two_stages_is_an_error_at_the_second(tmp_path):
    path, line = _spec(tmp_path, "- id: county_report", "- id: self_report")
    error = _error(lambda: _store(path))
    found = [e for e in _all(error) if "item id 'self_report' is used twice" in e.message]
    assert found and found[0].line == line and "stages[0].items[1]" in found[0].message


def test_ids_differing_only_in_case_are_an_error_at_the_second(tmp_path):
    """`s1` and `S1` were two stages (and `i1`/`I1` two items): an operator typing either in the CLI or a clerk
    reading a list cannot tell them apart."""
    path, line = _spec(tmp_path, "  - id: county_check\n", "  - id: Self_Assessment\n")
    error = _error(lambda: _store(path))
    found = [e for e in _all(error) if "'Self_Assessment'" in e.message]
    assert found and (found[0].file, found[0].line) == (str(path), line), _all(error)
    assert "differs from 'self_assessment'" in found[0].message and "only in case" in found[0].message


@pytest.mark.parametrize(("written", "quoted"), [("yes", "'yes'"), ("2024", "'2024'")])
def test_a_title_yaml_reads_as_a_bool_or_a_number_says_to_quote_it(tmp_path, written, quoted):
    """`title: yes` said only "expected text, got bool True" (YAML 1.1 reads yes/no as true/false)."""
    path, line = _spec(tmp_path, '\ntitle: 统计基层基础工作规范化建设"回头看"\n', f"\ntitle: {written}\n")
    error = _error(lambda: load_spec(path))
    found = [e for e in _all(error) if e.path == "title"]
    assert found and found[0].line == line + 1, _all(error)
    assert f"write it in quotes, title: {quoted}" in str(found[0]), str(found[0])


@pytest.mark.parametrize("seed", [2**63, 2**31])
def test_a_seed_the_database_cannot_hold_is_an_error_at_its_line(tmp_path, seed):
    path, line = _spec(tmp_path, "seed: 20240525", f"seed: {seed}")
    error = _error(lambda: _store(path))
    assert (error.file, error.line, error.path) == (str(path), line, "samples[0].seed")


def test_the_largest_seed_is_stored(tmp_path):
    path, _line = _spec(tmp_path, "seed: 20240525", f"seed: {2**31 - 1}")
    _store(path)


# issue 22: a bad format in a follow-up, and every error in one run -------------------------------------------


def test_a_bad_follow_up_format_is_an_error_at_its_line(tmp_path):
    path, line = _spec(tmp_path, "      formats: [docx, pdf]", "      formats: [docx, pfd]")
    error = _error(lambda: load_spec(path))
    assert (error.file, error.line, error.path) == (str(path), line, "score_sheets[0].follow_up.formats")
    assert "unknown file format 'pfd'" in str(error)


def test_every_error_of_a_file_comes_in_one_run(tmp_path):
    """A key twice, a bad follow-up format, a day that does not exist and a group that names nothing: one
    `duban plan` names all four, each at its line (the old code showed them in four runs, one a traceback)."""
    text = JINZHONG.read_text(encoding="utf-8")
    changes = [
        ("      formats: [docx, pdf]", "      formats: [docx, pfd]"),
        ("        formats: [xlsx, pdf]\n", "        formats: [xlsx, pdf]\n        formats: [xlsx]\n"),
        ("window: {start: 2024-05-25, end: 2024-06-10}", "window: {start: 2024-05-25, end: 2024-06-31}"),
        ("        units: design_office", "        units: design_ofice"),
    ]
    for old, new in changes:
        text = text.replace(old, new, 1)
    lines = [text[: text.index(new)].count("\n") + 1 for _old, new in changes]
    shutil.copytree(SPECS / "units", tmp_path / "units")
    path = tmp_path / "rounds.yaml"
    path.write_text(text, encoding="utf-8")
    errors = _all(_error(lambda: plan_file(path)))
    said = {(e.line, e.path): e.message for e in errors}
    assert said[(lines[0], "score_sheets[0].follow_up.formats")].startswith("unknown file format 'pfd'")
    assert "appears twice" in said[(lines[1] + 1, "stages[0].items[0].formats")]
    assert said[(lines[2], "stages[1].window.end")] == "2024-06-31 is not a date (that day does not exist)"
    assert [m for (line, _p), m in said.items() if "'design_ofice' is neither a group" in m and line == lines[3] - 2]
    assert len(errors) == 4


# found by the mutator: an empty unit reference used to end in a raw pydantic traceback -----------------------


def test_an_empty_submit_to_is_free_text_not_a_traceback(tmp_path):
    path, _line = _spec(tmp_path, "      - id: self_report\n", "      - id: self_report\n        submit_to: ''\n")
    from duban.domain.plan import load_calendar_for
    from duban.spec.checks import validate

    spec = load_spec(path)
    _plan, warnings = validate(spec, load_calendar_for(spec))
    assert any("submit_to: no unit '' in the registry" in str(w) for w in warnings)


def test_an_empty_escalation_target_is_an_error_at_its_line(tmp_path):
    path, line = _spec(tmp_path, "    to: [parent, leader]", "    to: [parent, '']")
    error = _error(lambda: plan_file(path))
    assert (error.file, error.line) == (str(path), line)
    assert "'' is none of parent, leader, unit, a group" in str(error)


def test_a_recurring_item_over_more_than_ten_years_is_an_error_at_the_item(tmp_path):
    """A window typed 2035 instead of 2020 would plan 186 monthly reports per unit; ten years is the bound."""
    shandong = SPECS / "shandong-2020-open-government.yaml"
    path, _line = _spec(
        tmp_path,
        "window: {start: 2020-07-08, end: 2020-12-31}",
        "window: {start: 2020-07-08, end: 2035-12-31}",
        base=shandong,
    )
    errors = _all(_error(lambda: plan_file(path)))
    found = [e for e in errors if "a recurring item's window spans at most 10 years" in e.message]
    assert found and all(e.file == str(path) and e.line is not None and ".items[" in e.path for e in found)


def test_an_id_longer_than_the_database_keeps_is_an_error_at_its_line(tmp_path):
    """PostgreSQL keeps ids in 80 characters: a 10,000-character stage id used to fail only when stored there."""
    path, line = _spec(tmp_path, "  - id: self_assessment\n", f"  - id: {'s' * 10_000}\n")
    error = _error(lambda: load_spec(path))
    assert (error.line, error.path) == (line, "stages[0].id") and "an id of 10000 characters: at most 64" in str(error)


def test_a_merge_key_or_a_tag_is_said_as_such_not_as_an_indentation_problem(tmp_path):
    """`<<: *fmt` was refused as "could not determine a constructor for the tag 'tag:yaml.org,2002:merge'" with the
    hint to check the indentation: a clerk went looking for a wrong indent (an outside tester's finding)."""
    path, line = _spec(
        tmp_path, "timezone: Asia/Shanghai", "defaults: &d {a: 1}\nmerged:\n  <<: *d\ntimezone: Asia/Shanghai"
    )
    error = _error(lambda: load_spec(path))
    assert error.file == str(path) and error.line == line + 2
    assert "a merge key (`<<: *name`) is not read in specs" in str(error) and "indentation" not in str(error)
    path, line = _spec(tmp_path, "timezone: Asia/Shanghai", "timezone: !!python/object:os.system Asia/Shanghai")
    error = _error(lambda: load_spec(path))
    assert error.line == line and "is not read in specs: they hold plain values" in str(error)
    assert "indentation" not in str(error)
    for tagged in ('!!python/object/apply:os.system ["touch /tmp/x"]', "!!python/object:builtins.dict {a: 1}"):
        # on a list or a map the tag was dropped in silence and the value read (a second tester's finding)
        path, line = _spec(tmp_path, "timezone: Asia/Shanghai", f"timezone: {tagged}")
        error = _error(lambda path=path: load_spec(path))
        assert error.line == line and "is not read in specs: they hold plain values" in str(error), str(error)


@pytest.mark.parametrize(
    ("old", "new", "where", "code"),
    [
        ('title: 统计基层基础工作规范化建设"回头看"', 'title: "统计基层基础工作\\u202e规范化建设"', "title", "U+202E"),
        (
            "        name: 自查评分表",
            '        name: "自查评分表\\u2028伪造：同意延期"',
            "stages[0].items[0].name",
            "U+2028",
        ),
        # a soft hyphen and a private-use character, refused by the portal's forms, were taken (a tester's finding)
        ('title: 统计基层基础工作规范化建设"回头看"', 'title: "统计基层基础\u00ad工作规范化建设"', "title", "U+00AD"),
        ("        name: 自查评分表", '        name: "自查评分表\ue000"', "stages[0].items[0].name", "U+E000"),
    ],
)
def test_a_spec_text_with_a_direction_override_or_line_separator_is_an_error_at_its_line(
    tmp_path, old, new, where, code
):
    """U+202E in a title reads the rest backwards in every message, U+2028 starts a line a phone shows as duban's
    own; the portal and the 名录 import refused them, a spec took them (an outside tester's finding)."""
    path, line = _spec(tmp_path, old, new)
    said = str(_error(lambda: load_spec(path)))
    assert f"hostile.yaml:{line} {where}: holds {code}, an invisible or text-direction character" in said, said


def test_an_overlay_unit_name_or_title_with_a_direction_override_is_an_error_at_its_line(tmp_path):
    """`乐平镇\\u202e站计统` reads as another unit in every message, the portal, the 通报 and the 汇总表; a spec's text
    and a 名录 name refused it, an overlay's `units:` name and `patch:` title took it (an outside tester's finding)."""
    path, _ = _spec(tmp_path, "id: jinzhong-2024-lookback", "id: jinzhong-2024-lookback")
    overlay = tmp_path / "units" / "jinzhong.yaml"
    text = overlay.read_text(encoding="utf-8")
    text = text.replace("    name: 设管科\n", '    name: "设管\\u202e科"\n', 1)
    text = text.replace("patch:\n", 'patch:\n  "140724100": {title: "乐平\\u2067镇统计站"}\n', 1)
    overlay.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    said = str(_error(lambda: plan_file(path)))
    name_line = lines.index('    name: "设管\\u202e科"') + 1
    title_line = next(i for i, line in enumerate(lines, 1) if "\\u2067" in line)
    assert f"jinzhong.yaml:{name_line} units[1].name: holds U+202E, an invisible or text-direction" in said, said
    assert f"jinzhong.yaml:{title_line} patch.140724100.title: holds U+2067" in said, said


def test_every_error_of_an_overlay_comes_in_one_run(tmp_path):
    """A NUL in a unit's code, a channel written as a URL in a patch, a unit under a parent nobody has and a patch of
    `../140724`: the old code said them in three runs (the NUL, then the URL, then the rest), and the patch's path
    as `patch.….….…`, then as `patch.…` (an outside tester's findings): a key of digits, dots, slashes and
    hyphens (a code mistyped as a path) is no secret, and is shown as written."""
    path, _ = _spec(tmp_path, "id: jinzhong-2024-lookback", "id: jinzhong-2024-lookback")
    overlay = tmp_path / "units" / "jinzhong.yaml"
    text = overlay.read_text(encoding="utf-8")
    text = text.replace("  - code: 140700-bgs\n", '  - code: "140700-bgs\\0"\n', 1)
    text = text.replace(
        "patch:\n",
        "  - {code: 140700-tjk, name: 统计科, level: prefecture, parent: 140799}\n"
        'patch:\n  "140724": {channels: ["wecombot://0123456789abcdef"]}\n  "../140724": {contact: 张三}\n',
        1,
    )
    overlay.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    errors = _all(_error(lambda: plan_file(path)))
    said = {(e.line, e.path): e.message for e in errors}
    assert "control character \\x00" in said[(lines.index('  - code: "140700-bgs\\0"') + 1, "units[2].code")], said
    url = next(i for i, line in enumerate(lines, 1) if "wecombot" in line)
    assert "never a URL" in said[(url, "patch.140724.channels")], said
    assert "0123456789abcdef" not in str(errors)
    assert said[(url + 1, "patch.../140724")] == "no unit ../140724 in the registry to patch", said
    orphan = next(i for i, line in enumerate(lines, 1) if "140799" in line)
    assert said[(orphan, "units[3].parent")] == "parent unit 140799 is not in the registry", said


def test_an_item_with_thousands_of_reminders_is_an_error_at_its_line(tmp_path):
    """`reminders: ["1 hours", …, "2999 hours"]` validated ✓ (an outside tester's finding): a unit reminded every hour
    for four months. More than 50 reminders for one item is refused at the line."""
    many = ", ".join(f'"{n} hours"' for n in range(1, 3000))
    path, line = _spec(tmp_path, 'reminders: ["3 working days", "1 day"]', f"reminders: [{many}]")
    error = _error(lambda: load_spec(path))
    found = [e for e in _all(error) if "reminders" in (e.path or "")]
    assert found and (found[0].file, found[0].line) == (str(path), line), str(error)
    assert "2999 reminders for one item: at most 50" in found[0].message, found[0].message


def test_two_specs_forwarding_each_other_name_the_loop(tmp_path):
    """a.yaml forwarding b.yaml and b.yaml forwarding a.yaml: each was told "the upper campaign … cannot be planned
    (1 problem(s), the first at line 20)" and nobody named the loop (an outside tester's finding); a spec
    forwarding itself is named. The loop is named now, a → b → a."""
    a, line = _spec(tmp_path, "of: jinzhong-2024-lookback.yaml", "of: b.yaml", base=XIYANG, name="a.yaml")
    _spec(tmp_path, "of: jinzhong-2024-lookback.yaml", "of: a.yaml", base=XIYANG, name="b.yaml")
    error = _error(lambda: plan_file(a))
    found = [e for e in _all(error) if e.path == "forward.of"]
    assert found and (found[0].file, found[0].line) == (str(a), line), str(error)
    assert "a forward loop: a.yaml → b.yaml → a.yaml; a forward chain must end" in found[0].message, found[0].message


def test_a_secret_pasted_as_an_overlays_patch_key_is_said_in_no_error(tmp_path):
    """A bot key pasted where a unit's code belongs (`patch: {"693a91f6-…": …}`): the path of the error was `…`, but
    its words said `no unit 693a91f6-… in the registry to patch` in full. A key that is not code-like is `…` in
    the words too; a mistyped code stays as written (the test above)."""
    path, _ = _spec(tmp_path, "id: jinzhong-2024-lookback", "id: jinzhong-2024-lookback")
    overlay = tmp_path / "units" / "jinzhong.yaml"
    key = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
    text = overlay.read_text(encoding="utf-8").replace("patch:\n", f'patch:\n  "{key}": {{contact: 张三}}\n', 1)
    overlay.write_text(text, encoding="utf-8")
    errors = _all(_error(lambda: plan_file(path)))
    assert any("in the registry to patch" in e.message for e in errors), errors
    assert key not in str(errors) and "693a91f6" not in " ".join(e.message + str(e.path) for e in errors), errors
