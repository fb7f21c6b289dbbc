"""What a campaign spec (one YAML per notice) can say. These models are what the YAML says, not what the
database keeps: `duban.domain.plan` turns them into assignments.

A spec names its issuer and document, the units (selectors over the registry), its stages with windows, the
items (报送事项) each unit owes with their dues, formats and counts, lead and cooperating units, key days and
events, samples for inspections, leaders who answer for units (包县区), and the reminder, escalation and
顺延 policies.
"""

from __future__ import annotations

import math
import re
from datetime import time
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import CoreSchema, PydanticCustomError

from duban.domain.calendar import Postpone
from duban.domain.units import LEVEL_ALIASES, Level
from duban.domain.values import METRIC_BOUND, as_text
from duban.instants import zone
from duban.spec.terms import (
    OFFSET_SCHEMA,
    WORDS_SCHEMA,
    ClockTime,
    Due,
    Offset,
    OffsetField,
    OffsetUnit,
    SpecDate,
    counts_forward,
)
from duban.spec.words import EVERY_HINT, WordDate, range_problem, recurrence_words, split_range

_ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")
ID_HINT = "an id is ASCII letters, digits, _ and -, starting with a letter (e.g. self_assessment)"


ID_MAX = 64
"""Ids are keys in the database (at most 80 characters there) and in links, artifacts and messages."""


def _id(value: Any) -> str:
    if not isinstance(value, str) or not _ID_RE.match(value):
        shown = value if not isinstance(value, str) or len(value) <= 40 else value[:40] + "…"
        raise ValueError(f"{shown!r} is not an id; {ID_HINT}")
    if len(value) > ID_MAX:
        raise ValueError(f"an id of {len(value)} characters: at most {ID_MAX}")
    return value


Id = Annotated[str, BeforeValidator(_id)]


def at_path(path: tuple[str | int, ...], message: str) -> PydanticCustomError:
    """An error a model raises about one of its parts: `duban.spec.load` places it at that part's line and path
    (a model's own errors would otherwise sit at the model's first line)."""
    return PydanticCustomError("spec_at", "{message}", {"message": message, "at": list(path)})


