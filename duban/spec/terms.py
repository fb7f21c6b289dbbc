"""The small words of the spec language: offsets, references, due instants, times of day.

offset   "3 working days" · "3个工作日" · "1 day" · "1天" · "12 hours" · "12小时" (signed: "-2 days")
ref      event:<id> · stage:<id> (its end) · stage:<id>.start · item:<id> (its due) · campaign.start/.end
due      2024-05-25 (end of that day unless defaults.due_time says otherwise)
         2021-12-05 12:00 · 2021-12-05T12:00+08:00
         {after: event:open_day, offset: 5 working days, at: "17:00"} · {before: stage:city_check, offset: 3 days}
         in the notice's words: 7月份 · 5月中旬 · 6月底前 · 7月15日 · 次年1月15日前 (see duban.spec.words)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time
from enum import Enum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    InstanceOf,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from duban.instants import parse_clock
from duban.spec.words import WORDS_HINT, WordDate, looks_like_words, split_range


class OffsetUnit(str, Enum):
    working_days = "working_days"
    days = "days"
    hours = "hours"
    minutes = "minutes"


_UNIT_WORDS = [
    (OffsetUnit.working_days, r"(?:working\s*days?|work\s*days?|wd|个?工作日)"),
    (OffsetUnit.days, r"(?:days?|d|天|日|个?自然日)"),
    (OffsetUnit.hours, r"(?:hours?|h|个?小时)"),
    (OffsetUnit.minutes, r"(?:minutes?|mins?|m|分钟)"),
]
_OFFSET_RE = re.compile(r"^\s*([+-]?)\s*(\d{1,12})\s*(\S.{0,40}?)\s*$")
OFFSET_HINT = 'write an offset such as "3 working days", "1 day", "12 hours", "3个工作日" or "1天"'
OFFSET_LIMITS = {"working_days": 2_500, "days": 3_660, "hours": 3_660 * 24, "minutes": 3_660 * 24 * 60}
"""No notice counts further than about ten years (2,500 working days): a larger offset is a typo, and would
otherwise run the calendar for minutes or past the year 9999."""


@dataclass(frozen=True)
class Offset:
    """A signed amount of working days, calendar days, hours or minutes."""

    amount: int
    unit: OffsetUnit

    def __str__(self) -> str:
        words = {"working_days": "个工作日", "days": "天", "hours": "小时", "minutes": "分钟"}
        return f"{self.amount}{words[self.unit.value]}"

    @classmethod
    def parse(cls, value: Any) -> Offset:
        if isinstance(value, Offset):
            return value
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValueError(f"{value!r} is not an offset; {OFFSET_HINT}")
        if isinstance(value, int):
            return cls(value, OffsetUnit.days).bounded(value)
        match = _OFFSET_RE.match(value)
        if match:
            sign, number, word = match.groups()
            for unit, pattern in _UNIT_WORDS:
                if re.fullmatch(pattern, word, flags=re.IGNORECASE):
                    amount = int(number)
                    return cls(-amount if sign == "-" else amount, unit).bounded(value)
        shown = value if len(value) <= 40 else value[:40] + "…"
        raise ValueError(f"{shown!r} is not an offset; {OFFSET_HINT}")

    def bounded(self, written: Any = None) -> Offset:
        """This offset, when it is within what a notice can mean (OFFSET_LIMITS); else a ValueError saying so."""
        limit = OFFSET_LIMITS[self.unit.value]
        if abs(self.amount) > limit:
            words = self.unit.value.replace("_", " ")
            raise ValueError(
                f"{written if written is not None else self}: an offset is at most {limit:,} {words} "
                "(about ten years); no notice counts further"
            )
        return self


OFFSET_SCHEMA = {
    "anyOf": [{"type": "string"}, {"type": "integer"}],
    "description": "an offset: " + OFFSET_HINT.removeprefix("write an offset such as "),
    "examples": ["3 working days", "1 day", "12 hours", "3个工作日", "1天"],
}
OffsetField = Annotated[
    Offset, BeforeValidator(Offset.parse), PlainSerializer(str, return_type=str), WithJsonSchema(OFFSET_SCHEMA)
]


def counts_forward(what: str, *, zero: bool = True) -> AfterValidator:
    """A check for an offset that only counts one way (a reminder before the due, a 催办 after it, a stage's
    length): a minus sign is an error at the offset's own line, saying `what` the offset means."""

    def check(value: Offset) -> Offset:
        if value.amount < 0 or (value.amount == 0 and not zero):
            amount = abs(value.amount) or 1
            unit = value.unit.value.replace("_", " ")
            raise ValueError(
                f"{value} is {'negative' if value.amount < 0 else 'zero'}: {what}; write a positive amount "
                f"such as {amount} {unit[:-1] if amount == 1 else unit}"
            )
        return value

    return AfterValidator(check)


