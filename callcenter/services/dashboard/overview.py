"""The nodal officer's figures and the lists behind them (read-only).

Every figure is a condition defined once here (TASKS, PATIENTS, ESCALATIONS, CALLS, CHECKINS): the
headline counts are CASE sums of those conditions in one aggregate query per table, and the list behind
a number is the same condition as a WHERE clause, so a number and its list cannot disagree.
Every query goes through `_restrict`, which applies scope.py and the officer's filters.
"""
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from types import SimpleNamespace

from sqlalchemy import and_, case, func, select

from ... import scope
from ...clock import local_date, start_of_local_day, utcnow
from ...extensions import db
from ...models import (
    OPEN_ESCALATION_STATUSES,
    Block,
    CallAttempt,
    CallTask,
    CheckIn,
    District,
    Escalation,
    Facility,
    Need,
    Outcome,
    Patient,
    PatientStatus,
    Setting,
    Severity,
    TaskStatus,
    User,
    Village,
)

LIST_PAGE_SIZE = 100
AGE_BUCKETS = ("lt1h", "1to4h", "4to24h", "gt24h")  # open escalations by age


FORM_NAMES = {"district_id": "district", "block_id": "block", "facility_id": "facility"}


@dataclass(frozen=True)
class Filters:
    date_from: date
    date_to: date
    district_id: int | None = None
    block_id: int | None = None
    setting: str | None = None
    facility_id: int | None = None

    @classmethod
    def today(cls, now=None, **kw):
        day = local_date(now or utcnow())
        return cls(date_from=day, date_to=day, **kw)

    @property
    def start(self):  # naive UTC, inclusive
        return start_of_local_day(self.date_from)

    @property
    def end(self):  # naive UTC, exclusive
        return start_of_local_day(self.date_to + timedelta(days=1))

    def args(self, **extra):
        """Query-string arguments that reproduce these filters (for url_for), named as the filter form's fields
        (dashboard/forms.py: district, block, facility)."""
        out = {FORM_NAMES.get(k, k): (v.isoformat() if isinstance(v, date) else v)
               for k, v in asdict(self).items() if v}
        out.update({k: v for k, v in extra.items() if v is not None})
        return out

    def with_(self, **changes):
        return replace(self, **changes)


def _restrict(stmt, model, user, f, patient_joined=False):
    """Scope `stmt` over `model` to the user's district and the filters.

    A row's patient is needed when the model lacks the filtered column (a call attempt has no district):
    unless the statement already joins Patient, the patient's conditions go in as
    `patient_id IN (SELECT id FROM patient WHERE …)`, which PostgreSQL runs as a hash semi-join over the
    district's patients instead of reading a patient row for each of a day's hundreds of thousands of calls.
    """
    own_district = hasattr(model, "district_id")
    own_setting = hasattr(model, "setting")
    is_patient = model is Patient
    wants_patient = (not own_district and (user.district_id or f.district_id)) or f.block_id or f.facility_id \
        or (f.setting and not own_setting)
    if wants_patient and not is_patient and not patient_joined:
        patients = _restrict(select(Patient.id), Patient, user, f)
        stmt = stmt.where(model.patient_id.in_(patients))
        if own_district:
            stmt = scope.scoped(stmt, model, user)
            if f.district_id:
                stmt = stmt.where(model.district_id == f.district_id)
        if f.setting and own_setting:
            stmt = stmt.where(model.setting == f.setting)
        return stmt
    where_district = model if own_district else Patient
    if own_district or wants_patient or patient_joined:
        stmt = scope.scoped(stmt, where_district, user)
        if f.district_id:
            stmt = stmt.where(where_district.district_id == f.district_id)
    if f.setting:
        stmt = stmt.where((model.setting if own_setting else Patient.setting) == f.setting)
    if f.block_id:
        stmt = stmt.where(Patient.village_id.in_(select(Village.id).where(Village.block_id == f.block_id)))
    if f.facility_id:
        stmt = stmt.where(Patient.facility_id == f.facility_id)
    return stmt


# --- the conditions behind each figure (one definition, used by counts and lists) -----------------

OPEN_TASK = CallTask.status.in_((TaskStatus.PENDING, TaskStatus.CLAIMED))
# Every status, named: ix_call_task_status_day starts with status, so a day's tasks are read as one index range
# per status (PostgreSQL has no skip scan; without the list it would read the whole index).
ANY_STATUS = CallTask.status.in_(tuple(TaskStatus))


