"""审核 (reviews) as the pages read them: the queue waiting for review and the reviews kept.

Accepting or returning a version is duban.services.review.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from duban.store import review_rows as store

if TYPE_CHECKING:
    from sqlalchemy import Engine


def review_queue(engine: Engine, campaign_id: str, *, parent: str | None = None, limit: int = 200) -> list[Any]:
    """Assignments waiting for review, the longest waiting first (only `parent`'s children's, when given)."""
    return store.waiting_for_review(engine, campaign_id, parent=parent, limit=limit)


def reviews_of(engine: Engine, campaign_id: str, *, unit_code: str | None = None) -> list[Any]:
    """Every review of the campaign (or of one unit), oldest first."""
    return store.reviews(engine, campaign_id, unit_code=unit_code)
