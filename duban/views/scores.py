"""Score sheets (评分表) on the operators' pages: which samples are scored, each sampled unit's latest scores and
整改, and a unit's scores read from a form.

Scores are kept only through `record_scores`, as the xlsx import keeps them: totals, 达标, a 整改 assignment
for a failing unit, every version. This module reads what the pages show and turns a form into `UnitScores`,
with every problem in Chinese at its field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from duban.domain.scoring import (
    UnitScores,
    check_scores,
    find_sheet,
    inspection_day,
    inspection_words,
    sample_label,
)
from duban.domain.standing import row_state_at
from duban.domain.state import State
from duban.spec.models import Sample, ScoreSheet
from duban.store.db import reading
from duban.store.scores import follow_ups_of, sheet_records, unit_records
from duban.store.tables import ScoreRecord
from duban.views.campaigns import PlannedCampaign, Recipient, load_campaign
from duban.views.registry import units_by_code
from duban.views.samples import sample_members, still_hidden

if TYPE_CHECKING:
    from sqlalchemy import Engine

GROUP_ABOVE = 60  # a larger sample is shown by parent unit first


@dataclass(frozen=True)
class FollowUp:
    """A failing unit's 整改 as of now."""

    state: State
    due_at: datetime


@dataclass
class ScoredUnit:
    """One sampled unit: who it is, its latest scores (None before any), how many versions, its 整改."""

    unit: Recipient
    parent: str
    latest: ScoreRecord | None = None
    versions: int = 0
    follow_up: FollowUp | None = None


@dataclass(frozen=True)
class SampleSummary:
    sheet: ScoreSheet
    sample: Sample
    members: int
    scored: int
    failed: int
    hidden_until: datetime | None  # a hidden sample's check has not opened yet


@dataclass
class Group:
    code: str
    display: str
    members: int
    scored: int
    failed: int


@dataclass
class SampleScores:
    """The page of one sample on one score sheet: its units (those under `under`), or its groups by parent."""

    campaign: PlannedCampaign
    sheet: ScoreSheet
    sample: Sample
    members: int
    scored: int
    failed: int
    units: list[ScoredUnit]
    groups: list[Group] = field(default_factory=list)
    under: Recipient | None = None
    hidden_until: datetime | None = None


def score_sheets(engine: Engine, campaign_id: str, as_of: datetime) -> list[SampleSummary]:
    """Every (score sheet, sample) of the campaign with how far its scoring has come."""
    campaign = load_campaign(engine, campaign_id, units=False)
    samples = {s.id: s for s in campaign.spec.samples}
    out = []
    for sheet in campaign.spec.score_sheets:
        for sample_id in sheet.samples:
            members = sample_members(engine, campaign_id, sample_id)
            latest = _latest(engine, campaign_id, sheet.id, sample_id)
            out.append(
                SampleSummary(
                    sheet,
                    samples[sample_id],
                    len(members),
                    len(latest),
                    sum(not r.passed for r, _n in latest.values()),
                    still_hidden(engine, campaign.spec, campaign_id, sample_id, as_of),
                )
            )
    return out


def sample_scores(
    engine: Engine, campaign_id: str, sheet_id: str, sample_id: str, as_of: datetime, *, under: str | None = None
) -> SampleScores:
    """The sample's units with their latest scores; a large sample without `under` comes as groups by parent."""
    campaign = load_campaign(engine, campaign_id, units=False)
    sheet = find_sheet(campaign.spec, sheet_id, sample_id)
    sample = next(s for s in campaign.spec.samples if s.id == sample_id)
    members = sample_members(engine, campaign_id, sample_id)
    latest = _latest(engine, campaign_id, sheet.id, sample_id)
    with reading(engine) as conn:
        units = units_by_code(conn, campaign_id, members)
        parents = units_by_code(conn, campaign_id, {u.parent for u in units.values() if u.parent})
        chosen = units_by_code(conn, campaign_id, [under]).get(under) if under else None
    page = SampleScores(
        campaign,
        sheet,
        sample,
        len(members),
        len(latest),
        sum(not r.passed for r, _n in latest.values()),
        [],
        under=chosen,
        hidden_until=still_hidden(engine, campaign.spec, campaign_id, sample_id, as_of),
    )
    ordered = sorted((units[c] for c in members if c in units), key=lambda u: (u.parent or "", u.code))
    if chosen is not None:
        ordered = [u for u in ordered if _under(u, chosen.code, units, parents)]
    elif len(ordered) > GROUP_ABOVE:
        page.groups = _groups(ordered, parents, latest)
        return page
    follow = _follow_ups(engine, campaign, sheet, sample, [u.code for u in ordered], as_of)
    for unit in ordered:
        record, versions = latest.get(unit.code, (None, 0))
        parent = parents.get(unit.parent or "")
        page.units.append(ScoredUnit(unit, parent.display if parent else "", record, versions, follow.get(unit.code)))
    return page


