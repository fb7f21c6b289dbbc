"""What a campaign spec (one YAML per notice) can say. These models are what the YAML says, not what the
database keeps: `duban.plan` turns them into assignments.

A spec names its issuer and document, the units (selectors over the registry), its stages with windows, the
items (报送事项) each unit owes with their dues, formats and counts, lead and cooperating units, key days and
events, samples for inspections, leaders who answer for units (包县区), and the reminder, escalation and
顺延 policies.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, GetJsonSchemaHandler, field_validator, model_validator
from pydantic_core import CoreSchema

from duban.calendar import Postpone
from duban.instants import zone
from duban.spec.terms import OFFSET_SCHEMA, ClockTime, Due, Offset, OffsetField, OffsetUnit, SpecDate
from duban.units import LEVEL_ALIASES, Level

_ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")
ID_HINT = "an id is ASCII letters, digits, _ and -, starting with a letter (e.g. self_assessment)"


def _id(value: Any) -> str:
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise ValueError(f"{value!r} is not an id; {ID_HINT}")
    return value


Id = Annotated[str, BeforeValidator(_id)]


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
    kind: str | None = Field(default=None, description="division | office | zone | center")
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

    @field_validator("under", "ref", mode="before")
    @classmethod
    def _code_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _says_something(self) -> Selector:
        said = (self.ref, self.all, self.level, self.under, self.units, self.tags, self.kind, self.sample, self.any_of)
        if not any(said):
            raise ValueError("a selector must say which units (all, a group, level/under, units, tags or sample)")
        return self


class Document(Strict):
    """A notice (文件): issuer, document number (文号), title, date."""

    issuer: str
    doc_no: str | None = Field(default=None, description="文号, e.g. 昔统字〔2024〕2号")
    title: str | None = None
    issued_on: SpecDate | None = None


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
    required: bool = True


class Reminders(Strict):
    """When units hear about an item before its due."""

    before: list[OffsetField] = Field(default_factory=list, description='offsets before the due, e.g. ["3 working days", "1 day"]')
    at: ClockTime | None = Field(default=None, description="time of day a day-based reminder goes out")

    __get_pydantic_json_schema__ = _also({"type": "array", "items": OFFSET_SCHEMA, "description": "offsets before the due"})

    @model_validator(mode="before")
    @classmethod
    def _list_form(cls, value: Any) -> Any:
        return {"before": value} if isinstance(value, list) else value


class EscalationStep(Strict):
    """催办: after the grace, tell the parent unit, the assigned leader, the unit itself, or named units."""

    after: OffsetField = Field(description='time after the due, e.g. "2 working days"')
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


class Defaults(Strict):
    """Campaign-wide defaults an item may override."""

    open_time: ClockTime = Field(default=time(8, 30), description="time a stage opens on its start date")
    due_time: ClockTime = Field(default=time(23, 59), description="time of a date-only due (23:59 = end of that day)")
    remind_time: ClockTime = Field(default=time(9, 0), description="time day-based reminders and escalations go out")
    reminders: Reminders = Field(default_factory=lambda: Reminders(before=[Offset(3, OffsetUnit.working_days), Offset(1, OffsetUnit.days)]))
    escalation: Escalation = Field(
        default_factory=lambda: Escalation(steps=[EscalationStep(after=Offset(2, OffsetUnit.working_days))])
    )
    postpone: Postpone = Field(default=Postpone.none, description="顺延: none | holidays | holidays_and_weekends")


class Window(Strict):
    """开始—截止. Dates mean the stage opens on `start` at open_time and closes at the end of `end`."""

    start: Due
    end: Due


class PeriodRule(Strict):
    """What differs for one period of a recurring item (e.g. 四季度 due later, or a written date)."""

    due_after_period: OffsetField | None = Field(default=None, description="due this long after this period ends")
    at: ClockTime | None = Field(default=None, description="time of day of this period's due")
    due: Due | None = Field(default=None, description="a written due for this period, e.g. 2021-01-20")


class Recurrence(Strict):
    """An item that repeats each period of the campaign window (每月/每季度/每半年/每年).

    Periods are named `2020-07` (month), `2020Q3`, `2020H2`, `2020`; `M7`, `Q4`, `H2` name that period of every
    year. `periods:` gives one period its own due; `exempt:` lists periods with nothing owed.
    """

    every: Literal["month", "quarter", "half_year", "year"]
    due_after_period: OffsetField = Field(default=Offset(0, OffsetUnit.days), description="due this long after each period ends")
    at: ClockTime | None = Field(default=None, description="time of day of each due (default: defaults.due_time)")
    periods: dict[str, PeriodRule] = Field(default_factory=dict, description="per-period dues: {Q4: {due_after_period: 20 days}}")
    exempt: list[str] = Field(default_factory=list, description="periods with nothing owed, e.g. [Q4] (并入年报)")

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
        from duban.periods import check_period_key

        for key in [*self.periods, *self.exempt]:
            check_period_key(key, self.every)
        return self


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
    note: str | None = Field(default=None, description="how duban read an ambiguous phrase of the notice")

    @field_validator("formats")
    @classmethod
    def _known_formats(cls, value: list[str]) -> list[str]:
        known = {"docx", "doc", "pdf", "xlsx", "xls", "wps", "et", "txt", "jpg", "png", "mp4", "zip", "ofd"}
        normalised = [f.lower().lstrip(".") for f in value]
        unknown = [f for f in normalised if f not in known]
        if unknown:
            raise ValueError(f"unknown file format {unknown[0]!r}; known: {', '.join(sorted(known))}")
        return normalised

    @model_validator(mode="after")
    def _someone_owes_it(self) -> Item:
        if self.units is None and self.lead is None:
            raise ValueError(f"item {self.id!r} names no units: give `units:` (责任单位) or `lead:` (牵头单位)")
        return self


class Stage(Strict):
    """A stage (阶段) of the campaign, in the notice's order."""

    id: Id
    name: str
    window: Window | None = None
    description: str | None = None
    items: list[Item] = Field(default_factory=list)


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
    """One draw of a sample: a count from a set of units, or a minimum per parent unit."""

    from_: Selector = Field(alias="from", description="the units drawn from")
    count: int | None = Field(default=None, ge=1, description="how many units in all")
    min_per_parent: int | None = Field(default=None, ge=1, description="at least this many under each parent")
    per: SpecLevel | None = Field(default=None, description="the parent level for min_per_parent (default: the parent)")

    @model_validator(mode="after")
    def _one_rule(self) -> Draw:
        if (self.count is None) == (self.min_per_parent is None):
            raise ValueError("a draw has exactly one of `count:` or `min_per_parent:`")
        return self


