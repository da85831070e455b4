"""job runs: the owning process and its heartbeat; scheduler heartbeats

A run whose process died is taken over within a minute (its heartbeat goes stale, or on the same host its
process is gone) instead of after 30 minutes; /readyz reads the schedulers' heartbeats.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 21:45:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner', sa.String(length=120), server_default='', nullable=False))
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(), nullable=True))
    # runs of the earlier version: their last sign of life is when they started or ended
    op.execute("UPDATE job_run SET heartbeat_at = COALESCE(finished_at, started_at)")
    op.create_table('scheduler_heartbeat',
    sa.Column('owner', sa.String(length=120), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('seen_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('owner', name=op.f('pk_scheduler_heartbeat'))
    )
    with op.batch_alter_table('scheduler_heartbeat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scheduler_heartbeat_seen_at'), ['seen_at'], unique=False)


def downgrade():
    with op.batch_alter_table('scheduler_heartbeat', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scheduler_heartbeat_seen_at'))
    op.drop_table('scheduler_heartbeat')
    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.drop_column('heartbeat_at')
        batch_op.drop_column('owner')
