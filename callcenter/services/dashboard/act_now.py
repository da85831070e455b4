"""The "act now" strip at the top of the nodal officer's dashboard (read-only; dashboard/_act_now.html).

- Escalations to act on now: every open (unacknowledged) emergency and anything past its response deadline,
  emergencies first, then the earliest deadline, with how late each is.
- Today's calls: overdue and still to make, the volunteers calling now, and when today's remaining calls
  end at the pace of the last hour.
- Today's unreachable patients, each with its field visit (requested, or what the visit found).

Always counted live (the snapshot's figures may be a minute old) and always about today; the place filters
(district, block, setting, facility) and the user's district apply as on every dashboard figure. A fixed
number of queries, each over an index range, and at most LIMIT rows per list.

Who is "online": the app keeps no record of who is signed in (the session lives in the browser's cookie), so
a volunteer counts as calling now when they recorded a call or took one (claimed it) in the last
ONLINE_MINUTES; they are counted by their own district (a volunteer calls across blocks and settings).
"""
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import case, func, or_, select, union

from ... import scope
from ...clock import local_date, utcnow
from ...extensions import db
from ...models import (
    OPEN_ESCALATION_STATUSES,
    CallAttempt,
    CallTask,
    District,
    Escalation,
    EscalationStatus,
    Patient,
    Severity,
    TaskStatus,
    User,
)
from .overview import OPEN_TASK, _count_if, _restrict, display_name

LIMIT = 10  # rows per list; the rest are a link away
ONLINE_MINUTES = 15
FIELD_VISIT = "field_visit"


def finish_estimate(remaining, done_last_hour, now):
    """When `remaining` calls are done at the pace of `done_last_hour` calls an hour: naive UTC, or None when
    nobody called in the last hour (no pace to go by). Nothing remaining: now."""
    if remaining <= 0:
        return now
    if done_last_hour <= 0:
        return None
    return now + timedelta(hours=remaining / done_last_hour)


