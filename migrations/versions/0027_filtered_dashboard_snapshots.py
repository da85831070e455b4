"""Dashboard snapshots of filtered views: a row's key carries the view's filters (issue 20)

dashboard_snapshot.scope grows from 40 to 120 characters ("district:3|2026-12-01|2026-12-05|3|17||").

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05 22:10:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("dashboard_snapshot") as batch:
        batch.alter_column("scope", existing_type=sa.String(40), type_=sa.String(120), existing_nullable=False)


def downgrade():
    op.execute("DELETE FROM dashboard_snapshot WHERE scope LIKE '%|%'")
    with op.batch_alter_table("dashboard_snapshot") as batch:
        batch.alter_column("scope", existing_type=sa.String(120), type_=sa.String(40), existing_nullable=False)
