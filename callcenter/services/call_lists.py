"""Building a day's call list: one task per active patient, set-based and idempotent.

The unique (patient, day, slot) constraint makes a second run create nothing; the insert is a
single INSERT … SELECT so it scales to a state's patients.
"""
from datetime import datetime, time

from sqlalchemy import case, insert, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..clock import local_to_utc, utcnow
from ..extensions import db
from ..models import CallTask, Patient, PatientStatus, TaskStatus
from ..rules import priority
from . import audit, settings
from .tx import transaction

FIRST_SLOT_LOCAL = time(8, 0)


def _insert_ignoring_duplicates():
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        return pg_insert(CallTask).on_conflict_do_nothing(constraint="uq_call_task_patient_day_slot")
    if dialect == "sqlite":
        return sqlite_insert(CallTask).on_conflict_do_nothing()
    return insert(CallTask).prefix_with("IGNORE")


@transaction
def build_call_list(day, now=None, district_id=None, user=None, due_at=None):
    """Create `day`'s first-slot task for every active patient; returns the number created.

    Tasks fall due at the first slot's start (08:00 local) unless `due_at` says otherwise.
    """
    now = now or utcnow()
    due_at = due_at or local_to_utc(datetime.combine(day, FIRST_SLOT_LOCAL))
    high_risk_age = settings.thresholds().high_risk_age
    # Mirrors rules.priority.is_high_risk as SQL, so the list is built in one statement.
    prio = case(((Patient.age >= high_risk_age) | (Patient.comorbidities != ""), literal(priority.HIGH_RISK)),
                else_=literal(priority.ROUTINE))
    rows = select(Patient.id, Patient.district_id, Patient.setting, literal(day), literal(1), literal(due_at),
                  prio, literal(TaskStatus.PENDING.value), literal(0), literal("daily"), literal(now)
                  ).where(Patient.status == PatientStatus.ACTIVE)
    if district_id is not None:
        rows = rows.where(Patient.district_id == district_id)
    stmt = _insert_ignoring_duplicates().from_select(
        ["patient_id", "district_id", "setting", "task_date", "slot", "due_at", "priority", "status", "attempts",
         "reason", "created_at"], rows)
    created = db.session.execute(stmt).rowcount
    audit.record(user, "call_list.build", "call_task", None, district_id, now=now, day=day.isoformat(),
                 created=created)
    return created
