"""What the database raises when it fails a statement, named for the layers above the store, which catch it
without importing SQLAlchemy (the portal keeps an upload whose receipt message could not be composed at once)."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError as DatabaseError

__all__ = ["DatabaseError"]
