"""call_task: ix_call_task_status_day (status, task_date, due_at) INCLUDE (patient_id) replaces both
ix_call_task_day_due (task_date, status, due_at) and ix_call_task_open (task_date, partial: open volunteers' tasks)

Every task of the daily list went into both (a new task is open and on its day); with status first, one index
serves the dashboard's day-by-status figures (they name the statuses they count) and the daily build's closing of
earlier days' open tasks (status IN ('pending', 'claimed') AND task_date < day reads only those). One index
fewer to write for each of a state's ~390,000 tasks a day: about a second of the build. docs/PERFORMANCE.md.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 12:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

OPEN = "status IN ('pending', 'claimed') AND desk IS NULL"  # models.calls.OPEN_VOLUNTEER_TASK


def upgrade():
    with op.batch_alter_table('call_task', schema=None) as batch_op:
        batch_op.create_index('ix_call_task_status_day', ['status', 'task_date', 'due_at'], unique=False,
                              postgresql_include=['patient_id'])
        batch_op.drop_index('ix_call_task_day_due', postgresql_include=['patient_id'])
        batch_op.drop_index('ix_call_task_open', sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))


def downgrade():
    with op.batch_alter_table('call_task', schema=None) as batch_op:
        batch_op.create_index('ix_call_task_open', ['task_date'], unique=False,
                              sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
        batch_op.create_index('ix_call_task_day_due', ['task_date', 'status', 'due_at'], unique=False,
                              postgresql_include=['patient_id'])
        batch_op.drop_index('ix_call_task_status_day', postgresql_include=['patient_id'])
