"""The small words of a spec: offsets, references, dues and their error messages."""

from datetime import date, time

import pytest
from pydantic import ValidationError

from duban.spec.models import Campaign, Selector
from duban.spec.terms import AbsoluteDue, Offset, OffsetUnit, Ref, RelativeDue


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3 working days", Offset(3, OffsetUnit.working_days)),
        ("3个工作日", Offset(3, OffsetUnit.working_days)),
        ("1 day", Offset(1, OffsetUnit.days)),
        ("2天", Offset(2, OffsetUnit.days)),
        ("12 hours", Offset(12, OffsetUnit.hours)),
        ("12小时", Offset(12, OffsetUnit.hours)),
        ("-2 days", Offset(-2, OffsetUnit.days)),
    ],
)
def test_offsets_in_english_and_chinese(text, expected):
    assert Offset.parse(text) == expected


def test_a_bad_offset_says_what_to_write():
    with pytest.raises(ValueError, match="3 working days"):
        Offset.parse("three weeks")


def test_references():
    assert Ref.parse("event:open_day") == Ref("event", "open_day", "end")
    assert Ref.parse("stage:city_check.start") == Ref("stage", "city_check", "start")
    assert Ref.parse("campaign.end") == Ref("campaign", "", "end")
    with pytest.raises(ValueError, match="event:<id>"):
        Ref.parse("open_day")


def test_absolute_dues():
    assert AbsoluteDue.parse("2024-05-25") == AbsoluteDue(day=date(2024, 5, 25))
    noon = AbsoluteDue.parse("2021-12-05 12:00")
    assert noon.day == date(2021, 12, 5) and noon.clock == time(12, 0) and noon.utc_offset is None
    assert AbsoluteDue.parse("2021-12-05T12:00+0800").utc_offset == "+08:00"
    with pytest.raises(ValueError, match="2024-06-31 is not a date"):
        AbsoluteDue.parse("2024-06-31")


def test_relative_due_needs_exactly_one_anchor():
    due = RelativeDue.model_validate({"after": "event:open_day", "offset": "5 working days"})
    assert due.signed_offset == Offset(5, OffsetUnit.working_days)
    assert RelativeDue.model_validate({"before": "stage:x", "offset": "3 days"}).signed_offset.amount == -3
    with pytest.raises(ValidationError, match="exactly one"):
        RelativeDue.model_validate({"offset": "1 day"})


def test_selector_short_forms():
    assert Selector.model_validate("all").all
    assert Selector.model_validate("townships").ref == "townships"
    assert Selector.model_validate(140724).ref == "140724"
    union = Selector.model_validate(["counties", {"level": "乡"}])
    assert len(union.any_of) == 2 and union.any_of[1].level.value == "township"


def test_json_schema_is_generated():
    schema = Campaign.model_json_schema()
    assert {"id", "title", "issuer", "stages", "registry"} <= set(schema["properties"])
    assert "Item" in schema["$defs"] and "Sample" in schema["$defs"]


def test_every_spec_in_the_repository_matches_the_published_schema():
    """`duban schema` is what editors check specs against: it must accept every real spec and refuse typos."""
    import jsonschema

    from duban.spec.source import read_source
    from tests.conftest import SPECS

    schema = Campaign.model_json_schema()
    specs = sorted(SPECS.glob("*.yaml"))
    assert specs
    for path in specs:
        jsonschema.validate(read_source(path).data, schema)
    data = read_source(specs[0]).data
    data["stages"][0]["windw"] = data["stages"][0].pop("window", None)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)
