"""the outbox records each part's delivery and who holds a claim; bots keep their order and their own "too fast"

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

A message split for a group bot is delivered part by part: `outbox.progress` keeps the channel, the frozen
parts, how many arrived and which is being posted, so a retry sends only what is missing and a dispatcher that
dies mid-post leaves the part it was posting marked as unknown. `outbox.unknown_posts` counts posts that got no
answer (at most two). `delivery` says which part each post was and what its outcome meant. `channel_rate`
keeps the message whose parts are going out (`holder`), and when a bot itself answered "too fast"
(`blocked_until`, `refusals`). `ix_intent_message` finds a batch's items to check, at the send, that they are
still true.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('progress', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('unknown_posts', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('delivery') as batch:
        batch.add_column(sa.Column('part', sa.Integer(), nullable=False, server_default='1'))
        batch.add_column(sa.Column('parts', sa.Integer(), nullable=False, server_default='1'))
        batch.add_column(sa.Column('outcome', sa.String(length=16), nullable=False, server_default=''))
    with op.batch_alter_table('channel_rate') as batch:
        batch.add_column(sa.Column('holder', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('blocked_until', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('refusals', sa.Integer(), nullable=False, server_default='0'))
    op.create_index('ix_intent_message', 'intent', ['message_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_intent_message', table_name='intent')
    with op.batch_alter_table('channel_rate') as batch:
        batch.drop_column('refusals')
        batch.drop_column('blocked_until')
        batch.drop_column('holder')
    with op.batch_alter_table('delivery') as batch:
        batch.drop_column('outcome')
        batch.drop_column('parts')
        batch.drop_column('part')
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('unknown_posts')
        batch.drop_column('progress')
