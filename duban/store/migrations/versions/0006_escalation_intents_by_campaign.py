"""escalation intents: a partial index by campaign and time, for the escalations the operators' view lists

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

Every tick that publishes lists the campaign's escalations of the last day. Since 0005 no index of the intent
table leads with the campaign, so that list read every intent of every campaign in the database: a bureau's
fourth national campaign would pay for the 1.5 million intents of the first three on each tick. Escalations are
few, and this index holds only them.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ESCALATIONS = sa.text("kind = 'escalation'")


def upgrade() -> None:
    """Upgrade schema."""
    op.create_index('ix_intent_escalations', 'intent', ['campaign_id', 'created_at'], unique=False,
                    sqlite_where=ESCALATIONS, postgresql_where=ESCALATIONS)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_intent_escalations', table_name='intent')
