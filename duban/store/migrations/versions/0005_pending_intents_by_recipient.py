"""pending intents: a partial index by recipient, only the intents not yet in a message

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

The compose step asks three things of the pending intents (any at all? does any recipient have two? the
intents themselves) and then links them to their messages. An index of only the pending ones, ordered by
recipient, answers the first two from the index alone, and linking an intent takes it out of the index rather
than moving it: a 5,000-township opening's compose no longer groups the intents in a temporary B-tree.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PENDING = sa.text('message_id IS NULL')


def upgrade() -> None:
    """Upgrade schema."""
    op.drop_index('ix_intent_pending', table_name='intent')
    op.create_index('ix_intent_pending', 'intent', ['campaign_id', 'recipient'], unique=False,
                    sqlite_where=PENDING, postgresql_where=PENDING)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_intent_pending', table_name='intent')
    op.create_index('ix_intent_pending', 'intent', ['campaign_id', 'message_id'], unique=False)
