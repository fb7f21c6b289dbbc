"""outcomes the notice names for slipping units

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

What a notice does to a unit that slips besides a message (约谈, 通报批评, 重新开展) is recorded in its words, once per
assignment and rule, with its due when the unit owes it as an item.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('outcome',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.String(length=80), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.Integer(), nullable=False),
    sa.Column('unit_code', sa.String(length=64), nullable=False),
    sa.Column('item_id', sa.String(length=80), nullable=False),
    sa.Column('instance', sa.String(length=32), nullable=False),
    sa.Column('words', sa.String(length=200), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignment.id'], ),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('assignment_id', 'rule', name='uq_outcome_rule')
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('outcome')
