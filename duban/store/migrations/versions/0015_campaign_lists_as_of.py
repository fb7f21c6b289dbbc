"""the stored lists a campaign was planned over, pinned

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06

A campaign planned over a stored list (registry.lists by name, 名录) records, per list, the instant of the list's
latest import at planning (campaign.lists_as_of). A re-plan from the record — an amendment, a sample drawn later,
a follow-up, the parents' naming forms — reads the list as it stood then, so a re-import does not add, drop or
redraw units of a running campaign. Campaigns planned before this revision have none (read as before: today's
list). Follows 0014.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0015'
down_revision: Union[str, Sequence[str], None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    # a plain ADD COLUMN (SQLite and PostgreSQL alike): no copy of the campaign table, which the others point at
    op.add_column('campaign', sa.Column('lists_as_of', sa.JSON(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column('campaign', 'lists_as_of')  # SQLite 3.35+ drops a column in place
