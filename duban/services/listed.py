"""Lists (名录) kept in the database: `duban units import` stores a checked list in one transaction, updated in
place with every earlier spell kept (duban.store.listed)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from duban.errors import DubanError
from duban.store.listed import ImportResult, import_list

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from duban.domain.listed import ReadList


def import_listed(
    engine: Engine,
    list_name: str,
    read: ReadList,
    *,
    now: datetime,
    actor: str = "cli",
    delisting: bool = False,
    dropping: bool = False,
) -> ImportResult:
    """Store `read` (every row checked by duban.domain.listed.read_list) as list `list_name`: what was added,
    changed, no longer listed and left as it was. A file that drops more than half of the units listed now is
    refused unless `delisting`, one that clears an attribute they carry unless `dropping`
    (duban.store.listed.import_list). The campaigns planned over the list send to a changed row's new 邮箱/渠道
    from then on, their waiting messages too, where they still hold the list's old ones; the rest of their copy
    of the list stays as planned (`reached` says how many units of each)."""
    planned = campaigns_over(engine, list_name)
    return import_list(
        engine,
        list_name,
        read,
        now=now,
        actor=actor,
        delisting=delisting,
        dropping=dropping,
        campaigns=planned,
    )


def campaigns_over(engine: Engine, list_name: str) -> list[str]:
    """The campaigns of the database planned over stored list `list_name`: they keep its units, names and
    attributes as they were at their planning; a re-import corrects only the channels they send to (an outside
    tester's finding: the corrected address was never used)."""
    from duban.views.campaigns import campaign_ids, load_campaign

    found = []
    for campaign_id in campaign_ids(engine):
        try:
            spec = load_campaign(engine, campaign_id, units=False).spec
        except DubanError:  # a campaign whose stored spec no longer reads: not one to tell of
            continue
        if any(unit_list.name == list_name for unit_list in spec.registry.lists):
            found.append(campaign_id)
    return found