def task_conditions(now):
    return {
        "due": ANY_STATUS,
        "done": CallTask.status == TaskStatus.DONE,
        "pending": OPEN_TASK,
        "overdue": and_(OPEN_TASK, CallTask.due_at < now),
        "unreachable": CallTask.status == TaskStatus.UNREACHABLE,
        "missed": CallTask.status == TaskStatus.MISSED,
    }


def _breach(now):
    """An emergency whose acknowledgement deadline passed before anyone acknowledged it."""
    return and_(Escalation.severity == Severity.EMERGENCY, Escalation.respond_by.is_not(None),
                func.coalesce(Escalation.acknowledged_at, Escalation.closed_at, now) > Escalation.respond_by)


def _age_conditions(now):
    c = Escalation.created_at
    return {"lt1h": c >= now - timedelta(hours=1),
            "1to4h": and_(c < now - timedelta(hours=1), c >= now - timedelta(hours=4)),
            "4to24h": and_(c < now - timedelta(hours=4), c >= now - timedelta(hours=24)),
            "gt24h": c < now - timedelta(hours=24)}


def _in(col, f):
    return and_(col >= f.start, col < f.end)


def _count_if(cond):
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def active_by_setting(user, f):
    """{setting: patients in follow-up now} (an index-only scan of ix_patient_active_places)."""
    return dict(db.session.execute(_restrict(
        select(Patient.setting, func.count()).where(Patient.status == PatientStatus.ACTIVE)
        .group_by(Patient.setting), Patient, user, f)).all())


# --- today at a glance ---------------------------------------------------------------------------

def overview(user, f, now=None):
    """Every headline figure for the filters; a handful of aggregate queries, no per-row Python.

    Each query is shaped for an index (see docs/PERFORMANCE.md, "Dashboard"): the day's tasks are counted
    per status (index-only on ix_call_task_status_day), overdue and unreachable separately over their own
    small index ranges; the patients' flow in and out by created_at and ended_at separately.
    """
    now = now or utcnow()
    conds = task_conditions(now)
    in_days = CallTask.task_date.between(f.date_from, f.date_to)
    by_status = dict(db.session.execute(_restrict(
        select(CallTask.status, func.count()).where(in_days, ANY_STATUS).group_by(CallTask.status), CallTask, user,
        f)).all())
    overdue, unreachable_patients = db.session.execute(select(
        _restrict(select(func.count()).select_from(CallTask).where(in_days, conds["overdue"]), CallTask, user, f)
        .scalar_subquery(),
        _restrict(select(func.count(func.distinct(CallTask.patient_id))).where(in_days, conds["unreachable"]),
                  CallTask, user, f).scalar_subquery())).one()
    tasks = {"due": sum(by_status.values()), "done": by_status.get(TaskStatus.DONE, 0),
             "pending": by_status.get(TaskStatus.PENDING, 0) + by_status.get(TaskStatus.CLAIMED, 0),
             "overdue": overdue, "unreachable": by_status.get(TaskStatus.UNREACHABLE, 0),
             "missed": by_status.get(TaskStatus.MISSED, 0), "unreachable_patients": unreachable_patients}

    # The period's calls and check-ins: one statement.
    calls = _restrict(select(func.count().label("attempted"),
                             _count_if(CallAttempt.outcome == Outcome.CONNECTED).label("connected"))
                      .select_from(CallAttempt).where(_in(CallAttempt.created_at, f)), CallAttempt, user, f).subquery()
    checkins_q = _restrict(select(func.count()).select_from(CheckIn).where(_in(CheckIn.at, f)), CheckIn, user, f)
    attempted, connected, checkins = db.session.execute(
        select(calls.c.attempted, calls.c.connected, checkins_q.scalar_subquery()).select_from(calls)).one()

    needs = dict(db.session.execute(_restrict(
        select(Need.kind, func.count()).where(_in(Need.created_at, f)).group_by(Need.kind), Need, user, f)).all())

    ages = _age_conditions(now)
    open_rows = db.session.execute(_restrict(
        select(Escalation.kind, *[_count_if(c).label(k) for k, c in ages.items()])
        .where(Escalation.status.in_(OPEN_ESCALATION_STATUSES)).group_by(Escalation.kind),
        Escalation, user, f)).all()
    open_escalations = {r.kind: {k: getattr(r, k) for k in AGE_BUCKETS} for r in open_rows}
    for counts in open_escalations.values():
        counts["total"] = sum(counts.values())

    active = active_by_setting(user, f)

    # Escalations raised and breached in the period, the patients' flow in and out: one statement.
    raised = _restrict(select(func.count().label("raised"), _count_if(_breach(now)).label("breaches"))
                       .select_from(Escalation).where(_in(Escalation.created_at, f)), Escalation, user, f).subquery()
    discharged = and_(Patient.status == PatientStatus.RECOVERED, _in(Patient.ended_at, f))
    row = db.session.execute(select(
        raised.c.raised, raised.c.breaches,
        _restrict(select(func.count()).select_from(Patient).where(_in(Patient.created_at, f)), Patient, user, f)
        .scalar_subquery().label("new"),
        _restrict(select(func.count()).select_from(Patient).where(discharged), Patient, user, f)
        .scalar_subquery().label("discharged")).select_from(raised)).one()
    esc_row = SimpleNamespace(raised=row.raised, breaches=row.breaches)
    flow = SimpleNamespace(new=row.new, discharged=row.discharged)

    return {
        "date_from": f.date_from, "date_to": f.date_to, "at": now,
        "tasks": tasks,
        "calls": {"attempted": attempted, "connected": connected,
                  "reach_rate": round(100.0 * connected / attempted, 1) if attempted else None},
        "checkins": checkins or 0,
        "needs": needs,
        "open_escalations": open_escalations,
        "open_escalations_total": sum(v["total"] for v in open_escalations.values()),
        "escalations_raised": esc_row.raised, "breaches": esc_row.breaches,
        "active": {s.value: active.get(s.value, 0) for s in Setting},
        "active_total": sum(active.values()),
        "new_patients": flow.new, "discharges": flow.discharged,
    }


