"""call_task: no foreign key on district_id (a copy of the patient's district)

The daily list inserts about 390,000 call_task rows for a state; the foreign-key check on district_id ran
once per row and was about a third of the build's server time. The column is copied from the patient
(whose own district_id keeps its foreign key) by the code that makes tasks. See docs/PERFORMANCE.md.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 12:50:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('call_task', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_call_task_district_id_district'), type_='foreignkey')


def downgrade():
    with op.batch_alter_table('call_task', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_call_task_district_id_district'), 'district',
                                    ['district_id'], ['id'])