def _clock(value: Any) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(f'{value!r} is not a time of day (quote it: "17:30")')
    return parse_clock(str(value))


ClockTime = Annotated[
    time,
    BeforeValidator(_clock),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d{1,2}:\d{2}$", "examples": ["08:30", "17:00"]}),
]

_REF_RE = re.compile(r"^(event|stage|item):([A-Za-z0-9_\-]+)(?:\.(start|end))?$|^campaign\.(start|end)$")
REF_HINT = (
    "write event:<id>, stage:<id> (its end), stage:<id>.start, item:<id> (its due), campaign.start or campaign.end"
)


@dataclass(frozen=True)
class Ref:
    """A reference to another instant of the campaign."""

    kind: str  # event | stage | item | campaign
    target: str  # the id ('' for campaign)
    edge: str  # start | end

    def __str__(self) -> str:
        if self.kind == "campaign":
            return f"campaign.{self.edge}"
        suffix = ".start" if self.edge == "start" else ""
        return f"{self.kind}:{self.target}{suffix}"

    @classmethod
    def parse(cls, value: Any) -> Ref:
        if isinstance(value, Ref):
            return value
        match = _REF_RE.match(str(value).strip()) if isinstance(value, str) else None
        if not match:
            raise ValueError(f"{value!r} is not a reference; {REF_HINT}")
        kind, target, edge, campaign_edge = match.groups()
        if campaign_edge:
            return cls("campaign", "", campaign_edge)
        return cls(kind, target, edge or "end")


RefField = Annotated[
    Ref,
    BeforeValidator(Ref.parse),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": _REF_RE.pattern, "description": REF_HINT}),
]

_DATE_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DATETIME_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:?\d{2})?$")
DUE_HINT = (
    "write a date (2024-06-30), a date and time (2024-06-30 17:00), "
    "a relative due such as {after: event:open_day, offset: 5 working days}, " + WORDS_HINT
)


FIRST_YEAR, LAST_YEAR = 1900, 2199
"""The years a notice's dates may lie in. Beyond them a date is a typo (9999-12-31), and counting from it
would run past what a date can hold."""


def parse_date(value: Any) -> date:
    """'2024-06-30' → date; '2024-06-31' → ValueError '2024-06-31 is not a date'; years 1900–2199 only."""
    if isinstance(value, date):
        return in_years(value, value)
    match = _DATE_RE.match(str(value).strip()) if isinstance(value, str) else None
    if not match:
        shown = value if not isinstance(value, str) or len(value) <= 40 else value[:40] + "…"
        raise ValueError(f"{shown!r} is not a date (write it as 2024-06-30)")
    try:
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        raise ValueError(f"{value} is not a date (that day does not exist)") from None
    return in_years(day, value)


def in_years(day: date, written: Any) -> date:
    """`day` when its year lies between FIRST_YEAR and LAST_YEAR; else a ValueError that says the bound."""
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValueError(f"{written}: a notice's dates lie between {FIRST_YEAR} and {LAST_YEAR}")
    return day


SpecDate = Annotated[
    date,
    BeforeValidator(parse_date),
    PlainSerializer(lambda d: d.isoformat(), return_type=str),
    WithJsonSchema({"type": "string", "format": "date", "examples": ["2024-05-13"]}),
]


class AbsoluteDue(BaseModel):
    """A written date, or date and time, in the campaign's zone (or with its own UTC offset)."""

    model_config = ConfigDict(frozen=True)

    day: date
    clock: time | None = None
    utc_offset: str | None = None  # '+08:00' when the spec wrote one

    @classmethod
    def parse(cls, value: Any) -> AbsoluteDue:
        text = str(value).strip()
        if _DATE_RE.match(text):
            return cls(day=parse_date(text))
        match = _DATETIME_RE.match(text)
        if not match:
            raise ValueError(f"{value!r} is not a date or time; {DUE_HINT}")
        year, month, day, hour, minute, _sec, offset = match.groups()
        day_value = parse_date(f"{year}-{month}-{day}")
        clock = parse_clock(f"{hour}:{minute}")
        if offset and offset != "Z" and ":" not in offset:
            offset = f"{offset[:3]}:{offset[3:]}"
        if offset and offset != "Z" and (int(offset[1:3]) > 14 or int(offset[4:6]) > 59):
            raise ValueError(f"{value!r}: the UTC offset {offset} does not exist (they run from -12:00 to +14:00)")
        return cls(day=day_value, clock=clock, utc_offset="+00:00" if offset == "Z" else offset)

    def __str__(self) -> str:
        text = self.day.isoformat()
        if self.clock is not None:
            text += f" {self.clock:%H:%M}"
        return text + (self.utc_offset or "")


