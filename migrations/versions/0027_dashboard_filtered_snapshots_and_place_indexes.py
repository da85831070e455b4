"""The dashboard's filtered views (issue 20): snapshots keyed by the view's filters; a block's and a facility's
patients read from the index alone

dashboard_snapshot.scope grows from 40 to 120 characters ("district:3|2026-12-01|2026-12-05|3|17||").
ix_patient_village_id and ix_patient_facility_id carry the patient's id on PostgreSQL (INCLUDE): a block
filter's `patient_id IN (the block's patients)` is then an index-only read (the open tasks of a block's "act
now" strip: 187 -> 17 ms at state scale). Rebuilding both takes a few seconds on 1,000,000 patients; the
table is locked for writes meanwhile.

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


PLACE_INDEXES = (("ix_patient_village_id", "village_id"), ("ix_patient_facility_id", "facility_id"))


def upgrade():
    with op.batch_alter_table("dashboard_snapshot") as batch:
        batch.alter_column("scope", existing_type=sa.String(40), type_=sa.String(120), existing_nullable=False)
    if op.get_bind().dialect.name == "postgresql":  # SQLite's index already holds the rowid (the id)
        for name, column in PLACE_INDEXES:
            op.drop_index(name, table_name="patient")
            op.create_index(name, "patient", [column], postgresql_include=["id"])


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name, column in PLACE_INDEXES:
            op.drop_index(name, table_name="patient")
            op.create_index(name, "patient", [column])
    op.execute("DELETE FROM dashboard_snapshot WHERE scope LIKE '%|%'")
    with op.batch_alter_table("dashboard_snapshot") as batch:
        batch.alter_column("scope", existing_type=sa.String(120), type_=sa.String(40), existing_nullable=False)
