"""Property: whatever a spec says, loading, checking and planning it ends in a plan or in duban's SpecError
naming the spec's file (or a file in its folder), never in another exception (hypothesis draws the specs).

Two shapes of hostile input: any value (text with surrogates and control characters, huge or negative
numbers, nested lists and mappings) put at any place of the 晋中 spec; and runs of YAML's own characters
typed into its text. tests/integration/test_spec_fuzz.py runs the seeded mutator under a time and memory
limit; these run in-process, sixty examples each.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from duban.errors import CalendarGapError, SpecError
from duban.spec.every_error import validate_file
from duban.spec.source import read_source
from tests.conftest import JINZHONG, SPECS

_TEXT = JINZHONG.read_text(encoding="utf-8")
_DATA = read_source(JINZHONG).data


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


PATHS = [p for p in _paths(_DATA) if p]
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**31 - 2, max_value=2**64)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(
        [
            "9999-12-31",
            "0001-01-01",
            "2024-02-30",
            "3650000 days",
            "99999999 working days",
            "2147483648 minutes",
            "/dev/zero",
            "../../../../etc/passwd",
            "units",
            "event:nope",
            "stage:self_assessment",
            "item:self_report",
            "\ud800",
            "a\x00b",
            "all",
            "counties",
        ]
    )
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _check(text: str | bytes) -> None:
    folder = Path(tempfile.mkdtemp(prefix="duban-prop-"))
    try:
        shutil.copytree(SPECS / "units", folder / "units")
        path = folder / "drawn.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
        try:
            validate_file(path)
        except SpecError as exc:
            for error in getattr(exc, "errors", None) or [exc]:
                assert error.file and Path(error.file).resolve().is_relative_to(folder.resolve()), str(error)
            str(exc).encode("utf-8")  # the error prints
        except CalendarGapError:
            pass
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _put(data, path, value):
    data = yaml.safe_load(yaml.safe_dump(data, allow_unicode=True))  # a deep copy
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS), value=VALUES)
def test_any_value_anywhere_plans_or_is_a_spec_error(path, value):
    _check(yaml.safe_dump(_put(_DATA, path, value), allow_unicode=True, sort_keys=False))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    at=st.integers(min_value=0, max_value=len(_TEXT)),
    typed=st.lists(
        st.sampled_from(
            [
                *":-[]{}&*!|>'\"#%@`,? \t\n",
                "\ud800",
                "\x00",
                "&a ",
                "*a",
                "!!timestamp 2024-13-45 ",
                "\\ud800",
                "99999999 ",
                "9999-12-31",
            ]
        ),
        max_size=8,
    ).map("".join),
    cut=st.integers(min_value=0, max_value=40),
)
def test_yaml_characters_typed_anywhere_plan_or_are_a_spec_error(at, typed, cut):
    _check(_TEXT[:at] + typed + _TEXT[at + cut :])