class RelativeDue(BaseModel):
    """An instant counted from another one: after or before a reference by an offset."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    after: RefField | None = Field(default=None, description="the instant counted from: " + REF_HINT)
    before: RefField | None = Field(default=None, description="the instant counted back from")
    offset: OffsetField = Field(default=Offset(0, OffsetUnit.days), description=OFFSET_HINT)
    at: ClockTime | None = Field(default=None, description='time of day of the result, e.g. "17:00"')

    @field_validator("offset")
    @classmethod
    def _counts_one_way(cls, value: Offset, info: ValidationInfo) -> Offset:
        """`after:` counts forward and `before:` back: a minus sign would be dropped, so it is an error."""
        if value.amount >= 0:
            return value
        amount, unit = -value.amount, value.unit.value.replace("_", " ")
        written = f"{amount} {unit[:-1] if amount == 1 else unit}"
        after, before = info.data.get("after"), info.data.get("before")
        if after is not None:
            turn = f"`after:` counts forward; for {written} before {after} write `before: {after}, offset: {written}`"
        elif before is not None:
            turn = f"`before:` counts back; for {written} after {before} write `after: {before}, offset: {written}`"
        else:
            turn = f"`after:` counts forward and `before:` back; write a positive amount such as {written}"
        raise ValueError(f"{value} is negative: {turn}")

    @model_validator(mode="after")
    def _one_anchor(self) -> RelativeDue:
        if (self.after is None) == (self.before is None):
            raise ValueError("a relative due has exactly one of `after:` or `before:`")
        return self

    @property
    def anchor(self) -> Ref:
        return self.after if self.after is not None else self.before  # type: ignore[return-value]

    @property
    def signed_offset(self) -> Offset:
        sign = -1 if self.before is not None else 1
        return Offset(sign * abs(self.offset.amount), self.offset.unit)

    def __str__(self) -> str:
        word = "after" if self.after is not None else "before"
        text = f"{abs(self.offset.amount)} {self.offset.unit.value.replace('_', ' ')} {word} {self.anchor}"
        return text + (f" at {self.at:%H:%M}" if self.at else "")


def _due(value: Any) -> Any:
    if isinstance(value, (AbsoluteDue, RelativeDue, WordDate)):
        return value
    if isinstance(value, dict):
        return RelativeDue.model_validate(value)
    if isinstance(value, str) and looks_like_words(value):
        return words_due(value)
    if isinstance(value, (str, date)):
        return AbsoluteDue.parse(value if isinstance(value, str) else value.isoformat())
    raise ValueError(f"{value!r} is not a due; {DUE_HINT}")


def words_due(value: str) -> WordDate:
    """One date in the notice's words; a span (3月至10月) is refused here: it is a window."""
    text = value.strip()
    shown = text if len(text) <= 40 else text[:40] + "…"
    parts = split_range(text)
    if parts is not None and WordDate.parse(parts[1]) is not None:
        raise ValueError(
            f"{shown!r} is a span of time, not one instant: write it as a stage's `window:`, "
            f"or give its end ({parts[1]})"
        )
    found = WordDate.parse(text)
    if found is None:
        raise ValueError(f"{shown!r} is not a date duban can read; {DUE_HINT}")
    return found


WORDS_SCHEMA = {
    "type": "string",
    "pattern": "[月日]",
    "description": "a date in the notice's words (the spec's year unless written: 2024年7月, 次年1月)",
    "examples": ["7月份", "5月中旬", "6月底前", "7月15日", "次年1月15日前"],
}
DUE_SCHEMA = {
    "anyOf": [
        {
            "type": "string",
            "pattern": r"^\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:?\d{2})?)?$",
            "examples": ["2024-06-30", "2021-12-05 12:00", "2021-12-05T12:00+08:00"],
        },
        WORDS_SCHEMA,
        RelativeDue.model_json_schema(),
    ],
    "description": DUE_HINT,
}
Due = Annotated[
    AbsoluteDue | RelativeDue | InstanceOf[WordDate],
    BeforeValidator(_due),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(DUE_SCHEMA),
]
