"""Patient search by index: the attendant's phone, the lab ID upper-cased without spaces, and part of a name
(a trigram index on PostgreSQL; pg_trgm is a trusted extension, so the database's owner may add it)

Before this every search by mobile, lab ID or name read the whole patient table (issue 20).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 01:55:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

LAB_KEY_SQL = "upper(replace(lab_id, ' ', ''))"


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index('ix_patient_attendant_phone', 'patient', ['attendant_phone'], unique=False,
                    sqlite_where=sa.text('attendant_phone IS NOT NULL'),
                    postgresql_where=sa.text('attendant_phone IS NOT NULL'))
    op.add_column('patient', sa.Column('lab_key', sa.String(length=40),  # SQLite adds only a VIRTUAL column to a table
                  sa.Computed(LAB_KEY_SQL, persisted=True if postgresql else None), nullable=True))
    op.create_index('ix_patient_lab_key', 'patient', ['lab_key'], unique=False)
    op.create_index('ix_patient_name_trgm', 'patient', ['name_key'], unique=False, postgresql_using='gin',
                    postgresql_ops={'name_key': 'gin_trgm_ops'})


def downgrade():
    op.drop_index('ix_patient_name_trgm', table_name='patient')
    op.drop_index('ix_patient_lab_key', table_name='patient')
    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.drop_column('lab_key')
    op.drop_index('ix_patient_attendant_phone', table_name='patient')
