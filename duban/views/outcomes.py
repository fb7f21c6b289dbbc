"""Outcomes recorded for slipping units (约谈, 通报批评, 重新开展) as the operators read them: on a unit's /ops page
and in the 汇总表's 处理情况 sheet — each in the notice's words, with the item, when it was decided and, when the
unit owes it, by when. Read at `as_of`, so a preview (`duban serve --as-of`) shows only what was decided by then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from duban.store.outcomes import outcomes_listed, unit_outcomes
from duban.views.campaigns import PlannedCampaign

if TYPE_CHECKING:
    from sqlalchemy import Engine

SHEET_ROWS = 1_000_000  # an xlsx sheet holds 1,048,576 rows; more would not open


@dataclass(frozen=True)
class Outcome:
    """One outcome as a page or a sheet lists it."""

    unit_code: str
    item: str  # the item's name, with its period (期次) when it recurs
    words: str  # 逾期3个工作日未报：约谈
    decided_at: datetime
    due_at: datetime | None  # owed as an item: by when


def has_outcome_rules(campaign: PlannedCampaign) -> bool:
    """Whether the notice names any outcome (so a 处理情况 sheet says "none yet" rather than being left out)."""
    spec = campaign.spec
    return bool(spec.defaults.outcomes) or any(item.outcomes for _stage, item in spec.items())


def outcomes_of_unit(engine: Engine, campaign: PlannedCampaign, unit_code: str, as_of: datetime) -> list[Outcome]:
    """The outcomes decided for one unit by `as_of`, the earliest first."""
    with engine.connect() as conn:
        return _as_listed(campaign, unit_outcomes(conn, campaign.id, unit_code, as_of))


def outcomes_of_campaign(engine: Engine, campaign: PlannedCampaign, as_of: datetime) -> list[Outcome]:
    """Every outcome decided by `as_of` (as many as a sheet holds), the earliest first."""
    with engine.connect() as conn:
        return _as_listed(campaign, outcomes_listed(conn, campaign.id, as_of, SHEET_ROWS))


def _as_listed(campaign: PlannedCampaign, rows: list) -> list[Outcome]:
    names = {item.id: item.name for _stage, item in campaign.spec.items()}
    return [
        Outcome(
            unit_code=r.unit_code,
            item=names.get(r.item_id, r.item_id) + (f"（{r.instance}）" if r.instance else ""),
            words=r.words,
            decided_at=r.decided_at,
            due_at=r.due_at,
        )
        for r in rows
    ]
