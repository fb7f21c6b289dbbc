"""units parents name for open samples

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

"各县指定1个乡镇，其余随机抽取": a parent unit names its units for a `named_by_parent` sample from its portal page
before the sample is drawn (sample_naming, one row per named unit, with who named it and when); the draw takes
them (`duban sample draw`). Follows 0011.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('sample_naming',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.String(length=80), nullable=False),
    sa.Column('sample_id', sa.String(length=80), nullable=False),
    sa.Column('parent_code', sa.String(length=64), nullable=False),
    sa.Column('unit_code', sa.String(length=64), nullable=False),
    sa.Column('named_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('campaign_id', 'sample_id', 'unit_code', name='uq_sample_naming_unit')
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('sample_naming')
