"""call_task: ix_call_task_open, the open volunteers' tasks by day

The daily build closes earlier days' open tasks as missed. Without this index that read the whole
call_task table, which grows by a state's list (about 390,000 rows) every day; the partial index holds
only open tasks, so the cost follows the leftovers, not the history. See docs/PERFORMANCE.md.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 20:10:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

OPEN = "status IN ('pending', 'claimed') AND desk IS NULL"  # models.calls.OPEN_VOLUNTEER_TASK


def upgrade():
    with op.batch_alter_table('call_task', schema=None) as batch_op:
        batch_op.create_index('ix_call_task_open', ['task_date'], unique=False,
                              sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))


def downgrade():
    with op.batch_alter_table('call_task', schema=None) as batch_op:
        batch_op.drop_index('ix_call_task_open')
