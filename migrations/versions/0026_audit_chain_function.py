"""The audit chain in one round trip on PostgreSQL: audit_chain_append (models/audit.py CHAIN_FUNCTION)

(issue 20: an audited commit chained its rows in 4 statements: read them back, the lock, the head, the UPDATE.)
(Made beside 0023 and 0024, which it follows; there is no 0025.)

Revision ID: 0026
Revises: 0024
Create Date: 2026-12-05 22:00:00.000000

"""
from alembic import op

from callcenter.models.audit import CHAIN_FUNCTION

revision = '0026'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CHAIN_FUNCTION)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_chain_append(bigint, integer[], text[])")