@dataclass
class Calls:
    overdue: int
    remaining: int
    done_last_hour: int
    online: list  # [{"id", "name"}], every volunteer calling now (a district's or state's: hundreds at most)
    finish_at: object  # naive UTC, or None: cannot estimate

    @property
    def per_volunteer(self):
        """Overdue calls per volunteer calling now (rounded up), or None when nobody is."""
        return -(-self.overdue // len(self.online)) if self.online else None


def _needs_action(now):
    return (Escalation.status == EscalationStatus.OPEN,
            or_(Escalation.severity == Severity.EMERGENCY,
                Escalation.respond_by < now))


def _escalations(user, f, now):
    stmt = (select(Escalation.id, Escalation.kind, Escalation.desk, Escalation.severity, Escalation.respond_by,
                   Escalation.created_at, Patient.id.label("patient_id"), Patient.name.label("patient"),
                   District.name.label("district"))
            .join(Patient, Patient.id == Escalation.patient_id).join(District, District.id == Escalation.district_id)
            .where(*_needs_action(now))
            .order_by(case((Escalation.severity == Severity.EMERGENCY, 0), else_=1),
                      func.coalesce(Escalation.respond_by, Escalation.created_at), Escalation.id).limit(LIMIT))
    rows = []
    for r in db.session.execute(_restrict(stmt, Escalation, user, f, patient_joined=True)):
        late = int((now - r.respond_by).total_seconds() // 60) if r.respond_by and r.respond_by < now else None
        left = int((r.respond_by - now).total_seconds() // 60) if r.respond_by and late is None else None
        rows.append(dict(r._mapping, late_minutes=late, left_minutes=left))
    return rows


def _counts(user, f, now):
    """(escalations needing action, overdue calls, calls still to make today, calls in the last hour,
    unreachable patients today): one statement."""
    today = CallTask.task_date == f.date_to
    hour_ago = now - timedelta(hours=1)
    esc = _restrict(select(func.count()).select_from(Escalation).join(Patient, Patient.id == Escalation.patient_id)
                    .where(*_needs_action(now)), Escalation, user, f, patient_joined=True)
    tasks = _restrict(select(func.count().label("remaining"), _count_if(CallTask.due_at < now).label("overdue"))
                      .where(today, OPEN_TASK), CallTask, user, f).subquery()
    calls = _restrict(select(func.count()).select_from(CallAttempt)
                      .where(CallAttempt.created_at >= hour_ago, CallAttempt.created_at <= now),
                      CallAttempt, user, f)
    unreachable = _restrict(select(func.count(func.distinct(CallTask.patient_id)))
                            .where(today, CallTask.status == TaskStatus.UNREACHABLE), CallTask, user, f)
    # The tasks' two counts from one reading of the day's open tasks (a scalar subquery each would read it twice).
    return db.session.execute(select(
        esc.scalar_subquery(), tasks.c.overdue, tasks.c.remaining, calls.scalar_subquery(),
        unreachable.scalar_subquery()).select_from(tasks)).one()


def _online(user, f, now):
    """The volunteers of the user's district (or of the district filtered to) who recorded or took a call in the
    last ONLINE_MINUTES, by name. Scoped by the volunteer's own district, not by their patients': a scan of the
    last minutes' calls (index-only on ix_call_attempt_day) instead of a join with the district's patients. The
    block, setting and facility filters do not apply: a volunteer calls across them."""
    since = now - timedelta(minutes=ONLINE_MINUTES)
    called = select(CallAttempt.user_id.label("uid")).where(CallAttempt.created_at >= since)
    took = select(CallTask.claimed_by_id.label("uid")).where(
        CallTask.claimed_by_id.is_not(None), CallTask.status == TaskStatus.CLAIMED, CallTask.claimed_at >= since)
    ids = union(called, took).subquery()
    stmt = scope.scoped(select(User.id, User.username, User.full_name).where(User.id.in_(select(ids.c.uid))),
                        User, user)
    if f.district_id:
        stmt = stmt.where(User.district_id == f.district_id)
    people = [{"id": uid, "name": display_name(full, username)}
              for uid, username, full in db.session.execute(stmt)]
    return sorted(people, key=lambda p: p["name"].casefold())


def _unreachable(user, f):
    """Today's unreachable patients (LIMIT of them, latest due first), each with their latest field visit.

    Read backwards along ix_call_task_status_day (status, day, due_at) and stopped after a few LIMITs of tasks
    (a patient may have two unreachable slots): no sort of a state's thousands of unreachable tasks."""
    stmt = (select(Patient.id, Patient.name)
            .select_from(CallTask).join(Patient, Patient.id == CallTask.patient_id)
            .where(CallTask.task_date == f.date_to, CallTask.status == TaskStatus.UNREACHABLE))
    if f.block_id or f.facility_id:
        # The block's (facility's) few thousand patients as a hashed set, read index-only: joined, the planner
        # walked the day's unreachable tasks and read each one's patient and village (62 ms at state scale).
        stmt = stmt.where(CallTask.patient_id.in_(_restrict(select(Patient.id), Patient, user, f)))
    else:
        stmt = _restrict(stmt, CallTask, user, f, patient_joined=True)
    rows, seen = [], set()
    # Ties (a slot's tasks share their due time) broken by patient, which the index carries (PostgreSQL): by
    # task id, every unreachable task of the day was read from the table to sort them (0.14-0.5 s at state scale).
    order = (CallTask.due_at.desc(), CallTask.patient_id.desc())
    for r in db.session.execute(stmt.order_by(*order).limit(3 * LIMIT)):
        if r.id not in seen and len(rows) < LIMIT:
            seen.add(r.id)
            rows.append(dict(r._mapping))
    if not rows:
        return rows
    visits = {}
    found = db.session.execute(
        select(Escalation.patient_id, Escalation.id, Escalation.status, Escalation.outcome, Escalation.created_at)
        .where(Escalation.kind == FIELD_VISIT, Escalation.patient_id.in_([r["id"] for r in rows]))
        .order_by(Escalation.patient_id, Escalation.created_at.desc(), Escalation.id.desc()))
    for v in found:
        visits.setdefault(v.patient_id, dict(v._mapping, is_open=v.status in OPEN_ESCALATION_STATUSES))
    for r in rows:
        r["visit"] = visits.get(r["id"])
    return rows


def patient_ids(shown):
    """The patients a strip names (for the view record: DPDP access log)."""
    return [r["patient_id"] for r in shown["escalations"]] + [r["id"] for r in shown["unreachable"]]


def strip(user, f, now=None):
    """Everything the strip shows, for today and the dashboard's place filters."""
    now = now or utcnow()
    f = f.with_(date_from=local_date(now), date_to=local_date(now))
    esc_total, overdue, remaining, last_hour, unreachable_total = _counts(user, f, now)
    calls = Calls(overdue=overdue or 0, remaining=remaining or 0, done_last_hour=last_hour or 0,
                  online=_online(user, f, now), finish_at=None)
    calls.finish_at = finish_estimate(calls.remaining, calls.done_last_hour, now)
    return {"now": now, "f": f, "limit": LIMIT, "online_minutes": ONLINE_MINUTES,
            "escalations": _escalations(user, f, now) if esc_total else [], "escalations_total": esc_total,
            "calls": calls, "finish_day": local_date(calls.finish_at) if calls.finish_at else None,
            "unreachable": _unreachable(user, f) if unreachable_total else [], "unreachable_total": unreachable_total}
