"""An amendment (调整通知): a later notice that changes deadlines of a running campaign.

    campaign: jinzhong-2024-lookback
    issuer: 晋中市统计局
    doc_no: 晋统字〔2024〕15号
    issued_on: 2024-06-12
    title: 关于调整"回头看"县级检查时间的通知
    reason: 因防汛工作安排，县级检查阶段延长至6月20日
    changes:
      - {stage: county_check, end: 2024-06-20}         # the stage's window; its items without a due follow
      - {item: materials_upload, due: 2024-07-05}
      - {item: press_conferences, instance: 2020Q4, due: 2021-01-20}   # one period of a recurring item

The campaign's spec file is not edited: the amendment is its own document, kept with the campaign's record
and applied on top of the spec (`duban amend SPEC AMENDMENT.yaml`). Only what it names changes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, ValidationError, model_validator

from duban.spec.files import decode, read_bytes
from duban.spec.load import validation_errors
from duban.spec.models import Campaign, Id, PeriodRule, Strict, Window
from duban.spec.source import Source, read_source
from duban.spec.terms import Due, OffsetField, SpecDate


class Change(Strict):
    """One change: a stage's window, or an item's opening or due (one period's, for a recurring item)."""

    stage: Id | None = Field(default=None, description="the stage whose window changes")
    item: Id | None = Field(default=None, description="the item whose opening or due changes")
    instance: str | None = Field(default=None, description="one period of a recurring item, e.g. 2020Q4")
    start: Due | None = Field(default=None, description="the stage's new start")
    end: Due | None = Field(default=None, description="the stage's new end (its items without a due follow)")
    opens: Due | None = Field(default=None, description="the item's new opening")
    due: Due | None = Field(default=None, description="the item's (or the period's) new due")
    due_after_period: OffsetField | None = Field(default=None, description="a recurring item's new rule")

    @model_validator(mode="after")
    def _one_target(self) -> Change:
        if (self.stage is None) == (self.item is None):
            raise ValueError("a change names exactly one of `stage:` or `item:`")
        if self.stage is not None:
            if any(v is not None for v in (self.instance, self.opens, self.due, self.due_after_period)):
                raise ValueError("a stage change takes `start:` and `end:` only (change items with `item:`)")
            if self.start is None and self.end is None:
                raise ValueError(f"change of stage {self.stage!r} says neither `start:` nor `end:`")
            return self
        if self.start is not None or self.end is not None:
            raise ValueError("`start:`/`end:` change a stage's window; for an item write `opens:` or `due:`")
        if self.opens is None and self.due is None and self.due_after_period is None:
            raise ValueError(f"change of item {self.item!r} says neither `opens:`, `due:` nor `due_after_period:`")
        return self

    @property
    def target(self) -> str:
        if self.stage is not None:
            return f"stage:{self.stage}"
        return f"item:{self.item}" + (f"@{self.instance}" if self.instance else "")


class Amendment(Strict):
    """A later notice changing a running campaign's dates: who issued it, its number, why, and what changes."""

    campaign: Id = Field(description="the id of the campaign it amends")
    issuer: str
    doc_no: str | None = Field(default=None, description="文号 of the amending notice")
    title: str | None = None
    issued_on: SpecDate | None = None
    reason: str = Field(min_length=1, description="why (told to the units and kept in the record)")
    changes: list[Change] = Field(min_length=1)


@dataclass(frozen=True)
class LoadedAmendment:
    amendment: Amendment
    source: Source
    path: str
    text: str
    sha256: str


def load_amendment(path: Path | str, *, text: str | None = None) -> LoadedAmendment:
    """Read and validate an amendment file; problems are SpecErrors naming file, line and YAML path."""
    if text is None:
        text = decode(read_bytes(path, what="amendment"), str(path))
    source = read_source(path, text=text)
    if not isinstance(source.data, dict):
        raise source.error((), "an amendment is a mapping (campaign, issuer, doc_no, reason, changes)")
    try:
        amendment = Amendment.model_validate(source.data)
    except ValidationError as exc:
        raise validation_errors(source, exc, Amendment) from None
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return LoadedAmendment(amendment, source, str(path), text, digest)


def check_targets(loaded: LoadedAmendment, campaign: Campaign) -> None:
    """Every stage and item named exists in the campaign, and each change fits its target."""
    amendment = loaded.amendment
    if amendment.campaign != campaign.id:
        raise loaded.source.error(
            ("campaign",), f"this amendment is for campaign {amendment.campaign!r}, not {campaign.id!r}"
        )
    stages = {s.id: s for s in campaign.stages}
    items = {i.id: i for _s, i in campaign.items()}
    first: dict[str, int] = {}
    for index, change in enumerate(amendment.changes):
        where = ("changes", index)
        if change.target in first:  # as a spec refuses an id twice: which of the two dates did the notice mean?
            earlier = first[change.target]
            named = f"stage {change.stage!r}" if change.stage is not None else f"item {change.item!r}"
            if change.instance is not None:
                named = f"period {change.instance} of {named}"
            raise loaded.source.error(
                where,
                f"{named} is changed twice (first in changes[{earlier}], line "
                f"{loaded.source.line_of(('changes', earlier))}): say all its changes in one entry",
            )
        first[change.target] = index
        if change.stage is not None and change.stage not in stages:
            raise loaded.source.error(
                (*where, "stage"),
                f"campaign {campaign.id!r} has no stage {change.stage!r}; stages: {', '.join(stages)}",
            )
        if (
            change.stage is not None
            and stages[change.stage].window is None
            and (change.start is None or change.end is None)
        ):
            raise loaded.source.error(
                where, f"stage {change.stage!r} has no window of its own: give both `start:` and `end:`"
            )
        if change.item is None:
            continue
        if change.item not in items:
            raise loaded.source.error(
                (*where, "item"), f"campaign {campaign.id!r} has no item {change.item!r}; items: {', '.join(items)}"
            )
        every = items[change.item].every
        if every is None and (change.instance is not None or change.due_after_period is not None):
            raise loaded.source.error(where, f"item {change.item!r} does not repeat: change its `due:` (no instance)")
        if every is not None and change.due is not None and change.instance is None:
            raise loaded.source.error(
                where,
                f"item {change.item!r} repeats each {every.every}: name the period with "
                "`instance:` (e.g. 2020Q4), or change `due_after_period:`",
            )
        if every is not None and change.instance is not None:
            from duban.domain.periods import check_period_key

            try:
                check_period_key(change.instance, every.every)
            except ValueError as exc:
                raise loaded.source.error((*where, "instance"), str(exc)) from None


def amended_campaign(campaign: Campaign, amendments: list[Amendment]) -> Campaign:
    """The campaign as the amendments (in the order they were issued) leave it; the original is not touched."""
    if not amendments:
        return campaign
    result = campaign.model_copy(deep=True)
    stages = {s.id: s for s in result.stages}
    items = {i.id: i for _s, i in result.items()}
    for amendment in amendments:
        for change in amendment.changes:
            if change.stage is not None:
                stage = stages[change.stage]
                old = stage.window
                stage.window = Window(start=change.start or old.start, end=change.end or old.end)  # type: ignore[union-attr]
                continue
            item = items[change.item]
            if change.opens is not None:
                item.opens = change.opens
            if item.every is None:
                if change.due is not None:
                    item.due = change.due
                continue
            if change.due_after_period is not None and change.instance is None:
                item.every.due_after_period = change.due_after_period
            if change.instance is not None:
                rule = item.every.periods.get(change.instance) or PeriodRule()
                updates: dict = {"due": change.due} if change.due is not None else {}
                if change.due_after_period is not None:
                    updates = {"due_after_period": change.due_after_period, "due": change.due}
                item.every.periods = {**item.every.periods, change.instance: rule.model_copy(update=updates)}
    return result
