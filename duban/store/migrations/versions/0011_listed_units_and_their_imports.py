"""listed units and their imports

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

`duban units import FILE --list NAME` keeps enterprises and other listed parties (名录单位) in listed_unit, one
row per spell: a re-import that changes a row closes its spell (listed_until, closed_by) and opens a new one, a
row gone from the file closes its spell, so who was listed when stays answerable. unit_import records each import
(file, sha256, counts, when, by whom). ix_listed_unit_current reads a list as it stands (listed_until IS NULL).
campaign_unit.attributes keeps a planned unit's attributes (industry, size, risk …) for roll-ups `by:` them.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('campaign_unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attributes', sa.JSON(), nullable=True))

    op.create_table('unit_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_name', sa.String(length=80), nullable=False),
    sa.Column('file', sa.String(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('added', sa.Integer(), nullable=False),
    sa.Column('changed', sa.Integer(), nullable=False),
    sa.Column('removed', sa.Integer(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('unit_import', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_import_list_name'), ['list_name'], unique=False)

    op.create_table('listed_unit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_name', sa.String(length=80), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('parent_code', sa.String(length=64), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=True),
    sa.Column('attributes', sa.JSON(), nullable=True),
    sa.Column('contact', sa.String(), nullable=True),
    sa.Column('phone', sa.String(), nullable=True),
    sa.Column('listed_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('listed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('closed_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['closed_by'], ['unit_import.id'], ),
    sa.ForeignKeyConstraint(['import_id'], ['unit_import.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('listed_unit', schema=None) as batch_op:
        batch_op.create_index('ix_listed_unit_code', ['list_name', 'code', 'listed_from'], unique=False)
        batch_op.create_index('ix_listed_unit_current', ['list_name', 'listed_until', 'code'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('listed_unit', schema=None) as batch_op:
        batch_op.drop_index('ix_listed_unit_current')
        batch_op.drop_index('ix_listed_unit_code')

    op.drop_table('listed_unit')
    with op.batch_alter_table('unit_import', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_import_list_name'))

    op.drop_table('unit_import')
    with op.batch_alter_table('campaign_unit', schema=None) as batch_op:
        batch_op.drop_column('attributes')
