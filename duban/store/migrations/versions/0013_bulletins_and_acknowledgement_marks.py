"""bulletins kept as records, view marks that count acknowledgements

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

`duban bulletin` keeps each 通报 it drafts in bulletin: its number in the campaign (第N期), the record's instant,
the stage ('' for the campaign), how many units it named, its counts and its docx; the close-out report cites them.
view_mark.acknowledged counts the campaign's 签收 when the views were published, so an acknowledgement (which
changes a row and adds none) refreshes the Prefect summary's 签收率; ix_acknowledgement_given answers the count
from the index alone.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0013'
down_revision: Union[str, Sequence[str], None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('bulletin',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.String(length=80), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('stage_id', sa.String(length=80), nullable=False),
    sa.Column('as_of', sa.DateTime(timezone=True), nullable=False),
    sa.Column('title', sa.String(), nullable=False),
    sa.Column('units_named', sa.Integer(), nullable=False),
    sa.Column('late', sa.Integer(), nullable=False),
    sa.Column('missing', sa.Integer(), nullable=False),
    sa.Column('file', sa.String(), nullable=False),
    sa.Column('sent', sa.Integer(), nullable=False),
    sa.Column('drafted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('campaign_id', 'number', name='uq_bulletin_number'),
    sa.UniqueConstraint('campaign_id', 'stage_id', 'as_of', name='uq_bulletin_scope')
    )
    with op.batch_alter_table('acknowledgement', schema=None) as batch_op:
        batch_op.create_index('ix_acknowledgement_given', ['campaign_id', 'acknowledged_at'], unique=False)

    with op.batch_alter_table('view_mark', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acknowledged', sa.Integer(), nullable=False, server_default='0'))



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('view_mark', schema=None) as batch_op:
        batch_op.drop_column('acknowledged')

    with op.batch_alter_table('acknowledgement', schema=None) as batch_op:
        batch_op.drop_index('ix_acknowledgement_given')

    op.drop_table('bulletin')
