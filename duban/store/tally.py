"""The assignment tally read back: a campaign's counts per stage, item and state, and its units holding a duty.

The triggers of duban/store/tally_sql.py keep them with every change of an assignment; reading them costs a few
rows however large the campaign (the dashboard of a million enterprises' campaign no longer counts 4.2 million
assignments per page).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection

from duban.store.codec import Codec
from duban.store.tally_sql import COMPACT, RECOUNT, TABLE, UNITS_KEY


@dataclass
class Tally:
    """A campaign's kept counts: (stage, item, state) → (assignments, of them with an instance); units with duties."""

    counts: dict[tuple[str, str, str], tuple[int, int]] = field(default_factory=dict)
    units: int = 0

    def items_with_instances(self) -> set[str]:
        """The items with an instance on some assignment (a recurring item, a 整改 per sample)."""
        return {item for (_stage, item, _state), (_n, instanced) in self.counts.items() if instanced}

    def by_item_state(self) -> dict[tuple[str, str], int]:
        """(item, state) → assignments."""
        out: dict[tuple[str, str], int] = {}
        for (_stage, item, state), (n, _instanced) in self.counts.items():
            out[item, state] = out.get((item, state), 0) + n
        return out


def _tally(rows) -> Tally:
    found = Tally()
    for stage, item, state, n, instanced in rows:
        if (stage, item, state) == UNITS_KEY:
            found.units += int(n)
        elif n or instanced:
            found.counts[stage, item, state] = (int(n), int(instanced))
    return found


def read_tally(conn: Connection, campaign_id: str) -> Tally:
    """The campaign's kept counts (a few rows, summed per key)."""
    rows = Codec(conn).select(
        f"SELECT stage_id, item_id, state, SUM(n), SUM(instanced) FROM {TABLE} WHERE campaign_id = ? "
        "GROUP BY stage_id, item_id, state",
        [campaign_id],
    )
    return _tally(rows)


def recount(conn: Connection, campaign_id: str) -> Tally:
    """The same counts worked out from every assignment of the campaign (what the tally must equal)."""
    where = "WHERE campaign_id = ? "
    rows = Codec(conn).select(RECOUNT.format(where=where), [campaign_id, campaign_id])
    return _tally(row[1:] for row in rows)


def compact_tally(codec: Codec, campaign_id: str) -> None:
    """PostgreSQL: fold the campaign's tally rows into one per key once they are many (see tally_sql)."""
    if not codec.sqlite:
        codec.execute(COMPACT, [campaign_id, campaign_id, campaign_id])