def display_name(full_name, username):
    """A person as the dashboard names them: full name, else username."""
    return (full_name or "").strip() or username


def _person():
    """The same in SQL, for the lists and their exports."""
    return func.coalesce(func.nullif(func.trim(User.full_name), ""), User.username)


# --- the lists behind the numbers -----------------------------------------------------------------

PATIENT_WHICH = ("active", "new", "discharged", "unreachable", "need")
ESCALATION_WHICH = ("open", "raised", "breach")
CALL_WHICH = ("all", "connected")


def _place_columns(stmt):
    """Outer-join the patient's place names (district, block, village, facility)."""
    return (stmt.join(District, District.id == Patient.district_id)
            .outerjoin(Village, Village.id == Patient.village_id).outerjoin(Block, Block.id == Village.block_id)
            .outerjoin(Facility, Facility.id == Patient.facility_id))


PLACE_COLUMNS = (District.name.label("district"), Block.name.label("block"), Village.name.label("village"),
                 Facility.name.label("facility"))


def list_query(kind, user, f, which=None, now=None, sub=None, age=None):
    """(columns, select) for a list: `which` picks the figure, `sub` a need/escalation kind, `age` a bucket.

    Rows are plain tuples (no ORM objects), ordered by id so pages and exports are stable.
    """
    now = now or utcnow()
    if kind == "tasks":
        conds = task_conditions(now)
        which = which if which in conds else "due"
        stmt = (select(CallTask.id, CallTask.task_date, CallTask.slot, Patient.id.label("patient_id"), Patient.name,
                       Patient.phone, CallTask.setting, *PLACE_COLUMNS, CallTask.status, CallTask.attempts,
                       CallTask.last_outcome, CallTask.due_at, _person().label("claimed_by"))
                .select_from(CallTask).join(Patient, Patient.id == CallTask.patient_id)
                .outerjoin(User, User.id == CallTask.claimed_by_id)
                .where(CallTask.task_date.between(f.date_from, f.date_to), conds[which]))
        stmt = _restrict(_place_columns(stmt), CallTask, user, f, patient_joined=True).order_by(CallTask.id)
    elif kind == "patients":
        which = which if which in PATIENT_WHICH else "active"
        stmt = select(Patient.id, Patient.name, Patient.age, Patient.sex, Patient.phone, Patient.setting,
                      *PLACE_COLUMNS, Patient.status, Patient.positive_date, Patient.created_at, Patient.ended_at)
        stmt = _place_columns(stmt.select_from(Patient))
        if which == "active":
            stmt = stmt.where(Patient.status == PatientStatus.ACTIVE)
        elif which == "new":
            stmt = stmt.where(_in(Patient.created_at, f))
        elif which == "discharged":
            stmt = stmt.where(Patient.status == PatientStatus.RECOVERED, _in(Patient.ended_at, f))
        elif which == "unreachable":
            stmt = stmt.where(Patient.id.in_(select(CallTask.patient_id).where(
                CallTask.task_date.between(f.date_from, f.date_to), task_conditions(now)["unreachable"])))
        else:  # "need": patients who asked for `sub` in the period
            needs = select(Need.patient_id).where(_in(Need.created_at, f))
            if sub:
                needs = needs.where(Need.kind == sub)
            stmt = stmt.where(Patient.id.in_(needs))
        stmt = _restrict(stmt, Patient, user, f).order_by(Patient.id)
    elif kind == "escalations":
        which = which if which in ESCALATION_WHICH else "open"
        stmt = (select(Escalation.id, Escalation.created_at, Patient.id.label("patient_id"), Patient.name,
                       Patient.phone, *PLACE_COLUMNS, Escalation.kind, Escalation.desk, Escalation.severity,
                       Escalation.status, Escalation.respond_by, Escalation.acknowledged_at, Escalation.closed_at)
                .select_from(Escalation).join(Patient, Patient.id == Escalation.patient_id))
        if which == "open":
            stmt = stmt.where(Escalation.status.in_(OPEN_ESCALATION_STATUSES))
            if age in AGE_BUCKETS:
                stmt = stmt.where(_age_conditions(now)[age])
        elif which == "raised":
            stmt = stmt.where(_in(Escalation.created_at, f))
        else:
            stmt = stmt.where(_in(Escalation.created_at, f), _breach(now))
        if sub:
            stmt = stmt.where(Escalation.kind == sub)
        stmt = _restrict(_place_columns(stmt), Escalation, user, f, patient_joined=True).order_by(Escalation.id)
    elif kind == "checkins":
        stmt = (select(CheckIn.id, CheckIn.at, Patient.id.label("patient_id"), Patient.name, Patient.phone,
                       Patient.setting, *PLACE_COLUMNS, CheckIn.channel, CheckIn.feeling_ok, CheckIn.temperature_f,
                       CheckIn.spo2, CheckIn.symptoms)
                .select_from(CheckIn).join(Patient, Patient.id == CheckIn.patient_id).where(_in(CheckIn.at, f)))
        stmt = _restrict(_place_columns(stmt), CheckIn, user, f, patient_joined=True).order_by(CheckIn.id)
    elif kind == "calls":
        which = which if which in CALL_WHICH else "all"
        stmt = (select(CallAttempt.id, CallAttempt.created_at, Patient.id.label("patient_id"), Patient.name,
                       Patient.phone, Patient.setting, *PLACE_COLUMNS, CallAttempt.outcome,
                       _person().label("volunteer"), CallAttempt.temperature_f, CallAttempt.spo2)
                .select_from(CallAttempt).join(Patient, Patient.id == CallAttempt.patient_id)
                .join(User, User.id == CallAttempt.user_id).where(_in(CallAttempt.created_at, f)))
        if which == "connected":
            stmt = stmt.where(CallAttempt.outcome == Outcome.CONNECTED)
        if sub:  # one volunteer's calls (the people table links here)
            stmt = stmt.where(User.username == sub)
        stmt = _restrict(_place_columns(stmt), CallAttempt, user, f, patient_joined=True).order_by(CallAttempt.id)
    else:
        raise KeyError(kind)
    return [c.name for c in stmt.selected_columns], stmt


