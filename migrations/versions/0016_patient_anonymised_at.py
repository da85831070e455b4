"""Retention: patient.anonymised_at, the index of closed records not yet anonymised, and outbound messages
by age (jobs/retention.py)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 21:50:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

PENDING = "anonymised_at IS NULL AND status <> 'active'"


def upgrade():
    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymised_at', sa.DateTime(), nullable=True))
    op.create_index('ix_patient_to_anonymise', 'patient', ['id'], unique=False,
                    sqlite_where=sa.text(PENDING), postgresql_where=sa.text(PENDING))
    op.create_index('ix_outbound_message_created_at', 'outbound_message', ['created_at'], unique=False)


def downgrade():
    op.drop_index('ix_outbound_message_created_at', table_name='outbound_message')
    op.drop_index('ix_patient_to_anonymise', table_name='patient')
    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.drop_column('anonymised_at')
