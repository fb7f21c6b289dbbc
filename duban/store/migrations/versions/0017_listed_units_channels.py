"""a listed unit's channels

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07

A 名录 import keeps each listed unit's channels (its 邮箱 as mail:ADDRESS, or env:NAME / secret:NAME references)
on its spell, as its contact and phone: a changed address opens a new spell. Units imported before this revision
have none (messaged through DUBAN_FALLBACK_CHANNELS, as before). Follows 0016.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0017'
down_revision: Union[str, Sequence[str], None] = '0016'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    # a plain ADD COLUMN (SQLite and PostgreSQL alike): no copy of a table that may hold a million spells
    op.add_column('listed_unit', sa.Column('channels', sa.JSON(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column('listed_unit', 'channels')  # SQLite 3.35+ drops a column in place
