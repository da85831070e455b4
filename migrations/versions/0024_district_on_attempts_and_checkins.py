"""call_attempt.district_id and check_in.district_id, copies of the patient's district, with their indexes

A district's dashboard counted its day's calls and check-ins through `patient_id IN (the district's patients)`:
154 ms and 107 ms at state scale, three times a view for the calls (docs/PERFORMANCE.md, "Dashboard"). With the
district on the row the count is a range of ix_call_attempt_district_day / ix_check_in_district_at. No foreign
key, as on call_task.district_id; the backfill copies it from the patient. (Made beside 0023, which it follows.)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 21:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

TABLES = ("call_attempt", "check_in")


def upgrade():
    for table in TABLES:
        op.add_column(table, sa.Column("district_id", sa.Integer(), nullable=True))
        if op.get_bind().dialect.name == "postgresql":  # one hash join, not a look-up per row
            op.execute(f"UPDATE {table} SET district_id = patient.district_id FROM patient "
                       f"WHERE patient.id = {table}.patient_id")
        else:
            op.execute(f"UPDATE {table} SET district_id = (SELECT patient.district_id FROM patient "
                       f"WHERE patient.id = {table}.patient_id)")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("district_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("call_attempt", schema=None) as batch_op:
        batch_op.create_index("ix_call_attempt_district_day",
                              ["district_id", "created_at", "user_id", "outcome", "started_at"], unique=False)
    with op.batch_alter_table("check_in", schema=None) as batch_op:
        batch_op.create_index("ix_check_in_district_at", ["district_id", "at"], unique=False)


def downgrade():
    with op.batch_alter_table("check_in", schema=None) as batch_op:
        batch_op.drop_index("ix_check_in_district_at")
        batch_op.drop_column("district_id")
    with op.batch_alter_table("call_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_call_attempt_district_day")
        batch_op.drop_column("district_id")
