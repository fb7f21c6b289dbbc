"""messages drafted by the tick, held until the campaign's compose

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07

A stage opening's tick writes each unit's one-item message itself, with its intent already linked, and records
the ids it drafted in `draft_range`; the dispatcher takes none of them until the compose that follows the tick has
merged the units told of several things and deleted the range. Databases of earlier revisions have no drafts.
Follows 0015.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0016'
down_revision: Union[str, Sequence[str], None] = '0015'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'draft_range',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.String(length=80), nullable=False),
        sa.Column('first_id', sa.Integer(), nullable=False),
        sa.Column('last_id', sa.Integer(), nullable=False),
        sa.Column('messages', sa.Integer(), nullable=False),
        sa.Column('batch', sa.String(length=40), nullable=False),
        sa.Column('drafted_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_draft_range_campaign', 'draft_range', ['campaign_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_draft_range_campaign', table_name='draft_range')
    op.drop_table('draft_range')