class Sample(Strict):
    """抽查样本: drawn once with a recorded seed, reproducible and auditable."""

    id: Id
    name: str
    draws: list[Draw]
    seed: int = Field(description="the seed, recorded with the draw")
    hidden: bool = Field(default=False, description="hide the sample from sampled units until their item opens")

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
            draw = {k: value.pop(k) for k in ("from", "count", "min_per_parent", "per") if k in value}
            value = {**value, "draws": [draw]}
        return value


class Leader(Strict):
    """A leader who answers for given units (包县区), escalated to when they slip."""

    id: Id
    name: str
    title: str | None = None
    units: Selector
    channels: list[str] = Field(default_factory=list, description="channel references (env:NAME), never URLs")


class Registry(Strict):
    """Where the units come from: MCA division subtrees and an overlay file of bureau units."""

    divisions: list[str] = Field(default_factory=list, description="division codes or names, e.g. [140700]")
    overlay: str | None = Field(default=None, description="overlay YAML, relative to the spec file")

    @field_validator("divisions", mode="before")
    @classmethod
    def _list_of_text(cls, value: Any) -> Any:
        if isinstance(value, (str, int)):
            value = [value]
        return [str(v) for v in value] if isinstance(value, list) else value


class Section(Strict):
    """One heading of the close-out report; `fill` says what duban writes under it from the record."""

    heading: str
    prompt: str | None = Field(default=None, description="what the writer should add (shown in the draft as 【起草提示】)")
    fill: Literal["leadership", "activities", "completion", "problems", "next_steps", "none"] | None = Field(
        default=None,
        description="leadership (领导/组织) | activities (开展情况) | completion (完成情况, figures) | problems (存在问题) | "
        "next_steps (下一步) | none; default: read from the heading",
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
    forwards: list[Document] = Field(default_factory=list, description="the upper notices this one implements or forwards")
    forwarded_by: list[Document] = Field(default_factory=list, description="re-issues down the chain (转发)")
    timezone: str = "Asia/Shanghai"
    window: Window | None = Field(default=None, description="the campaign's own window (活动时间)")
    registry: Registry
    groups: dict[str, Selector] = Field(default_factory=dict, description="named selectors")
    contacts: list[Contact] = Field(default_factory=list)
    defaults: Defaults = Field(default_factory=Defaults)
    leaders: list[Leader] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    samples: list[Sample] = Field(default_factory=list)
    stages: list[Stage] = Field(min_length=1)
    report: Report | None = None
    notes: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone(value)
        return value

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

    def items(self):
        """(stage, item) pairs in the notice's order."""
        for stage in self.stages:
            for item in stage.items:
                yield stage, item

