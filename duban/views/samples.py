"""When a hidden sample (不提前告知) shows, read from the record: the first opening of an item drawing on it.

Before then nothing may tell a sampled unit: not a page, not a message, and not a 整改 assignment born of a
score. Scores of a hidden sample are therefore refused until it shows (an inspector cannot have scored a
check that has not begun). The instant is the earliest `open_at` among the assignments of the items that draw
on the sample or on a sample drawn from it, the same instant at which those items appear on the units' pages.
A sample's members as recorded are read here too (the score sheets' pages and the scores service ask for them).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from duban.domain.hidden_samples import item_samples, samples_used
from duban.errors import SubmissionError
from duban.instants import utc
from duban.spec.models import Campaign, Selector
from duban.store.samples import drawn_members, first_opening

if TYPE_CHECKING:
    from sqlalchemy import Engine


def drawing_items(spec: Campaign, sample_id: str) -> set[str]:
    """Items whose units come from the sample or from a sample drawn from it."""
    family = {sample_id} | {
        s.id
        for s in spec.samples
        if sample_id in samples_used(Selector(any_of=[d.from_ for d in s.draws]), spec.groups)
    }
    follow_ups = {s.follow_up.id for s in spec.score_sheets if s.follow_up is not None}
    return {item.id for _stage, item in spec.items() if item.id not in follow_ups and item_samples(spec, item) & family}


def revealed_at(engine: Engine, spec: Campaign, campaign_id: str, sample_id: str) -> datetime | None:
    """When a hidden sample shows (None for a sample that is not hidden, or that no item draws on)."""
    sample = next((s for s in spec.samples if s.id == sample_id), None)
    if sample is None or not sample.hidden:
        return None
    items = drawing_items(spec, sample_id)
    if not items:
        return None
    return first_opening(engine, campaign_id, sorted(items))


def still_hidden(engine: Engine, spec: Campaign, campaign_id: str, sample_id: str, at: datetime) -> datetime | None:
    """The reveal instant when the sample is still hidden at `at`, else None."""
    reveal = revealed_at(engine, spec, campaign_id, sample_id)
    return reveal if reveal is not None and utc(at) < reveal else None


def sample_members(engine: Engine, campaign_id: str, sample_id: str) -> list[str]:
    """The members of a sample as recorded when the campaign was planned."""
    members = drawn_members(engine, campaign_id, sample_id)
    if members is None:
        raise SubmissionError(f"campaign {campaign_id!r} has no recorded sample {sample_id!r}")
    return list(members)
