"""红黄绿 counted in the database: the colour counts the matrix shows, per item and over the units of a colour.

The counting is SQL over the stored states (duban.store.colors), corrected for the assignments the tick has not
reached yet: those are grouped by what decides their state and each group is advanced once. The answers correct
the counts (an item with one assignment per unit: its cell is that assignment) or go back into the query as a
CASE (the per-unit colour, items with several instances per unit).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from duban.domain.lead_cover import covered_state, duty_key, handed_in_late, lead_rows
from duban.domain.state import Color, State, color
from duban.store.colors import (
    NO_STALE,
    RANKS,
    Scope,
    Stale,
    cooperating_owed,
    items_owed,
    late_cells,
    late_in_review,
    leads_handed_in,
    several_instances,
    single_states,
    stale_at,
    units_of_rank,
    worst_cells,
)
from duban.store.tally import Tally

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from duban.spec.models import Campaign


def rank_of(state: str) -> int:
    return RANKS.index(color(State(state)))


def item_counts(
    conn: Connection, scope: Scope, stale: Stale, multi: set[str] | None = None, kept: Tally | None = None
) -> dict[str, Counter]:
    """Item → colours of its cells (a unit's worst over its instances) over the units of `scope`.

    `kept`: the campaign's tally (duban.store.tally), when `scope` is the whole campaign — the items with one
    assignment per unit are counted from it instead of from every assignment."""
    multi = several_instances(conn, scope) if multi is None else multi
    counts: dict[str, Counter] = defaultdict(Counter)
    states: Iterable[tuple[str, str, int]]
    if kept is not None:
        states = ((item, state, n) for (item, state), n in kept.by_item_state().items() if item not in multi)
    else:
        states = single_states(conn, scope, multi)
    for item_id, state, n in states:
        counts[item_id][RANKS[rank_of(state)]] += n
    for item_id, n in late_in_review(conn, scope, multi):  # counted green by their state: yellow, as late ones
        counts[item_id][Color.green] -= n
        counts[item_id][Color.yellow] += n
    for item_id, state, now, n in stale.groups:  # one assignment per unit: its cell moves with it
        if item_id not in multi:
            counts[item_id][RANKS[rank_of(state)]] -= n
            counts[item_id][RANKS[now]] += n
    if multi:
        for item_id, worst_rank, n in worst_cells(conn, scope, stale, multi):
            counts[item_id][RANKS[worst_rank]] += n
        for item_id, stored, late in late_cells(conn, scope, stale, multi):
            counts[item_id][RANKS[stored]] -= 1
            counts[item_id][RANKS[late]] += 1
    return {item: Counter({c: n for c, n in counter.items() if n > 0}) for item, counter in counts.items()}


def units_of_colour(
    conn: Connection, stage_ids: list[str], scope: Scope, stale: Stale, rank: int, as_of: datetime, multi: set[str]
) -> tuple[list[str], dict[str, Counter], set[str]]:
    """The units whose worst colour has `rank`, in code order; item → colours over them; every item owed."""
    codes = units_of_rank(conn, scope, stale, rank)
    owed = items_owed(conn, scope)
    matching = replace(scope, codes=codes)  # the list, not the query again: it was just computed
    counts = item_counts(
        conn, matching, stale_at(conn, stage_ids, matching, as_of) if stale.groups else NO_STALE, multi
    )
    return codes, counts, owed


def covered_by_leads(conn: Connection, spec: Campaign, scope: Scope) -> list[tuple[Any, State, bool]]:
    """The 配合 assignments of `scope` its 牵头 unit's hand-in covers (duban.domain.lead_cover), each with the lead's
    state and whether that came late: the few rows every view reads as the lead's, as status does (the colours
    index counts them by their own state)."""
    items = {item.id for _stage, item in spec.items() if item.cooperating is not None}
    if not items:
        return []
    leads = lead_rows(leads_handed_in(conn, scope.campaign_id, items))
    found = []
    for row in cooperating_owed(conn, scope, items) if leads else ():
        for lead in leads.get(duty_key(row.unit_code, row.item_id, row.instance), ()):
            if (covered := covered_state(State(row.state), State(lead.state))) is not None:
                found.append((row, covered, handed_in_late(lead)))
                break
    return found
