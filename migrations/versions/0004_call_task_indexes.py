"""call_task: drop the index duplicated by the unique constraint; index only claimed tasks' claimer

Every daily list inserts one call_task row per task (about 390,000 a day for a state); each index is
written for each row. ix_call_task_patient_id repeated the leading column of
uq_call_task_patient_day_slot, and ix_call_task_claimed_by_id held a NULL for every unclaimed task.
See docs/PERFORMANCE.md.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('call_task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_task_patient_id'))
        batch_op.drop_index(batch_op.f('ix_call_task_claimed_by_id'))
        batch_op.create_index('ix_call_task_claimed_by_id', ['claimed_by_id'], unique=False, sqlite_where=sa.text('claimed_by_id IS NOT NULL'), postgresql_where=sa.text('claimed_by_id IS NOT NULL'))


def downgrade():
    with op.batch_alter_table('call_task', schema=None) as batch_op:
        batch_op.drop_index('ix_call_task_claimed_by_id', sqlite_where=sa.text('claimed_by_id IS NOT NULL'), postgresql_where=sa.text('claimed_by_id IS NOT NULL'))
        batch_op.create_index(batch_op.f('ix_call_task_claimed_by_id'), ['claimed_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_task_patient_id'), ['patient_id'], unique=False)