def list_page(kind, user, f, page=1, **kw):
    """One screen page of a list and the total behind it."""
    columns, stmt = list_query(kind, user, f, **kw)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.execute(stmt.limit(LIST_PAGE_SIZE).offset((max(page, 1) - 1) * LIST_PAGE_SIZE)).all()
    return columns, rows, total


# --- choices for the filter form -------------------------------------------------------------------

def filter_choices(user):
    """Districts, blocks and facilities this user may filter by."""
    districts = scope.districts(user)
    ids = [d.id for d in districts]
    blocks = db.session.execute(select(Block.id, Block.name, District.name).join(District)
                                .where(Block.district_id.in_(ids)).order_by(District.name, Block.name)).all()
    facilities = db.session.execute(select(Facility.id, Facility.name, District.name).join(District)
                                    .where(Facility.district_id.in_(ids)).order_by(District.name, Facility.name)).all()
    return districts, blocks, facilities


def volunteers(user):
    from ..calls.queue import CALLER_ROLES
    stmt = select(User).where(User.role.in_(CALLER_ROLES), User.active.is_(True)).order_by(User.username)
    return db.session.scalars(scope.scoped(stmt, User, user)).all()



def holders(user):
    """Volunteers holding calls right now (claimed tasks), for the reassign form: who has held one longest
    first (the likeliest to be stuck)."""
    stmt = (select(User.id, User.username, User.full_name, func.count(CallTask.id), func.min(CallTask.claimed_at))
            .join(CallTask, CallTask.claimed_by_id == User.id).where(CallTask.status == TaskStatus.CLAIMED)
            .group_by(User.id, User.username, User.full_name).order_by(func.min(CallTask.claimed_at), User.id))
    return db.session.execute(scope.scoped(stmt, CallTask, user)).all()