def _under(unit: Recipient, root: str, units: dict[str, Recipient], parents: dict[str, Recipient]) -> bool:
    code: str | None = unit.code
    for _ in range(12):
        if code == root:
            return True
        known = units.get(code or "") or parents.get(code or "")
        code = known.parent if known else None
        if code is None:
            return False
    return False


def _groups(units: list[Recipient], parents: dict[str, Recipient], latest: dict) -> list[Group]:
    groups: dict[str, Group] = {}
    for unit in units:
        key = unit.parent or ""
        parent = parents.get(key)
        group = groups.setdefault(key, Group(key, parent.display if parent else "（无上级）", 0, 0, 0))
        group.members += 1
        if unit.code in latest:
            group.scored += 1
            group.failed += not latest[unit.code][0].passed
    return list(groups.values())


def _latest(
    engine: Engine, campaign_id: str, sheet_id: str, sample_id: str, units: Iterable[str] | None = None
) -> dict[str, tuple[ScoreRecord, int]]:
    """Unit → (its latest scores, how many versions) on the sheet for the sample."""
    found: dict[str, tuple[ScoreRecord, int]] = {}
    for record in sheet_records(engine, campaign_id, sheet_id, sample_id, units):
        found[record.unit_code] = (record, found.get(record.unit_code, (None, 0))[1] + 1)
    return found


def _follow_ups(
    engine: Engine, campaign: PlannedCampaign, sheet: ScoreSheet, sample: Sample, codes: list[str], as_of: datetime
) -> dict[str, FollowUp]:
    if sheet.follow_up is None or not codes:
        return {}
    rows = follow_ups_of(engine, campaign.id, sheet.follow_up.id, sample_label(sample.name), codes)
    return {r.unit_code: FollowUp(row_state_at(r, as_of), r.due_at) for r in rows}


def unit_scores(engine: Engine, campaign_id: str, codes: Iterable[str]) -> dict[str, list[tuple[ScoreRecord, int]]]:
    """Unit → its latest scores on every (sheet, sample) it was scored on, with the number of versions."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    found: dict[tuple[str, str, str], tuple[ScoreRecord, int]] = {}
    for record in unit_records(engine, campaign_id, wanted):
        key = (record.unit_code, record.sheet_id, record.sample_id)
        found[key] = (record, found.get(key, (None, 0))[1] + 1)
    out: dict[str, list[tuple[ScoreRecord, int]]] = {}
    for (code, _sheet, _sample), value in sorted(found.items()):
        out.setdefault(code, []).append(value)
    return out


def form_entry(
    sheet: ScoreSheet, unit: Recipient, form: Mapping[str, str], today: date, members: list[str]
) -> tuple[UnitScores, dict[str, str]]:
    """The scores a form holds for one unit, and every problem by field (p_<item>, inspector, inspected_on, note),
    in Chinese. The same checks as an import (a number, 0 to the maximum, every item; a 检查人 and 备注 without a
    character nobody sees, not longer than the report keeps), and an inspector and a date."""
    points = {item.id: (form.get(f"p_{item.id}") or "").strip() or None for item in sheet.items}
    inspector, inspector_wrong = inspection_words(form.get("inspector"), "检查人")
    day = (form.get("inspected_on") or "").strip()
    note, note_wrong = inspection_words(form.get("note"), "备注")
    entry = UnitScores(
        unit.code,
        points,
        inspector or None,
        day or None,
        note or None,
        cells={"unit": unit.display, **{item.id: unit.display for item in sheet.items}},
    )
    problems: dict[str, str] = {}
    for problem in check_scores(sheet, [entry], members, {unit.code: unit.display}):
        problems[f"p_{problem.item_id}" if problem.item_id else "unit"] = problem.short_cn
    if not inspector:
        problems["inspector"] = "请填写检查人"
    elif inspector_wrong:
        problems["inspector"] = inspector_wrong
    if note_wrong:
        problems["note"] = note_wrong
    when, wrong = inspection_day(day, today)  # the same check as a score sheet's 检查日期 column
    if not day:
        problems["inspected_on"] = "请填写检查日期"
    elif wrong:
        problems["inspected_on"] = wrong
    else:
        assert when is not None  # a day written (stripped, not empty) is a date or says what is wrong with it
        entry.inspected_on = when.isoformat()
    return entry, problems