class Strict(BaseModel):
    """Spec models refuse unknown keys, so a typo is an error at its line, not a silent default."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _also(*shorthands: dict[str, Any]):
    """A JSON Schema hook: the model's object form plus the short forms its before-validator accepts."""

    def hook(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        full = handler(core_schema)
        forms = [dict(form) for form in shorthands]
        scalars = [form for form in forms if form.get("type") in ("string", "integer")]
        for form in forms:
            if form.get("items") == "self":  # a list of short or full forms (not nested further)
                form["items"] = {"anyOf": [*scalars, full]}
        return {"anyOf": [*forms, full]}

    return classmethod(hook)


def _level(value: Any) -> Any:
    if isinstance(value, str) and value in LEVEL_ALIASES:
        return LEVEL_ALIASES[value]
    return value


SpecLevel = Annotated[Level, BeforeValidator(_level)]


class Selector(Strict):
    """Which units: a group, a unit, a level under a parent, tags, a sample; unions and exclusions.

    Short forms: `all`, a group name, a unit code or name (string); a list is the union of its members.
    """

    ref: str | None = Field(default=None, description="a group name, a unit code or a unit name")
    all: bool = Field(default=False, description="every unit of the campaign's registry")
    level: SpecLevel | None = Field(default=None, description="province | prefecture | county | township (省/市/县/乡)")
    under: str | None = Field(default=None, description="only units below this unit (code or name)")
    units: list[str] = Field(default_factory=list, description="explicit unit codes or names")
    tags: list[str] = Field(default_factory=list, description="units carrying all these overlay tags")
    kind: str | None = Field(default=None, description="division | office | zone | center | enterprise")
    line: str | None = Field(default=None, description="only the bodies of this line (stats, housing …)")
    where: dict[str, list[str]] = Field(
        default_factory=dict, description="units whose attributes take one of these values, e.g. {risk: [高, 较高]}"
    )
    sample: str | None = Field(default=None, description="the units drawn by this sample (samples[].id)")
    any_of: list[Selector] = Field(default_factory=list, description="the union of these selectors")
    exclude: Selector | None = Field(default=None, description="minus these units")

    __get_pydantic_json_schema__ = _also(
        {"type": "string", "description": "all, a group name, a unit code or a unit name"},
        {"type": "integer", "description": "a division code"},
        {"type": "array", "items": "self", "description": "the union of these selectors"},
    )

    @model_validator(mode="before")
    @classmethod
    def _short_forms(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"all": True} if value.strip() in ("all", "全部") else {"ref": value}
        if isinstance(value, int) and not isinstance(value, bool):
            return {"ref": str(value)}
        if isinstance(value, list):
            return {"any_of": value}
        return value

    @field_validator("units", mode="before")
    @classmethod
    def _codes_as_text(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [str(v) if isinstance(v, int) else v for v in value]
        return value

    @field_validator("where", mode="before")
    @classmethod
    def _values_as_lists(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): [str(x) for x in (v if isinstance(v, list) else [v])] for k, v in value.items()}
        return value

    @field_validator("under", "ref", mode="before")
    @classmethod
    def _code_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _says_something(self) -> Selector:
        said = (
            self.ref,
            self.all,
            self.level,
            self.under,
            self.units,
            self.tags,
            self.kind,
            self.sample,
            self.any_of,
            self.line,
            self.where,
        )
        if not any(said):
            raise ValueError(
                "a selector must say which units (all, a group, level/under, units, tags, line, where or sample)"
            )
        return self


class Document(Strict):
    """A notice (文件): issuer, document number (文号), title, date."""

    issuer: str
    doc_no: str | None = Field(default=None, description="文号, e.g. 昔统字〔2024〕2号")
    title: str | None = None
    issued_on: SpecDate | None = None


class Rollup(Strict):
    """汇总: one item's submissions from the units below add up into another item (or a tally for a unit).

    Each unit holding `into` (or the tally's unit) is fed by the `from` submissions of exactly the units below
    it; one with none below is an error at validate. The `sum` metrics are added up. With `auto`, duban submits
    the roll-up for its unit when every feeding unit has finished.
    """

    id: Id
    name: str | None = None
    from_: Id = Field(alias="from", description="the item whose submissions are rolled up")
    into: Id | None = Field(default=None, description="the item they feed (its units roll up their units' submissions)")
    unit: str | None = Field(
        default=None, description="without `into`: the unit the tally is for (code, name or group)"
    )
    sum: list[str] = Field(default_factory=list, description="metrics of `from` added up")
    by: str | None = Field(
        default=None, description="also add them up per value of this unit attribute (risk, industry, size …)"
    )
    auto: bool = Field(default=False, description="submit the roll-up when every feeding unit has finished")

    @model_validator(mode="after")
    def _into_or_unit(self) -> Rollup:
        if (self.into is None) == (self.unit is None):
            raise ValueError("a roll-up feeds an item (`into:`) or tallies for a unit (`unit:`): give exactly one")
        if self.into == self.from_:
            raise ValueError(f"item {self.into!r} cannot roll up into itself")
        return self


class ForwardItem(Strict):
    """One upper item re-issued: the units below owe `from`, the re-issuing unit rolls it up as `into`."""

    upper: Id = Field(description="the upper campaign's item the re-issuing unit owes (市级截止)")
    into: Id = Field(description="our item the re-issuing unit owes: its roll-up, due one buffer before the upper due")
    from_: Id = Field(alias="from", description="our item its units owe, due one buffer before `into`")
    sum: list[str] = Field(default_factory=list, description="metrics of `from` added up")
    auto: bool = Field(default=False, description="submit the roll-up when every unit below has finished")

    @model_validator(mode="after")
    def _not_into_itself(self) -> ForwardItem:
        if self.into == self.from_:
            raise ValueError(
                f"`into` and `from` are both {self.into!r}: the units below owe `from`, the re-issuing unit "
                "rolls it up into another item `into`"
            )
        return self


class Forward(Strict):
    """转发: this campaign re-issues an upper one to the units below one unit, each level due earlier.

    The re-issuing unit's roll-up is due `buffer` before the upper due, its units' items `buffer` before
    that; when the roll-up is in, duban records it on the upper campaign's item for the re-issuing unit.
    """

    of: str = Field(description="the upper campaign's spec file, relative to this one")
    unit: str = Field(description="the re-issuing unit (code or name), in both registries")
    buffer: Annotated[OffsetField, counts_forward("each level is due this long before the one above it")] = Field(
        default=Offset(2, OffsetUnit.working_days), description="how much earlier each level is due"
    )
    items: list[ForwardItem] = Field(min_length=1)

    @field_validator("unit", mode="before")
    @classmethod
    def _code_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    def rollups(self) -> list[Rollup]:
        """The roll-ups the forward implies (`from` → `into`)."""
        # populated by name (from_): without pydantic's plugin mypy knows the field only by its alias `from`
        return [
            Rollup(id=f"forward_{i.into}", from_=i.from_, into=i.into, sum=i.sum, auto=i.auto)  # type: ignore[call-arg]
            for i in self.items
        ]


class Contact(Strict):
    """联系人."""

    name: str
    phone: str | None = None
    email: str | None = None
    unit: str | None = Field(default=None, description="the unit the contact sits in (code or name)")


class Metric(Strict):
    """A named count (or figure) a unit reports with its submission."""

    name: Id
    label: str = Field(description="the Chinese label staff see, e.g. 普法宣讲次数")
    type: Literal["int", "number", "text", "bool"] = "int"
    unit: str | None = Field(default=None, description="measure word shown after the value: 篇, 人, 次")
    min: float | None = None
    max: float | None = None
    decimals: int | None = Field(
        default=None,
        ge=0,
        le=6,
        description="decimals a `number` may carry (6 when not said); every figure is below 10^15 in magnitude",
    )
    required: bool = True

    @field_validator("min", "max", mode="before")
    @classmethod
    def _a_figure(cls, value: Any) -> Any:
        """A bound is a figure a unit can report: finite and below 10^15 in magnitude (as every figure is)."""
        number: Any = value
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                return value  # pydantic says it is not a number
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            return value
        if isinstance(number, float) and not math.isfinite(number):
            raise ValueError(f"{number} is not a number a unit can meet: a bound is a finite figure, or left out")
        if abs(number) >= METRIC_BOUND:
            shown = f"{number:.15g}" if isinstance(number, float) else as_text(number)
            shown = shown if len(shown) <= 40 else shown[:40] + "…"
            raise ValueError(
                f"{shown} is not below 10^15 in magnitude, as every figure a unit reports is: "
                "write a smaller bound, or leave it out"
            )
        return value

    @model_validator(mode="after")
    def _a_range_a_unit_can_meet(self) -> Metric:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise at_path(("max",), f"{self.max:g} is below min: {self.min:g}: no figure a unit reports can meet both")
        return self


MAX_REMINDERS = 50  # per item


class Reminders(Strict):
    """When units hear about an item before its due."""

    before: list[
        Annotated[
            OffsetField,
            counts_forward("a reminder goes out this long before the due (after the due, 催办 is `escalation:`)"),
        ]
    ] = Field(default_factory=list, description='offsets before the due, e.g. ["3 working days", "1 day"]')
    at: ClockTime | None = Field(default=None, description="time of day a day-based reminder goes out")

    __get_pydantic_json_schema__ = _also(
        {"type": "array", "items": OFFSET_SCHEMA, "description": "offsets before the due"}
    )

    @model_validator(mode="before")
    @classmethod
    def _list_form(cls, value: Any) -> Any:
        return {"before": value} if isinstance(value, list) else value

    @field_validator("before", mode="before")
    @classmethod
    def _few(cls, value: Any) -> Any:
        # 2,999 hourly reminders validated: a unit reminded every hour for months reads none of them
        if isinstance(value, list) and len(value) > MAX_REMINDERS:
            raise ValueError(
                f"{len(value)} reminders for one item: at most {MAX_REMINDERS} (a unit reminded that often stops "
                "reading them; a few before the due, then 催办 under escalation:)"
            )
        return value


class EscalationStep(Strict):
    """催办: after the grace, tell the parent unit, the assigned leader, the unit itself, or named units."""

    after: Annotated[
        OffsetField, counts_forward("催办 fires this long after the due (before the due, a message is a reminder)")
    ] = Field(description='time after the due, e.g. "2 working days"')
    to: list[str] = Field(
        default_factory=lambda: ["parent", "leader"],
        description="parent | leader | unit (itself) | a group, unit code or unit name (e.g. the 领导小组办公室)",
    )

    @field_validator("to", mode="before")
    @classmethod
    def _codes_as_text(cls, value: Any) -> Any:
        if isinstance(value, (str, int)):
            value = [value]
        return [str(v) for v in value] if isinstance(value, list) else value


class Escalation(Strict):
    steps: list[EscalationStep] = Field(default_factory=list)

    __get_pydantic_json_schema__ = _also(
        {"type": "array", "items": EscalationStep.model_json_schema(), "description": "the steps"},
        EscalationStep.model_json_schema(),
    )

    @model_validator(mode="before")
    @classmethod
    def _list_form(cls, value: Any) -> Any:
        if isinstance(value, list):
            return {"steps": value}
        if isinstance(value, dict) and "after" in value:
            return {"steps": [value]}
        return value


_OUTCOME_AFTER = {
    "late": "`after:` counts from the due only with `when: overdue`; a `when: late` outcome is decided when the "
    "late submission comes in. For units still not handed in that long after the due (late by more than that, "
    "or never), write `when: overdue` with this `after:`",
    "failed": "`after:` counts from the due only with `when: overdue`; a `when: failed` outcome is decided when "
    "the failing scoring is entered. Remove `after:`; to give the unit time, write `due:` (owed that long after "
    "it is decided)",
}


class Outcome(Strict):
    """What a notice does to a unit that slips, besides a message — 约谈, 通报批评, 重新开展 — in its own words.

    `when: overdue` is decided when the unit has still not handed in `after` the due; `when: late` when it hands
    in after the due; `when: failed` when a score sheet (评分表) scores the unit below its pass mark (检查未达标, the
    latest scoring counting). With `due:` the unit owes the outcome as an item of its own (`<item>-<n>`, named after
    the item and the words), opened when it is decided and due that long after.
    """

    when: Literal["overdue", "late", "failed"] = Field(
        description="overdue: not handed in `after` the due | late: handed in after the due | "
        "failed: scored below a score sheet's pass mark (检查未达标)"
    )
    after: Annotated[OffsetField, counts_forward("the outcome is decided this long after the due")] = Field(
        default=Offset(0, OffsetUnit.days),
        description="only with overdue: this long after the due (refused on late and failed)",
    )
    do: str = Field(min_length=1, max_length=100, description="the notice's words: 约谈, 通报批评, 重新开展 …")
    due: Annotated[OffsetField, counts_forward("the outcome is owed this long after it is decided")] | None = Field(
        default=None, description="when it is owed as an item: due this long after it is decided"
    )

    @model_validator(mode="after")
    def _after_only_when_overdue(self) -> Outcome:
        # only there does `after:` count from the due; elsewhere it was silently ignored
        if self.when != "overdue" and "after" in self.model_fields_set:
            raise at_path(("after",), _OUTCOME_AFTER[self.when])
        return self

    def words(self) -> str:
        """'逾期3个工作日未报：约谈（限5个工作日）' — the rule as a notice says it."""
        head = (
            f"逾期{self.after}未报"
            if self.when == "overdue" and self.after.amount
            else {"overdue": "逾期未报", "late": "逾期报送", "failed": "检查未达标"}[self.when]
        )
        return f"{head}：{self.do}" + (f"（限{self.due}）" if self.due is not None else "")


class Defaults(Strict):
    """Campaign-wide defaults an item may override."""

    open_time: ClockTime = Field(default=time(8, 30), description="time a stage opens on its start date")
    due_time: ClockTime = Field(default=time(23, 59), description="time of a date-only due (23:59 = end of that day)")
    remind_time: ClockTime = Field(default=time(9, 0), description="time day-based reminders and escalations go out")
    reminders: Reminders = Field(
        default_factory=lambda: Reminders(before=[Offset(3, OffsetUnit.working_days), Offset(1, OffsetUnit.days)])
    )
    escalation: Escalation = Field(
        default_factory=lambda: Escalation(steps=[EscalationStep(after=Offset(2, OffsetUnit.working_days))])
    )
    postpone: Postpone = Field(default=Postpone.none, description="顺延: none | holidays | holidays_and_weekends")
    outcomes: list[Outcome] = Field(
        default_factory=list, description="what slipping units face (约谈, 通报批评 …), for every item"
    )
    due_after_period: OffsetField | None = Field(
        default=None,
        description="recurring items whose notice gives no due day: due this long after each period "
        "(default: the period's last day); `duban validate` names each item that takes it",
    )


class Window(Strict):
    """开始—截止. Dates mean the stage opens on `start` at open_time and closes at the end of `end`.

    Short form in the notice's words: `3月至10月`, `5月中旬至6月底`, `10月至次年3月`, or one span (`7月份`).
    """

    start: Due
    end: Due

    __get_pydantic_json_schema__ = _also(
        {
            **WORDS_SCHEMA,
            "description": "a window in the notice's words",
            "examples": ["3月至10月", "7月份", "10月至次年3月"],
        }
    )

    @model_validator(mode="before")
    @classmethod
    def _words(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        parts = split_range(value)
        if parts is None:
            if WordDate.parse(value) is None:
                raise ValueError(
                    f"{value.strip()[:40]!r} is not a window: write {{start: …, end: …}} or the notice's "
                    "words (3月至10月, 5月中旬至6月底, 7月份)"
                )
            return {"start": value.strip(), "end": value.strip()}
        start, end = WordDate.parse(parts[0]), WordDate.parse(parts[1])
        for part, found in zip(parts, (start, end)):
            if found is None:
                raise ValueError(
                    f"{part[:40]!r} in the window {value.strip()[:40]!r} is not a date duban can read "
                    "(write 3月至10月, 5月中旬至6月底, 10月至次年3月)"
                )
        problem = range_problem(start, end)  # type: ignore[arg-type]
        if problem:
            raise ValueError(problem)
        return {"start": parts[0], "end": parts[1]}


class PeriodRule(Strict):
    """What differs for one period of a recurring item (e.g. 四季度 due later, or a written date)."""

    due_after_period: OffsetField | None = Field(default=None, description="due this long after this period ends")
    at: ClockTime | None = Field(default=None, description="time of day of this period's due")
    due: Due | None = Field(default=None, description="a written due for this period, e.g. 2021-01-20")


class Recurrence(Strict):
    """An item that repeats each period of the campaign window (每月/每季度/每半年/每年).

    Periods are named `2020-07` (month), `2020Q3`, `2020H2`, `2020`; `M7`, `Q4`, `H2` name that period of every
    year. `periods:` gives one period its own due; `exempt:` lists periods with nothing owed. `days:` makes a
    monthly item due on those days of each month (每月10日、20日前: twice a month), each instance named by its
    due day (`2024-07-10`) and opening after the one before it is due.

    Short forms in the notice's words: `每月`, `每季度`, `季后10日` (= quarter, 10 days after), `月后5个工作日`,
    `每月10日、20日前`.
    """

    every: Literal["month", "quarter", "half_year", "year"]
    due_after_period: OffsetField | None = Field(
        default=None,
        description="due this long after each period ends "
        "(default: defaults.due_after_period, else the period's last day)",
    )
    days: list[int] = Field(
        default_factory=list, description="monthly dues on these days of each month, e.g. [10, 20] (每月10日、20日前)"
    )
    at: ClockTime | None = Field(default=None, description="time of day of each due (default: defaults.due_time)")
    periods: dict[str, PeriodRule] = Field(
        default_factory=dict, description="per-period dues: {Q4: {due_after_period: 20 days}}"
    )
    exempt: list[str] = Field(default_factory=list, description="periods with nothing owed, e.g. [Q4] (并入年报)")
    said: SkipJsonSchema[str | None] = Field(
        default=None, description="the notice's words, when the short form gave them"
    )

    __get_pydantic_json_schema__ = _also(
        {"type": "string", "description": EVERY_HINT, "examples": ["quarter", "每月", "季后10日", "每月10日、20日前"]}
    )

    @model_validator(mode="before")
    @classmethod
    def _words(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        found = recurrence_words(value)
        if found is None:
            shown = value.strip() if len(value.strip()) <= 40 else value.strip()[:40] + "…"
            raise ValueError(f"{shown!r} is not a recurrence; {EVERY_HINT}")
        return {**found, "said": value.strip()}

    @field_validator("days")
    @classmethod
    def _days_of_month(cls, value: list[int]) -> list[int]:
        wrong = [d for d in value if not 1 <= d <= 31]
        if wrong:
            raise ValueError(f"day {wrong[0]} of a month does not exist: days run from 1 to 31")
        if len(set(value)) != len(value):
            raise ValueError(f"a day is given twice in {value}")
        return sorted(value)

    @field_validator("exempt", mode="before")
    @classmethod
    def _labels_as_text(cls, value: Any) -> Any:
        if isinstance(value, (str, int)):
            value = [value]
        return [str(v) for v in value] if isinstance(value, list) else value

    @field_validator("periods", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        return {str(k): v for k, v in value.items()} if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _known_periods(self) -> Recurrence:
        from duban.domain.periods import check_period_key

        if self.days and self.every != "month":
            raise ValueError(f"`days:` are days of each month: they go with `every: month`, not {self.every}")
        if self.days and self.due_after_period is not None:
            raise ValueError("`days:` already says when each instance is due: drop `due_after_period:`")
        for key in [*self.periods, *self.exempt]:
            check_period_key(key, self.every, days=bool(self.days))
        return self


class Extensions(Strict):
    """延期申请: a unit may ask, before its due, for a later one; the issuer's operators approve or deny.

    `max` bounds how far a due may move, counted from the due as planned ("确有困难需延期的，最长不超过5个工作日").
    Short forms: `extensions: {max: 5 working days}`; on an item, `extensions: false` refuses every request.
    """

    allowed: bool = Field(default=True, description="whether units may ask at all")
    max: OffsetField | None = Field(
        default=None, description='the longest extension, e.g. "5 working days" (none: no limit)'
    )

    __get_pydantic_json_schema__ = _also(
        {"type": "boolean", "description": "true: allowed without a limit; false: refused"}
    )

    @model_validator(mode="before")
    @classmethod
    def _bool_form(cls, value: Any) -> Any:
        return {"allowed": value} if isinstance(value, bool) else value

    @field_validator("max")
    @classmethod
    def _forward(cls, value: Offset | None) -> Offset | None:
        if value is not None and value.amount <= 0:
            raise ValueError(f"{value}: an extension moves a due later; give a positive amount such as 5 working days")
        return value


class Acknowledge(Strict):
    """签收: each unit confirms it received the notice (or a stage's opening) within a time of it ("收到通知后于1个
    工作日内签收"); one not acknowledged by then is reminded, and escalated after `escalate_after`.
    Short form: `acknowledge: 1 working day`."""

    within: OffsetField = Field(
        default=Offset(1, OffsetUnit.working_days), description="after the opening, e.g. 1 working day, 4 hours"
    )
    escalate_after: OffsetField = Field(
        default=Offset(1, OffsetUnit.working_days), description="after the 签收 due: tell `to`"
    )
    to: list[str] = Field(
        default_factory=lambda: ["parent", "leader"], description="who hears of a missing 签收 (as escalation.to)"
    )

    __get_pydantic_json_schema__ = _also({**OFFSET_SCHEMA, "description": "within this long of the opening"})

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        return {"within": value} if isinstance(value, (str, int)) and not isinstance(value, bool) else value

    @field_validator("within", "escalate_after")
    @classmethod
    def _forward(cls, value: Offset) -> Offset:
        if value.amount <= 0:
            raise ValueError(f"{value}: give a positive amount such as 1 working day or 4 hours")
        return value

    @field_validator("to", mode="before")
    @classmethod
    def _codes_as_text(cls, value: Any) -> Any:
        if isinstance(value, (str, int)):
            value = [value]
        return [str(v) for v in value] if isinstance(value, list) else value


class Review(Strict):
    """审核: a submission stands 待审核 until the reviewer accepts (通过) or returns (退回) it with a reason and a
    new due.

    `by: operators` — the issuer's operators review (the CLI, /ops); `by: parent` — the unit's parent unit reviews
    through its own link (a county its townships), and the operators may too. Short forms: `review: parent`,
    `review: operators`, `review: true`. `remind_after: 2 working days` reminds the reviewer (the parent unit, or
    the operators' channel) of a version still waiting that long after it was handed in, and again each such
    period it keeps waiting (day-based periods land on `defaults.remind_time`).
    """

    by: Literal["operators", "parent"] = Field(
        default="operators", description="operators | parent (the unit's parent unit)"
    )
    within: OffsetField = Field(
        default=Offset(3, OffsetUnit.working_days),
        description="a returned item is due again this long after the return (unless given)",
    )
    remind_after: OffsetField | None = Field(
        default=None,
        description="remind the reviewer of a version waiting this long (again each such period), e.g. 2 working days",
    )

    __get_pydantic_json_schema__ = _also(
        {"type": "string", "description": "operators | parent"},
        {"type": "boolean", "description": "true: reviewed by the operators"},
    )

    @model_validator(mode="before")
    @classmethod
    def _short_forms(cls, value: Any) -> Any:
        if value is True:
            return {}
        if isinstance(value, str):
            return {"by": value}
        return value

    @field_validator("within")
    @classmethod
    def _forward(cls, value: Offset) -> Offset:
        if value.amount <= 0:
            raise ValueError(f"{value}: a returned item is due again after the return; give a positive amount")
        return value

    @field_validator("remind_after")
    @classmethod
    def _later(cls, value: Offset | None) -> Offset | None:
        if value is not None and value.amount <= 0:
            raise ValueError(f"{value}: the reviewer is reminded after a version has waited; give a positive amount")
        return value


class Item(Strict):
    """An item (报送事项): what each responsible unit owes, in which form, by when."""

    id: Id
    name: str
    description: str | None = None
    units: Selector | None = Field(default=None, description="responsible units (责任单位)")
    lead: Selector | None = Field(default=None, description="lead units (牵头)")
    cooperating: Selector | None = Field(default=None, description="cooperating units (配合)")
    opens: Due | None = Field(default=None, description="when it opens; default the stage's start")
    due: Due | None = Field(default=None, description="when it is due; default the stage's end")
    formats: list[str] = Field(default_factory=list, description="accepted file formats: docx, pdf, xlsx …")
    stamped: bool = Field(default=False, description="the PDF must carry the unit's seal (加盖公章)")
    submit_to: str | None = Field(default=None, description="the unit that receives it (报送至), code or name")
    via: Literal["upload", "email", "paper", "system", "none"] = "upload"
    metrics: list[Metric] = Field(default_factory=list)
    minimum: int | None = Field(default=None, description="a count the unit must reach (不少于N)")
    reminders: Reminders | None = None
    escalation: Escalation | None = None
    postpone: Postpone | None = None
    every: Recurrence | None = None
    extensions: Extensions | None = Field(default=None, description="延期申请 for this item (default: the campaign's)")
    review: Review | None = Field(
        default=None, description="审核: submissions wait for the reviewer to accept or return them"
    )
    outcomes: list[Outcome] | None = Field(
        default=None, description="what slipping units face (default: defaults.outcomes)"
    )
    note: str | None = Field(default=None, description="how duban read an ambiguous phrase of the notice")

    def outcome_item(self, index: int, outcome: Outcome) -> Item:
        """An outcome with a due (重新开展 within 10 working days) as the item the unit then owes."""
        return Item(
            id=f"{self.id}-o{index + 1}"[:ID_MAX],
            name=f"{self.name}（{outcome.do}）",
            units=self.units or self.lead,
            formats=self.formats,
            submit_to=self.submit_to,
            note=f"{outcome.words()}（{self.name}）",
        )

    @field_validator("formats")
    @classmethod
    def _known_formats(cls, value: list[str]) -> list[str]:
        return known_formats(value)

    @model_validator(mode="after")
    def _someone_owes_it(self) -> Item:
        if self.units is None and self.lead is None:
            raise ValueError(f"item {self.id!r} names no units: give `units:` (责任单位) or `lead:` (牵头单位)")
        return self


# every format the upload check knows (duban.domain.filecheck.EXPECTED): a notice's 汇报PPT, 照片 or csv 台账 too
FORMATS = set("docx doc pdf xlsx xls pptx ppt wps et txt csv jpg png gif mp4 zip ofd".split())


def known_formats(value: list[str]) -> list[str]:
    """File formats as duban checks them (lower case, no dot, jpeg as jpg); an unknown one is an error naming the
    known."""
    normalised = list(dict.fromkeys("jpg" if f == "jpeg" else f for f in (f.lower().lstrip(".") for f in value)))
    unknown = [f for f in normalised if f not in FORMATS]
    if unknown:
        shown = unknown[0] if len(unknown[0]) <= 40 else unknown[0][:40] + "…"
        raise ValueError(f"unknown file format {shown!r}; known: {', '.join(sorted(FORMATS))}")
    return normalised


_PERCENT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%?\s*(?:(?:-|—|–|~|～|至|到)\s*(\d+(?:\.\d+)?)\s*%?)?\s*$")
PERCENT_HINT = 'write a share such as 10, "10%", or a range [10, 20] / "10%-20%"'


def _percent(value: Any) -> Any:
    """10 · "10%" · [10, 20] · "10%-20%" → (low, high), both in per cent."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a percentage; {PERCENT_HINT}")
    if isinstance(value, (int, float)):
        return (float(value), float(value))
    if (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    ):
        return (float(value[0]), float(value[1]))
    if isinstance(value, str):
        match = _PERCENT_RE.match(value)
        if match:
            low = float(match.group(1))
            return (low, float(match.group(2)) if match.group(2) else low)
    raise ValueError(f"{value!r} is not a percentage; {PERCENT_HINT}")


Percent = Annotated[
    tuple[float, float],
    BeforeValidator(_percent),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number"},
                {"type": "string"},
                {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
            ],
            "description": "a share of the units drawn from: " + PERCENT_HINT.removeprefix("write a share such as "),
        }
    ),
]


def _share(value: Any) -> Any:
    if isinstance(value, str) and value.strip() in ("all", "全部", "全部完成"):
        return 100
    return value


class StageOrder(Strict):
    """按阶段顺序: a stage opened by an earlier one rather than by a date — when that stage closes, a time after
    it, or when all (`finished: all`) or a share (`finished: 80%`) of its units have finished (报送或免报).

    The tick decides from the record when a share is reached; `duban plan` prints the earliest possible instants
    (the earlier stage's opening) and marks them as depending. Short form: `follows: self_assessment`.
    """

    stage: Id = Field(description="the earlier stage it follows (stages[].id)")
    finished: Annotated[Percent | None, BeforeValidator(_share)] = Field(
        default=None,
        description="open when this share of that stage's units have finished: all, 80% … (default: when it closes)",
    )
    offset: Annotated[
        OffsetField,
        counts_forward("the stage opens this long after the one it follows (to overlap them, give it a `window:`)"),
    ] = Field(default=Offset(0, OffsetUnit.days), description="this long after (e.g. 2 working days)")

    __get_pydantic_json_schema__ = _also(
        {"type": "string", "description": "the stage it follows, opening when that one closes"}
    )

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        return {"stage": value} if isinstance(value, str) else value

    @field_validator("finished")
    @classmethod
    def _a_share(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and (value[0] != value[1] or not 0 < value[0] <= 100):
            raise ValueError(f"finished: {value[0]:g}% must be one share between 0 and 100 (all, 80%)")
        return value

    def words(self, names: dict[str, str]) -> str:
        """'自评阶段80%单位完成后2个工作日' — the dependency as a notice says it."""
        name = names.get(self.stage, self.stage)
        if self.finished is None:
            head = f"{name}结束"
        elif self.finished[0] >= 100:
            head = f"{name}全部单位完成"
        else:
            head = f"{name}{self.finished[0]:g}%单位完成"
        return head + (f"后{self.offset}" if self.offset.amount else "时")


class Stage(Strict):
    """A stage (阶段) of the campaign, in the notice's order: opened by its window, or by an earlier stage
    (`follows:`), then lasting `lasts:` from its actual opening."""

    id: Id
    name: str
    window: Window | None = None
    follows: StageOrder | None = Field(default=None, description="open after an earlier stage instead of on a date")
    lasts: Annotated[OffsetField, counts_forward("the stage closes this long after it opens", zero=False)] | None = (
        Field(default=None, description="with `follows:`: it closes this long after it actually opens")
    )
    description: str | None = None
    acknowledge: Acknowledge | None = Field(
        default=None, description="签收: units acknowledge the stage's opening within a time"
    )
    items: list[Item] = Field(default_factory=list)

    @model_validator(mode="after")
    def _opened_one_way(self) -> Stage:
        if self.follows is not None and self.window is not None:
            raise ValueError(
                f"stage {self.id!r} opens after {self.follows.stage!r}: drop its `window:` and say how long "
                "it lasts with `lasts:` (e.g. 10 working days)"
            )
        if self.follows is not None and self.lasts is None:
            raise ValueError(
                f"stage {self.id!r} follows {self.follows.stage!r}: say how long it lasts from its opening "
                "with `lasts:` (e.g. 10 working days)"
            )
        if self.lasts is not None and self.follows is None:
            raise ValueError("`lasts:` counts from an opening decided by `follows:`; a stage with dates has `window:`")
        return self


class Event(Strict):
    """A key day or event (重点宣传日, 座谈会, 讲座): on the timeline, and an anchor for relative dues."""

    id: Id
    name: str
    at: Due = Field(description="the day, or day and time")
    end: Due | None = None
    kind: Literal["key_day", "meeting", "lecture", "activity", "event"] = "event"
    place: str | None = None
    lead: Selector | None = None
    cooperating: Selector | None = None


class Draw(Strict):
    """One rule of a sample (抽取规则): how many units to draw from a set of units (`from`).

    How many: a `count`; a `percent` of the units drawn from (a range such as 10%-20%, rounded, with
    `min_count` — all units when there are fewer — and `max_count`); at least `min_per_parent` under each
    parent (with `count`, a total that honours that floor); or `counts` per stratum. `designated` units are
    always in (指定) and count toward the number; `strata` draws within groups of units sharing a level, kind,
    parent or overlay attribute. Drawing from another sample (`from: {sample: …}`) makes a nested sample.
    """

    from_: Selector = Field(alias="from", description="the units drawn from (a sample here makes a nested sample)")
    count: Annotated[
        int | None,
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "integer", "minimum": 1},
                    {"enum": ["待定", "部分", "抽取部分", "at_draw", "operator"]},
                    {"type": "null"},
                ]
            }
        ),
    ] = Field(
        default=None,
        ge=1,
        description="how many units in all (or in each stratum); 待定 (抽取部分): the operator says when drawing",
    )
    percent: Percent | None = Field(default=None, description="a share of the units drawn from, or a range of shares")
    rounding: Literal["up", "down", "nearest"] = Field(
        default="up", description="how a share becomes a count (up: 不低于)"
    )
    take: Literal["low", "high", "random"] = Field(
        default="low", description="where in a percentage range the count falls"
    )
    min_count: int | None = Field(default=None, ge=1, description="at least this many (all units when there are fewer)")
    max_count: int | None = Field(default=None, ge=1, description="at most this many")
    min_per_parent: int | None = Field(default=None, ge=1, description="at least this many under each parent")
    per: SpecLevel | None = Field(default=None, description="the parent level for min_per_parent (default: the parent)")
    designated: Selector | None = Field(default=None, description="units always drawn (指定), counted in the number")
    strata: str | None = Field(default=None, description="draw within strata: level | kind | parent | a unit attribute")
    counts: dict[str, int] = Field(default_factory=dict, description="how many from each stratum, by its value")
    allocation: Literal["each", "proportional"] | None = Field(
        default=None,
        description="with strata: `count`/`percent` applies to each stratum, or is shared in proportion (the default "
        "when the notice gives no ratios; validate says so)",
    )
    at_draw: bool = Field(
        default=False,
        description="抽取部分: how many is decided by the operator when drawing (`duban sample draw --count N`)",
    )
    named_by_parent: int | None = Field(
        default=None,
        ge=1,
        description="由上级指定: each parent names this many of its units when the sample is drawn (`--named CODE`); "
        "they count toward the number, the rest are drawn at random",
    )
    base: int | None = Field(
        default=None,
        ge=1,
        description="with `count:` and `percent:`: what the percentage floor is of, when not the units drawn from "
        "(不低于3% of 52,000 households against 抽查1,500户)",
    )

    @model_validator(mode="before")
    @classmethod
    def _count_at_draw(cls, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("count"), str) and value["count"].strip() in _AT_DRAW:
            value = {**value, "count": None, "at_draw": True}
        return value

    @field_validator("counts", mode="before")
    @classmethod
    def _stratum_keys_as_text(cls, value: Any) -> Any:
        return {str(k): v for k, v in value.items()} if isinstance(value, dict) else value

    @field_validator("percent")
    @classmethod
    def _a_share(cls, value: tuple[float, float] | None, info: ValidationInfo) -> tuple[float, float] | None:
        if value is None:
            return value
        low, high = value
        if info.data.get("count") is not None and low != high:
            raise ValueError(
                "with `count:` (a fixed target) `percent:` is a floor (不低于3%): give one share, not a range"
            )
        if not (0 < low <= 100 and 0 < high <= 100):
            raise ValueError(f"percent {low:g}%–{high:g}% must lie between 0 and 100")
        if low > high:
            raise ValueError(
                f"the percentage range {low:g}%–{high:g}% runs backwards: its low end is above its high end"
            )
        return value

    @field_validator("max_count")
    @classmethod
    def _above_min(cls, value: int | None, info: ValidationInfo) -> int | None:
        low = info.data.get("min_count")
        if value is not None and low is not None and low > value:
            raise ValueError(f"min_count {low} is above max_count {value}: the rules contradict each other")
        return value

    @field_validator("min_per_parent")
    @classmethod
    def _below_count(cls, value: int | None, info: ValidationInfo) -> int | None:
        count = info.data.get("count")
        if value is not None and count is not None and value > count:
            raise ValueError(f"min_per_parent {value} is above the count {count}: the rules contradict each other")
        return value

    @model_validator(mode="after")
    def _rules_agree(self) -> Draw:
        how = [
            name
            for name in ("count", "percent", "min_per_parent", "counts", "designated", "at_draw", "named_by_parent")
            if getattr(self, name)
        ]
        if self.at_draw and (self.percent is not None or self.counts or self.strata or self.min_per_parent):
            raise ValueError(
                "`count: 待定` leaves the number to the operator at draw time: drop `percent:`, `counts:`, "
                "`strata:` and `min_per_parent:`"
            )
        if self.named_by_parent is not None and (self.strata or self.counts or self.min_per_parent):
            raise ValueError("`named_by_parent:` already draws per parent: combine it only with `count:`")
        if not how:
            raise ValueError(
                "a draw says how many: `count:`, `percent:`, `min_per_parent:`, `counts:` (with strata) "
                "or `designated:`"
            )
        if self.percent is None:
            for name in ("min_count", "max_count"):
                if getattr(self, name) is not None:
                    raise ValueError(f"`{name}:` bounds a percentage: it goes with `percent:`")
        if self.per is not None and self.min_per_parent is None:
            raise ValueError("`per:` names the parent level of `min_per_parent:`; give min_per_parent too")
        if self.min_per_parent is not None and (self.percent is not None or self.strata or self.counts):
            raise ValueError("`min_per_parent:` already draws per parent: combine it only with `count:` (a total)")
        if self.counts and not self.strata:
            raise ValueError(
                "`counts:` gives a number per stratum: say which with `strata:` (level, kind, parent or an attribute)"
            )
        if self.counts and (self.count is not None or self.percent is not None):
            raise ValueError("`counts:` already says how many per stratum: drop `count:`/`percent:` or `counts:`")
        if self.allocation is not None and not (self.strata and (self.count or self.percent)):
            raise ValueError(f"`allocation: {self.allocation}` shares a `count:` or `percent:` among `strata:`")
        if self.base is not None and not (self.count is not None and self.percent is not None):
            raise ValueError("`base:` is what a percentage floor is of: it goes with both `count:` and `percent:`")
        return self


SEED_MAX = 2**31 - 1
"""The largest seed the database records on both SQLite and PostgreSQL (a 32-bit column), as 2,147,483,647."""

_DRAW_KEYS = (
    "from",
    "count",
    "percent",
    "rounding",
    "take",
    "min_count",
    "max_count",
    "min_per_parent",
    "per",
    "designated",
    "strata",
    "counts",
    "allocation",
    "base",
    "at_draw",
    "named_by_parent",
)
_AT_DRAW = ("待定", "部分", "抽取部分", "at_draw", "operator")


class Sample(Strict):
    """抽查样本: drawn once with a recorded seed, reproducible and auditable."""

    id: Id
    name: str
    draws: list[Draw] = Field(min_length=1)
    seed: int = Field(
        ge=-SEED_MAX - 1, le=SEED_MAX, description="the seed, recorded with the draw (a 32-bit whole number)"
    )
    hidden: bool = Field(default=False, description="sampled units learn nothing of it before the check opens")
    reveal: Due | None = Field(
        default=None, description="when a hidden sample may show (default: the first opening of an item that uses it)"
    )

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        full = handler(core_schema)
        sample = handler.resolve_ref_schema(full)
        draw = handler.resolve_ref_schema(sample["properties"]["draws"]["items"])
        inline = {
            "type": "object",
            "description": "a sample with its one draw written inline",
            "additionalProperties": False,
            "required": ["id", "name", "seed", "from"],
            "properties": {**{k: v for k, v in sample["properties"].items() if k != "draws"}, **draw["properties"]},
        }
        return {"anyOf": [inline, full]}

    @model_validator(mode="before")
    @classmethod
    def _single_draw(cls, value: Any) -> Any:
        if isinstance(value, dict) and "draws" not in value and "from" in value:
            value = dict(value)
            draw = {k: value.pop(k) for k in _DRAW_KEYS if k in value}
            value = {**value, "draws": [draw]}
        return value

    @property
    def open(self) -> bool:
        """Is something of this sample decided only when it is drawn (抽取部分, 由上级指定)?"""
        return any(d.at_draw or d.named_by_parent for d in self.draws)

    @model_validator(mode="after")
    def _reveal_needs_hidden(self) -> Sample:
        if self.reveal is not None and not self.hidden:
            raise ValueError("`reveal:` says when a hidden sample shows: add `hidden: true` or drop it")
        return self


class CheckItem(Strict):
    """A check item (检查项目) of a score sheet, with its maximum points (满分)."""

    id: Id
    name: str = Field(description="what the inspector scores, e.g. 统计台账")
    max: float = Field(gt=0, description="the maximum points (满分)")
    area: str | None = Field(default=None, description="the area it belongs to (类别), e.g. 制度管理")
    criteria: str | None = Field(default=None, description="how points are given (评分标准)")


class FollowUp(Strict):
    """整改: the item a unit that fails its score sheet owes, assigned when its scores are recorded."""

    id: Id
    name: str
    stage: Id | None = Field(default=None, description="the stage whose tick opens it (default: the last stage)")
    within: OffsetField = Field(
        default=Offset(10, OffsetUnit.working_days), description="due this long after the scores are recorded"
    )
    formats: list[str] = Field(default_factory=lambda: ["docx", "pdf"])
    submit_to: str | None = Field(default=None, description="the unit that receives it (报送至), code or name")
    note: str | None = None

    @field_validator("formats")
    @classmethod
    def _known_formats(cls, value: list[str]) -> list[str]:
        return known_formats(value)


class ScoreSheet(Strict):
    """评分表: check items with maximum points, entered per inspected unit of the samples it scores."""

    id: Id
    name: str
    samples: list[Id] = Field(min_length=1, description="the samples whose units are scored (samples[].id)")
    items: list[CheckItem] = Field(min_length=1)
    pass_mark: float = Field(ge=0, description="a unit passes with a total at or above this (达标)")
    follow_up: FollowUp | None = Field(default=None, description="what a unit below the pass mark owes (整改)")
    note: str | None = Field(default=None, description="where the items and points come from")

    @property
    def total(self) -> float:
        return sum(item.max for item in self.items)

    @model_validator(mode="after")
    def _consistent(self) -> ScoreSheet:
        ids = [item.id for item in self.items]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"check item {twice[0]!r} appears twice")
        if self.pass_mark > self.total:
            raise ValueError(f"the pass mark {self.pass_mark:g} is above the {self.total:g} points the items add up to")
        return self

    def follow_up_item(self) -> Item | None:
        """The follow-up as an item (its units: those of the scored samples who fail)."""
        if self.follow_up is None:
            return None
        f = self.follow_up
        return Item(
            id=f.id,
            name=f.name,
            units=Selector(sample=self.samples[0]),
            formats=f.formats,
            submit_to=f.submit_to,
            note=f.note or f"{self.name}未达标（低于{self.pass_mark:g}分）的单位整改",
        )


class Leader(Strict):
    """A leader who answers for given units (包县区), escalated to when they slip."""

    id: Id
    name: str
    title: str | None = None
    units: Selector
    channels: list[str] = Field(default_factory=list, description="channel references (env:NAME), never URLs")


class UnitList(Strict):
    """A list of enterprises or other listed parties (名录): one stored by `duban units import`, or a file."""

    name: Id | None = Field(default=None, description="a list stored by `duban units import FILE --list NAME`")
    file: str | None = Field(
        default=None, description="a CSV or xlsx file, relative to the spec file, read and checked at planning"
    )
    mapping: str | None = Field(default=None, description="with `file:`, a YAML file mapping its column names")
    as_of: SpecDate | None = Field(default=None, description="with `name:`, the list as it stood on this day")

    __get_pydantic_json_schema__ = _also({"type": "string", "description": "a list stored by `duban units import`"})

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _name_or_file(self) -> UnitList:
        if (self.name is None) == (self.file is None):
            raise ValueError("a list is a stored one (`name:`) or a file (`file:`): give exactly one")
        if self.mapping is not None and self.file is None:
            raise ValueError("`mapping:` maps a file's columns: it goes with `file:`")
        if self.as_of is not None and self.name is None:
            raise ValueError("`as_of:` picks a stored list's state on a day: it goes with `name:`")
        return self


class Registry(Strict):
    """Where the units come from: MCA division subtrees, a department's line, an overlay, listed parties."""

    divisions: list[str] = Field(
        default_factory=list,
        description="division codes or names, e.g. [140700]; 全国 adds the nation above the provinces",
    )
    as_of: SpecDate | None = Field(
        default=None,
        description="the division set of this day (packaged: 2025-12-31; a bureau adds its own under divisions/)",
    )
    levels: list[SpecLevel] = Field(
        default_factory=list,
        description="only these division levels, e.g. [nation, province] for a ministry's campaign (default: all)",
    )
    line: Id = Field(
        default="stats",
        description="whose bodies the division units are: "
        "stats | housing | ecology | market | emergency | government | an overlay line",
    )
    beside: list[Id] = Field(
        default_factory=list, description="more lines side by side: their bodies are CODE@LINE (140724@stats)"
    )
    overlay: str | None = Field(default=None, description="overlay YAML, relative to the spec file")
    lists: list[UnitList] = Field(
        default_factory=list, description="enterprises and other listed parties attached to the divisions"
    )

    @field_validator("divisions", mode="before")
    @classmethod
    def _list_of_text(cls, value: Any) -> Any:
        if isinstance(value, (str, int)):
            value = [value]
        return [str(v) for v in value] if isinstance(value, list) else value


class Section(Strict):
    """One heading of the close-out report; `fill` says what duban writes under it from the record."""

    heading: str
    prompt: str | None = Field(
        default=None, description="what the writer should add (shown in the draft as 【起草提示】)"
    )
    fill: Literal["leadership", "activities", "completion", "problems", "next_steps", "none"] | None = Field(
        default=None,
        description="leadership (领导/组织) | activities (开展情况) | completion (完成情况, figures) | "
        "problems (存在问题) | next_steps (下一步) | none; default: read from the heading",
    )
    stages: list[Id] = Field(default_factory=list, description="the stages this section reports, with their items")
    items: list[Id] = Field(default_factory=list, description="the items this section reports (e.g. the measures 1–4)")


class Report(Strict):
    """The close-out report (总结报告) the campaign ends with."""

    title: str
    due: Due | None = None
    to: str | None = Field(default=None, description="who receives it (code or name)")
    sections: list[Section] = Field(default_factory=list)


class Campaign(Strict):
    """A campaign (专项工作) as its notice describes it."""

    id: Id
    title: str
    issuer: str
    doc_no: str | None = Field(default=None, description="文号, e.g. 衡统〔2021〕40号")
    issued_on: SpecDate | None = None
    forwards: list[Document] = Field(
        default_factory=list, description="the upper notices this one implements or forwards"
    )
    forwarded_by: list[Document] = Field(default_factory=list, description="re-issues down the chain (转发)")
    forward: Forward | None = Field(
        default=None, description="this campaign re-issues an upper one (转发) with earlier dues"
    )
    year: int | None = Field(
        default=None,
        ge=1900,
        le=2199,
        description="the year the notice speaks of: dates in words (7月份, 6月底前) fall in it, 次年 in the next "
        "(default: the year of issued_on)",
    )
    timezone: str = "Asia/Shanghai"
    window: Window | None = Field(default=None, description="the campaign's own window (活动时间)")
    registry: Registry
    groups: dict[str, Selector] = Field(default_factory=dict, description="named selectors")
    contacts: list[Contact] = Field(default_factory=list)
    defaults: Defaults = Field(default_factory=Defaults)
    leaders: list[Leader] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    samples: list[Sample] = Field(default_factory=list)
    score_sheets: list[ScoreSheet] = Field(default_factory=list, description="评分表 of the inspections")
    rollups: list[Rollup] = Field(
        default_factory=list, description="汇总: items fed by the submissions of the units below"
    )
    extensions: Extensions | None = Field(
        default=None, description="延期申请: units may ask for a later due (none: they may not)"
    )
    acknowledge: Acknowledge | None = Field(
        default=None, description="签收: units acknowledge the notice within a time of their first opening"
    )
    stages: list[Stage] = Field(min_length=1)
    report: Report | None = None
    notes: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone(value)
        return value

    @model_validator(mode="after")
    def _stages_follow_earlier_ones(self) -> Campaign:
        from duban.spec.ids import stage_order_problem

        earlier: list[str] = []
        for index, stage in enumerate(self.stages):
            if stage.follows is not None:
                problem = stage_order_problem(stage.id, stage.follows.stage, earlier, [s.id for s in self.stages])
                if problem:
                    raise at_path(("stages", index, "follows"), problem)
            earlier.append(stage.id)
        return self

    @model_validator(mode="after")
    def _report_names_known_parts(self) -> Campaign:
        if self.report is not None:
            stages, items = {s.id for s in self.stages}, {i.id for _s, i in self.items()}
            for section in self.report.sections:
                for wanted, known, what in ((section.stages, stages, "stage"), (section.items, items, "item")):
                    unknown = [x for x in wanted if x not in known]
                    if unknown:
                        raise ValueError(f"report section {section.heading!r} names no {what} {unknown[0]!r}")
        return self

    @property
    def notice_year(self) -> int | None:
        """The year dates in words fall in: `year:`, else the year of `issued_on`."""
        return self.year if self.year is not None else (self.issued_on.year if self.issued_on else None)

    def items(self):
        """(stage, item) pairs in the notice's order, then the follow-ups (整改) score sheets assign."""
        for stage in self.stages:
            for item in stage.items:
                yield stage, item
        for stage in self.stages:  # outcomes owed as items (重新开展 …), assigned when decided
            for item in stage.items:
                for index, outcome in enumerate(item.outcomes if item.outcomes is not None else self.defaults.outcomes):
                    if outcome.due is not None:
                        yield stage, item.outcome_item(index, outcome)
        stages = {stage.id: stage for stage in self.stages}
        for sheet in self.score_sheets:
            follow_up = sheet.follow_up_item()
            if follow_up is not None and sheet.follow_up is not None:
                yield stages.get(sheet.follow_up.stage or "", self.stages[-1]), follow_up
