"""portal login throttle and folded audit refusals

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

The operators' lockout (5 failed passwords for one name from one address) counted the failures already in the
audit log before checking a password, so guesses sent at the same moment were all checked. login_throttle keeps
the count per name and address and is incremented in one statement before the password is looked at. The audit
log folds the same refusal from the same address into one entry (repeats), so a flood of bad links is one row per
ten minutes rather than one per request; ix_audit_action_at finds the recent entries of one kind without a scan.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('login_throttle',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', 'client')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('repeats', sa.Integer(), server_default='1', nullable=False))
        batch_op.create_index('ix_audit_action_at', ['action', 'at'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_action_at')
        batch_op.drop_column('repeats')

    op.drop_table('login_throttle')
