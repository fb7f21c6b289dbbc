"""Questions about a campaign's units that an index answers by skipping, not by reading every unit."""

from __future__ import annotations

from sqlalchemy import Connection

from duban.store.codec import Codec

# A loose index scan of ix_campaign_unit_parent: each step seeks the next parent code after the last, so the
# cost follows the number of parents (3,400 for a nation), not of units (a million with listed enterprises).
_PARENTS = (
    "WITH RECURSIVE p(code) AS ("
    "SELECT (SELECT MIN(parent_code) FROM campaign_unit WHERE campaign_id = ?) "
    "UNION ALL SELECT (SELECT MIN(u.parent_code) FROM campaign_unit AS u WHERE u.campaign_id = ? "
    "AND u.parent_code > p.code) FROM p WHERE p.code IS NOT NULL) "
    "SELECT code FROM p WHERE code IS NOT NULL"
)


def parent_codes(conn: Connection, campaign_id: str) -> list[str]:
    """The codes that some unit of the campaign names as its parent, in order."""
    return [row[0] for row in Codec(conn).select(_PARENTS, [campaign_id, campaign_id])]


# The same skipping over ix_assignment_unit: a page of the codes that hold a duty, in order, in offset + limit seeks
# (a GROUP BY or DISTINCT reads all 4.2 million assignments of a million units' campaign).
_DUTY_CODES = (
    "WITH RECURSIVE u(code, n) AS ("
    "SELECT (SELECT MIN(unit_code) FROM assignment WHERE campaign_id = ?), 1 "
    "UNION ALL SELECT (SELECT MIN(a.unit_code) FROM assignment AS a WHERE a.campaign_id = ? "
    "AND a.unit_code > u.code), u.n + 1 FROM u WHERE u.code IS NOT NULL AND u.n < ?) "
    "SELECT code FROM u WHERE code IS NOT NULL ORDER BY n LIMIT ? OFFSET ?"
)


def duty_codes(conn: Connection, campaign_id: str, offset: int, limit: int) -> list[str]:
    """The codes of the units holding a duty in the campaign, in order, from `offset` (at most `limit`)."""
    rows = Codec(conn).select(_DUTY_CODES, [campaign_id, campaign_id, offset + limit, limit, offset])
    return [row[0] for row in rows]
