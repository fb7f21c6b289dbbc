"""延期申请, 审核 and 签收: extension requests with their decisions, reviews of submissions, acknowledgements

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

A unit asks for a later due for one item with a reason; the issuer's operators approve (possibly with an earlier
date) or deny it. extension_request keeps every request and decision; at most one request of an assignment
waits at a time (a partial unique index, so two asked at the same moment cannot both wait). review keeps every
reviewer's decision on a submitted version: accepted, or returned with a reason and the new due. acknowledgement
holds each unit's 签收 of a stage (or the notice) with its due and escalation, read by the tick from its due index.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PENDING = sa.text("status = 'pending'")
IN_REVIEW = sa.text("state = 'in_review'")


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('extension_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.String(length=80), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('unit_code', sa.String(length=64), nullable=False),
    sa.Column('item_id', sa.String(length=80), nullable=False),
    sa.Column('instance', sa.String(length=32), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('requested_by', sa.String(length=80), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=80), nullable=True),
    sa.Column('granted_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignment.id'], ),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('extension_request', schema=None) as batch_op:
        batch_op.create_index('ix_extension_request_campaign', ['campaign_id', 'status'], unique=False)
        batch_op.create_index('uq_extension_request_pending', ['assignment_id'], unique=True,
                              sqlite_where=PENDING, postgresql_where=PENDING)
    op.create_table('review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.String(length=80), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('unit_code', sa.String(length=64), nullable=False),
    sa.Column('item_id', sa.String(length=80), nullable=False),
    sa.Column('instance', sa.String(length=32), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('due_before', sa.DateTime(timezone=True), nullable=False),
    sa.Column('new_due', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewer', sa.String(length=80), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignment.id'], ),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.create_index('ix_review_assignment', ['campaign_id', 'assignment_id'], unique=False)
    op.create_table('acknowledgement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.String(length=80), nullable=False),
    sa.Column('stage_id', sa.String(length=80), nullable=False),
    sa.Column('unit_code', sa.String(length=64), nullable=False),
    sa.Column('open_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('escalate_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('targets', sa.JSON(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('next_event_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=80), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('campaign_id', 'stage_id', 'unit_code', name='uq_acknowledgement_unit')
    )
    with op.batch_alter_table('acknowledgement', schema=None) as batch_op:
        batch_op.create_index('ix_acknowledgement_due', ['campaign_id', 'next_event_at'], unique=False)
    op.create_index('ix_assignment_in_review', 'assignment', ['campaign_id', 'unit_code'], unique=False,
                    sqlite_where=IN_REVIEW, postgresql_where=IN_REVIEW)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_assignment_in_review', table_name='assignment')
    with op.batch_alter_table('acknowledgement', schema=None) as batch_op:
        batch_op.drop_index('ix_acknowledgement_due')
    op.drop_table('acknowledgement')
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.drop_index('ix_review_assignment')
    op.drop_table('review')
    with op.batch_alter_table('extension_request', schema=None) as batch_op:
        batch_op.drop_index('uq_extension_request_pending')
        batch_op.drop_index('ix_extension_request_campaign')
    op.drop_table('extension_request')
