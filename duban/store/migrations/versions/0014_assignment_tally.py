"""assignment tally: the dashboard's counts kept by triggers

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

assignment_tally keeps how many assignments of each campaign, stage and item stand in each state (and how many
units hold a duty), changed by triggers on the assignment table in the transaction of every change (row
triggers on SQLite, statement triggers over transition tables on PostgreSQL; duban/store/tally_sql.py). The
operators' dashboard reads it instead of counting every assignment per page. Filled here from the assignments.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from duban.store import tally_sql

# revision identifiers, used by Alembic.
revision: str = "0014"
down_revision: Union[str, Sequence[str], None] = "0013"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "assignment_tally",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(length=80), nullable=False),
        sa.Column("stage_id", sa.String(length=80), nullable=False),
        sa.Column("item_id", sa.String(length=80), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("part", sa.BigInteger(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("instanced", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("assignment_tally", schema=None) as batch_op:
        batch_op.create_index(
            "ix_assignment_tally", ["campaign_id", "item_id", "state", "stage_id", "part"], unique=True
        )
    connection = op.get_bind()
    connection.exec_driver_sql(tally_sql.FILL)
    tally_sql.install(connection)


def downgrade() -> None:
    """Downgrade schema."""
    tally_sql.remove(op.get_bind())
    with op.batch_alter_table("assignment_tally", schema=None) as batch_op:
        batch_op.drop_index("ix_assignment_tally")
    op.drop_table("assignment_tally")
