"""Building a day's call list: set-based, idempotent, from the policy in rules/policy.py.

One INSERT … SELECT makes every task of the day, so it scales to a state's patients; the unique
(patient, day, slot) constraint makes a second run (a restart, a manual run, two processes) create
nothing. The flags the policy reads (high risk, yesterday's warning signs, …) are SQL expressions
here; tests/services/test_call_lists.py checks them against the pure rules.
"""
from datetime import datetime, time, timedelta

from flask import current_app
from sqlalchemy import and_, case, func, insert, literal, or_, select, union, union_all, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..clock import local_to_utc, start_of_local_day, utcnow
from ..extensions import db
from ..models import (
    OPEN_ESCALATION_STATUSES,
    OPEN_TASK_STATUSES,
    CallAttempt,
    CallTask,
    CheckIn,
    Escalation,
    Need,
    Patient,
    PatientStatus,
    Severity,
    TaskStatus,
)
from ..rules import priority
from ..rules.policy import MAX_CALLS_PER_DAY, PRIORITY_RULES
from ..rules.routing import WARNING_SYMPTOMS
from . import audit, settings
from .tx import transaction

TASK_COLUMNS = ["patient_id", "district_id", "setting", "task_date", "slot", "due_at", "priority",
                "last_contact_at", "status", "attempts", "reason", "created_at"]


def slot_times(day):
    """Naive-UTC start of each call slot on `day` (morning, afternoon)."""
    return [local_to_utc(datetime.combine(day, time.fromisoformat(current_app.config[key])))
            for key in ("FIRST_SLOT_TIME", "SECOND_SLOT_TIME")]


def _insert_ignoring_duplicates():
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        return pg_insert(CallTask).on_conflict_do_nothing(constraint="uq_call_task_patient_day_slot")
    if dialect == "sqlite":
        return sqlite_insert(CallTask).on_conflict_do_nothing()
    return insert(CallTask).prefix_with("IGNORE")


def _has_warning_symptom(column):
    padded = literal(",") + column + literal(",")
    return or_(*[padded.like(f"%,{symptom},%") for symptom in sorted(WARNING_SYMPTOMS)])


def _flag(condition):
    return case((condition, literal(1)), else_=literal(0))


def patient_flags(day):
    """What the policy reads about patients as of the morning of `day`, as subqueries keyed by patient:

    - "yesterday": every patient unwell or unreached yesterday, with `warning` = 1 if a warning sign
      was among it. One pass over each of yesterday's sources (the attempts are the big one).
    - "open_emergency": patients with an open emergency escalation.
    """
    th = settings.thresholds()
    start, end = start_of_local_day(day - timedelta(days=1)), start_of_local_day(day)
    attempt_warning = or_(CallAttempt.spo2 < th.spo2_emergency_below, _has_warning_symptom(CallAttempt.symptoms))
    checkin_warning = CheckIn.spo2 < th.spo2_emergency_below
    events = union_all(
        select(CallAttempt.patient_id, _flag(attempt_warning).label("warning")).where(
            CallAttempt.created_at >= start, CallAttempt.created_at < end,
            or_(attempt_warning, CallAttempt.temperature_f >= th.fever_f)),
        select(CheckIn.patient_id, _flag(checkin_warning)).where(
            CheckIn.at >= start, CheckIn.at < end,
            or_(checkin_warning, CheckIn.feeling_ok.is_(False), CheckIn.temperature_f >= th.fever_f)),
        select(Need.patient_id, literal(0)).where(Need.created_at >= start, Need.created_at < end),
        select(CallTask.patient_id, literal(0)).where(
            CallTask.task_date == day - timedelta(days=1),
            CallTask.status.in_((TaskStatus.UNREACHABLE, TaskStatus.MISSED))),
    ).subquery("events")
    yesterday = (select(events.c.patient_id, func.max(events.c.warning).label("warning"))
                 .group_by(events.c.patient_id).subquery("yesterday"))
    emergency = select(Escalation.patient_id).where(
        Escalation.status.in_(OPEN_ESCALATION_STATUSES), Escalation.severity == Severity.EMERGENCY
    ).distinct().subquery("open_emergency")
    return {"yesterday": yesterday, "open_emergency": emergency}


