"""Drop apscheduler_jobs: each scheduler process keeps its jobs in memory now (a job store must not be shared
by several schedulers); the JobRun claim is what processes share.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 20:15:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("DROP TABLE IF EXISTS apscheduler_jobs")


def downgrade():
    # Nothing to restore: a scheduler of the earlier version makes its table again when it starts.
    pass
