"""dashboard_snapshot: the dashboard's default view per scope, counted every minute by a job

See callcenter/services/dashboard_snapshots.py and docs/PERFORMANCE.md ("Dashboard and exports").

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 13:11:40.357236

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('dashboard_snapshot',
    sa.Column('scope', sa.String(length=40), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('viewed_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('scope', name=op.f('pk_dashboard_snapshot'))
    )


def downgrade():
    op.drop_table('dashboard_snapshot')
