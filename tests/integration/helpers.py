"""Helpers for integration tests: plan the 晋中 campaign into an engine, snapshot tables, tick a campaign."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from duban.instants import parse_instant
from duban.services.compose import compose_messages
from duban.services.lifecycle import ensure_planned
from duban.services.tick import tick_stage
from duban.store.tables import Assignment, Intent, OutboxMessage, Submission, TransitionRow
from tests.conftest import JINZHONG

CAMPAIGN = "jinzhong-2024-lookback"
STAGES = ["self_assessment", "county_check", "city_check", "materials"]


def at(text: str) -> datetime:
    return parse_instant(text, "Asia/Shanghai")


def plan_jinzhong(engine) -> str:
    return ensure_planned(engine, JINZHONG, now=at("2024-05-09 12:00")).campaign_id


def tick(engine, moment: datetime, campaign: str = CAMPAIGN, **spread) -> dict:
    """Every stage of the campaign ticked at `moment`, then its messages composed; `spread`: writers and
    spread_from for both (PostgreSQL's opening in several transactions at once)."""
    results = {s: tick_stage(engine, campaign, s, moment, **spread) for s in STAGES}
    compose_messages(engine, campaign, moment, **spread)
    return results


def snapshot(engine) -> dict:
    """Every row of the tables a tick writes, for before/after comparisons."""
    tables = {
        "assignment": Assignment,
        "transition": TransitionRow,
        "intent": Intent,
        "outbox": OutboxMessage,
        "submission": Submission,
    }
    with engine.connect() as conn:
        return {
            name: sorted(tuple(str(v) for v in row) for row in conn.execute(select(model.__table__)))
            for name, model in tables.items()
        }


def transitions(engine, since: datetime, until: datetime) -> list[tuple]:
    """(unit, item, event, step, event_at) of transitions scheduled in (since, until]."""
    t, a = TransitionRow.__table__, Assignment.__table__
    with engine.connect() as conn:
        rows = conn.execute(
            select(a.c.unit_code, a.c.item_id, t.c.event, t.c.step, t.c.event_at)
            .join(a, a.c.id == t.c.assignment_id)
            .where(t.c.event_at > since, t.c.event_at <= until)
        ).all()
    return sorted(tuple(r) for r in rows)
