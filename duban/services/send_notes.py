"""What a message adds when it goes out, read from the record then: a roll-up's units below still missing
(duban.services.rollup_notes), a 牵头/配合 unit's partners (duban.services.role_notes) and the on-time first hand-in
a correction after the due corrects (duban.services.receipt_notes), and a receipt's files and figures
(duban.services.receipt_contents), and the instant an opening's 签收 is due (duban.services.ack_notes).

The dispatcher, the simulation's dry send and `duban outbox show` of a waiting message call `told_at_send`; what
was sent is kept with the message, so the record shows the words staff read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from duban.services.ack_notes import name_ack_dues
from duban.services.receipt_contents import name_received
from duban.services.receipt_notes import name_corrected
from duban.services.role_notes import name_partners
from duban.services.rollup_notes import name_missing

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from duban.views.campaigns import PlannedCampaign


def told_at_send(conn: Connection, campaign: PlannedCampaign, payloads: list[dict]) -> list[dict | None]:
    """Each payload with what the send adds, or None where it adds nothing."""
    missing = name_missing(conn, campaign, payloads)
    current = [m if m is not None else p for m, p in zip(missing, payloads)]
    partners = name_partners(conn, campaign, current)
    current = [p if p is not None else c for p, c in zip(partners, current)]
    corrected = name_corrected(conn, campaign, current)
    current = [c if c is not None else p for c, p in zip(corrected, current)]
    received = name_received(conn, campaign, current)
    current = [r if r is not None else c for r, c in zip(received, current)]
    asked = name_ack_dues(conn, campaign, current)
    told = [missing, partners, corrected, received, asked]
    return [next((step[n] for step in reversed(told) if step[n] is not None), None) for n in range(len(payloads))]
