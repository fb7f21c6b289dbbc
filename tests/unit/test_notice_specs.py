"""The notices of issue 25 in tests/specs (dates in words, stages ordered by each other, open samples, outcomes,
a chain of dues): each validates without an error, plans, and matches the published schema (`duban schema`)."""

from __future__ import annotations

import pytest

from duban.domain.plan import load_calendar_for
from duban.spec.checks import validate
from duban.spec.load import load_spec
from duban.spec.models import Campaign
from tests.conftest import ROOT

NOTICES = sorted((ROOT / "tests" / "specs").glob("*.yaml"))


def test_there_is_a_notice_for_each_form():
    assert [p.name for p in NOTICES] == [
        "jinzhong-2024-open-samples.yaml",
        "jinzhong-2024-stage-order.yaml",
        "xiyang-2024-amend-chain.yaml",
        "xiyang-2024-failed.yaml",
        "xiyang-2024-outcomes.yaml",
        "xiyang-2024-words.yaml",
        "yj-2026-safety.yaml",
        "zj-2025-gas.yaml",
    ]


@pytest.mark.parametrize("path", NOTICES, ids=lambda p: p.stem)
def test_each_notice_validates_plans_and_matches_the_schema(path):
    import jsonschema

    from duban.spec.source import read_source

    spec = load_spec(path)
    plan, warnings = validate(spec, load_calendar_for(spec))
    assert plan.assignments
    assert not [w for w in warnings if "no calendar covers" in w.message or "selects no unit" in w.message]
    jsonschema.validate(read_source(path).data, Campaign.model_json_schema())


def test_an_outcome_for_failing_units_needs_a_score_sheet(tmp_path):
    """`when: failed` is decided by a 评分表: a spec without one is told so at the outcome's line."""
    from duban.errors import SpecError

    text = (ROOT / "tests" / "specs" / "xiyang-2024-outcomes.yaml").read_text(encoding="utf-8")
    old = "- {when: late, do: 通报批评}"
    line = text[: text.index(old)].count("\n") + 1
    path = tmp_path / "failed-unscored.yaml"
    path.write_text(text.replace(old, "- {when: failed, do: 通报批评}"), encoding="utf-8")
    spec = load_spec(path)
    with pytest.raises(SpecError) as caught:
        validate(spec, load_calendar_for(spec))
    assert f"failed-unscored.yaml:{line} stages[0].items[0].outcomes[2].when" in str(caught.value)
    assert "no `score_sheets:`" in str(caught.value)


@pytest.mark.parametrize(
    ("rule", "field", "advice"),
    [
        ("{when: late, after: 3 working days, do: 通报批评}", "stages[0].items[0].outcomes[2].after", "when: overdue"),
        ("{when: failed, after: 2 days, do: 通报批评}", "stages[0].items[0].outcomes[0].after", "write `due:`"),
    ],
)
def test_an_after_that_only_overdue_counts_is_refused_at_its_line(tmp_path, rule, field, advice):
    """`after:` counts from the due only for `when: overdue`: on a late or failed outcome it used to be ignored
    silently (the 通报批评 came at once); `validate` now refuses it at its line, naming the field, with what to
    write instead."""
    from duban.errors import SpecError

    name = "xiyang-2024-failed.yaml" if "failed" in rule else "xiyang-2024-outcomes.yaml"
    old = "- {when: failed, do: 通报批评}" if "failed" in rule else "- {when: late, do: 通报批评}"
    text = (ROOT / "tests" / "specs" / name).read_text(encoding="utf-8")
    line = text[: text.index(old)].count("\n") + 1
    path = tmp_path / "after.yaml"
    path.write_text(text.replace(old, f"- {rule}"), encoding="utf-8")
    with pytest.raises(SpecError) as caught:  # refused by the model, beside the spec's other errors
        load_spec(path)
    assert f"after.yaml:{line} {field}: `after:` counts from the due only with `when: overdue`" in str(caught.value)
    assert advice in str(caught.value)


def test_an_after_in_the_defaults_is_refused_once_at_the_defaults(tmp_path):
    from duban.errors import SpecError

    text = (ROOT / "tests" / "specs" / "xiyang-2024-outcomes.yaml").read_text(encoding="utf-8")
    text = text.replace("groups:", "defaults:\n  outcomes: [{when: late, after: 1 days, do: 约谈}]\ngroups:", 1)
    path = tmp_path / "defaults.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value).count("defaults.outcomes[0].after:") == 1
