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