def _task_rows(day, district_id, due_times, now):
    """The SELECT that yields one row per task to create."""
    th, policy = settings.thresholds(), settings.call_policy()
    subqueries = patient_flags(day)
    yesterday, emergency = subqueries["yesterday"], subqueries["open_emergency"]
    flag = {"warning_yesterday": yesterday.c.warning == 1,
            "unwell_or_unreached_yesterday": yesterday.c.patient_id.is_not(None),
            "open_emergency": emergency.c.patient_id.is_not(None)}
    # Mirrors rules.priority.is_high_risk.
    flag["high_risk"] = or_(Patient.age >= th.high_risk_age, Patient.comorbidities != "")
    risk = case((flag["warning_yesterday"], "warning"), (flag["high_risk"], "high"), else_="normal")
    calls = case(*[(and_(Patient.setting == setting, risk == risk_class), literal(n))
                   for (setting, risk_class), n in policy.calls_per_day.items()], else_=literal(1))
    task_priority = case(*[(flag[name], literal(value)) for name, value in PRIORITY_RULES],
                         else_=literal(priority.ROUTINE))
    slots = union(*[select(literal(n).label("slot")) for n in range(1, MAX_CALLS_PER_DAY + 1)]).subquery("slots")
    due = case(*[(slots.c.slot == n, literal(t)) for n, t in enumerate(due_times, start=1)])

    rows = select(Patient.id, Patient.district_id, Patient.setting, literal(day), slots.c.slot, due, task_priority,
                  db.func.coalesce(Patient.last_contact_at, Patient.created_at),
                  literal(TaskStatus.PENDING.value), literal(0), literal("daily"), literal(now))
    rows = rows.select_from(Patient)
    for sq in subqueries.values():
        rows = rows.outerjoin(sq, sq.c.patient_id == Patient.id)
    rows = rows.join(slots, slots.c.slot <= calls)  # after the flags: its condition reads them
    rows = rows.where(Patient.status == PatientStatus.ACTIVE)
    # Only tasks not made yet: a second run reads the list but writes nothing. (The unique constraint
    # behind ON CONFLICT DO NOTHING still settles two builds racing each other.)
    made = select(CallTask.id).where(CallTask.patient_id == Patient.id, CallTask.task_date == day,
                                     CallTask.slot == slots.c.slot)
    rows = rows.where(~made.exists())
    if district_id is not None:
        rows = rows.where(Patient.district_id == district_id)
    return rows


def _close_earlier_days(day, district_id, now):
    """Tasks of earlier days still open when a new day's list is built were missed: close them."""
    stmt = (update(CallTask).where(CallTask.task_date < day, CallTask.status.in_(OPEN_TASK_STATUSES))
            .values(status=TaskStatus.MISSED, closed_at=now, claimed_by_id=None)
            .execution_options(synchronize_session=False))
    if district_id is not None:
        stmt = stmt.where(CallTask.district_id == district_id)
    return db.session.execute(stmt, execution_options={"preserve_rowcount": True}).rowcount


@transaction
def build_call_list(day, now=None, district_id=None, user=None, due_at=None):
    """Create `day`'s tasks for every active patient (one or two slots each, by the policy).

    Returns {"created": n, "missed": m}. Tasks fall due at their slot's start; `due_at` moves the first
    slot (the demo uses it so that its calls are due at once).
    """
    now = now or utcnow()
    due_times = slot_times(day)
    if due_at is not None:
        due_times[0] = due_at
    missed = _close_earlier_days(day, district_id, now)
    stmt = _insert_ignoring_duplicates().from_select(TASK_COLUMNS, _task_rows(day, district_id, due_times, now))
    created = db.session.execute(stmt, execution_options={"preserve_rowcount": True}).rowcount
    audit.record(user, "call_list.build", "call_task", None, district_id, now=now, day=day.isoformat(),
                 created=created, missed=missed)
    return {"created": created, "missed": missed}
