"""Recording a patient's check-in (SMS, IVR or the link form): the one service every channel uses.

A check-in goes through the same rule as a volunteer's call (rules.routing.route): a warning sign
raises an emergency at once, a need the matching escalation. It also moves today's call: up for a
patient who is unwell, down (an administrator's setting) for one who is fine with normal readings.
"""
import functools
from dataclasses import dataclass, field
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, case, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from ...clock import local_date, start_of_local_day, utcnow
from ...extensions import db
from ...models import CallTask, CheckIn, CheckinChannel, CheckinLink, Need, Patient, PatientStatus, Severity, TaskStatus
from ...rules import priority, vitals
from ...rules.policy import MAX_CALLS_PER_DAY
from ...rules.routing import NeedKind, Symptom, route, spo2_too_low
from ..core import audit, settings
from ..core.errors import Invalid
from ..core.tx import transaction
from ..desks.escalations import raise_escalation

CHANNELS = ("sms", "ivr", "web")  # CheckIn.channel (labels.CHANNELS); "web" is the SMS-link form
# Below routine: a patient who said they are fine is called after everyone else.
CHECKED_IN_OK = priority.CHECKED_IN_OK


@dataclass(frozen=True)
class Report:
    """What the patient said, already parsed (rules/replies/, the IVR keys or the link form)."""
    feeling_ok: bool | None = None
    spo2: int | None = None
    temperature_f: float | None = None
    symptoms: tuple = ()
    needs: tuple = ()
    raw: str = ""

    def is_fine(self, thresholds):
        return (self.feeling_ok is True and not self.needs and not self.symptoms
                and (self.spo2 is None or not spo2_too_low(self.spo2, thresholds))
                and (self.temperature_f is None or self.temperature_f < thresholds.fever_f))

    def is_unwell(self, thresholds):
        return (self.feeling_ok is False or bool(self.symptoms) or bool(self.needs)
                or (self.temperature_f is not None and self.temperature_f >= thresholds.fever_f))


@dataclass
class Recorded:
    checkin: CheckIn
    escalations: list = field(default_factory=list)
    queue: str | None = None  # "emergency", "up", "down", "volunteer_call" or None

    @property
    def emergency(self):
        return any(e.severity == Severity.EMERGENCY for e in self.escalations)


def outcome(report):
    """What the rules will do with this report: "emergency", "passed_on" (a desk will call) or "thanks".
    The same rule as record_checkin (route), so a reply can be worded before the transaction commits."""
    routings = route(report.needs, report.symptoms, report.spo2, settings.thresholds())
    if any(r.severity == Severity.EMERGENCY for r in routings):
        return "emergency"
    return "passed_on" if routings else "thanks"


def validate(report):
    errors = {}
    if report.spo2 is not None and not (vitals.SPO2_MIN <= report.spo2 <= vitals.SPO2_MAX):
        errors["spo2"] = _l("SpO2 must be between %(low)s and %(high)s %%.", low=vitals.SPO2_MIN, high=vitals.SPO2_MAX)
    if report.temperature_f is not None and not (
            vitals.TEMPERATURE_F_MIN <= report.temperature_f <= vitals.TEMPERATURE_F_MAX):
        errors["temperature_f"] = _l("Temperature must be between %(low)s and %(high)s °F.",
                                     low=vitals.TEMPERATURE_F_MIN, high=vitals.TEMPERATURE_F_MAX)
    if not set(report.symptoms) <= set(Symptom):
        errors["symptoms"] = _l("Unknown symptom.")
    if not set(report.needs) <= set(NeedKind):
        errors["needs"] = _l("Unknown need.")
    if errors:
        raise Invalid(_l("Please correct the marked fields."), errors)


@transaction
def record_checkin(patient, channel, report, now=None, attach=(), shared_phone=False, volunteer_call=None):
    """Store one check-in with its needs, raise what the rules say, move today's call; one transaction.

    `attach`: records of the caller (an InboundMessage, IvrCall or CheckinLink already in the session)
    whose checkin_id is set in the same transaction. `shared_phone`: an SMS from a household's shared
    phone, so the report may be another member's: it never moves anyone down the queue.
    `volunteer_call`: a reason to queue a volunteer's call now as well (the IVR gave up half-way).
    """
    if channel not in CHANNELS:
        raise ValueError(f"unknown check-in channel {channel!r}")
    validate(report)
    now = now or utcnow()
    thresholds = settings.thresholds()
    checkin = CheckIn(patient_id=patient.id, district_id=patient.district_id, channel=channel, at=now,
                      feeling_ok=report.feeling_ok, temperature_f=report.temperature_f, spo2=report.spo2,
                      symptoms=",".join(dict.fromkeys(report.symptoms)), raw=(report.raw or "")[:2000])
    db.session.add(checkin)
    db.session.flush()
    needs = [Need(patient_id=patient.id, kind=k, checkin_id=checkin.id, created_at=now)
             for k in dict.fromkeys(report.needs)]
    db.session.add_all(needs)
    raised = []
    summary = _summary(channel, report)
    for routing in route(report.needs, report.symptoms, report.spo2, thresholds):
        esc = raise_escalation(patient, routing.kind, routing.desk, routing.severity, source="checkin",
                               now=now, summary=summary, reasons=routing.reasons)
        for need in needs:
            if need.kind == routing.kind:
                need.escalation_id = esc.id
        raised.append(esc)
    # Taken by the patient in the session now (a volunteer's new call reads it), written after today's task
    # below (_write_now).
    set_committed_value(patient, "last_contact_at", now)

    recorded = Recorded(checkin, raised)
    if volunteer_call:
        recorded.queue = "volunteer_call" if queue_volunteer_call(patient, volunteer_call, now) else None
    elif recorded.emergency:
        recorded.queue = "emergency" if _move_up(patient, priority.EMERGENCY_FOLLOW_UP, now) else None
    elif report.is_unwell(thresholds):
        recorded.queue = "up" if _move_up(patient, priority.UNWELL_OR_UNREACHED, now) else None
    elif report.is_fine(thresholds) and not shared_phone and settings.get("checkin_ok_deprioritises"):
        recorded.queue = "down" if _move_down(patient, now) else None
    _write_now(patient, last_contact_at=now)
    for obj in attach:
        _write_now(obj, checkin_id=checkin.id)
    audit.record(None, "checkin.record", "check_in", checkin.id, patient.district_id, now=now, channel=channel,
                 patient_id=patient.id, escalations=[e.id for e in raised], queue=recorded.queue,
                 shared_phone=shared_phone)
    return recorded


def _write_now(obj, **values):
    """Set `values` on a row already in the database by one Core UPDATE of its primary key, the object taking them
    as committed: the same UPDATE the commit's flush would send, without the unit of work's Python for it."""
    if obj.id is None:  # not inserted yet: the flush writes it with the rest
        for key, value in values.items():
            setattr(obj, key, value)
        return
    db.session.connection().execute(_by_id(type(obj).__table__), {"row_id": obj.id, **values})
    for key, value in values.items():
        set_committed_value(obj, key, value)


@functools.cache
def _by_id(table):
    """UPDATE of one row by its id, built once per table; the SET clause comes from the parameters' names."""
    return update(table).where(table.c.id == bindparam("row_id"))


def _summary(channel, report):
    """The escalation's note: what the patient sent, for the desk (an SMS's own words)."""
    if channel == "sms" and report.raw:
        return f"SMS: {report.raw[:300]}"
    parts = [f"{channel} check-in"]
    if report.spo2 is not None:
        parts.append(f"SpO2 {report.spo2}%")
    if report.temperature_f is not None:
        parts.append(f"{report.temperature_f} °F")
    return ", ".join(parts)


# The UPDATE of a patient's pending task of today, built once (every check-in runs one: building it costs more
# Python than running it); its parameters: of_patient, day, and for _MOVE_UP the priority. The ids through the
# (patient, day, slot) index: right after the morning's list build the planner has no statistics for today and
# would otherwise scan every task of the day (a third of a second per SMS).
_TODAYS = select(CallTask.id).where(CallTask.patient_id == bindparam("of_patient"),
                                    CallTask.task_date == bindparam("day"))
_TODAYS_PENDING = (update(CallTask).where(CallTask.id.in_(_TODAYS), CallTask.status == TaskStatus.PENDING)
                   .execution_options(synchronize_session=False))
_MOVE_UP = _TODAYS_PENDING.where(CallTask.priority > bindparam("above")).values(priority=bindparam("to_priority"))
# Never below an open emergency's follow-up call: that call is made whatever the patient says.
_MOVE_DOWN = (_TODAYS_PENDING.where(CallTask.priority > priority.EMERGENCY_FOLLOW_UP,
                                    CallTask.priority < CHECKED_IN_OK)
              .values(priority=CHECKED_IN_OK))


# Run on the session's connection, not through the ORM: the UPDATE touches no object in the session
# (synchronize_session=False), so the ORM would add only its Python and an early flush of the check-in's other
# rows; they go at the commit's flush instead, after today's task is locked (the order calls/lock_order.py
# names: the task, then the patient).
def _move_up(patient, to_priority, now):
    params = {"of_patient": patient.id, "day": local_date(now), "above": to_priority, "to_priority": to_priority}
    return db.session.connection().execute(_MOVE_UP, params).rowcount


def _move_down(patient, now):
    return db.session.connection().execute(_MOVE_DOWN, {"of_patient": patient.id, "day": local_date(now)}).rowcount


def queue_volunteer_call(patient, reason, now):
    """A volunteer should call this patient now (inside the caller's transaction).

    Today's waiting task is made due now at a high priority; if there is none (and nobody is on a call
    with them), a task is added in a free slot after the daily ones. Returns True if a call is queued.
    """
    urgent = priority.UNWELL_OR_UNREACHED
    moved = db.session.execute(_TODAYS_PENDING.values(
        priority=case((CallTask.priority > urgent, urgent), else_=CallTask.priority), due_at=now),
        {"of_patient": patient.id, "day": local_date(now)}).rowcount
    if moved:
        return True
    today = local_date(now)
    on_call = db.session.scalar(select(CallTask.id).where(
        CallTask.patient_id == patient.id, CallTask.task_date == today, CallTask.status == TaskStatus.CLAIMED))
    if on_call is not None or patient.status != PatientStatus.ACTIVE:
        return False
    for _ in range(3):
        top = db.session.scalar(select(func.max(CallTask.slot)).where(
            CallTask.patient_id == patient.id, CallTask.task_date == today)) or 0
        try:
            with db.session.begin_nested():
                db.session.add(CallTask(
                    patient_id=patient.id, district_id=patient.district_id, setting=patient.setting, task_date=today,
                    slot=max(top, MAX_CALLS_PER_DAY) + 1, due_at=now, priority=urgent,
                    last_contact_at=patient.last_contact_at or patient.created_at, status=TaskStatus.PENDING,
                    attempts=0, reason=reason[:40], created_at=now))
            return True
        except IntegrityError:
            continue  # another request took that slot a moment ago
    return False


@transaction
def move_up_missing_checkins(day, now=None, user=None, district_id=None):
    """At the end of the check-in window: today's waiting calls of patients who were asked to check in
    and did not are moved up (set-based). Returns how many tasks moved."""
    now = now or utcnow()
    start = start_of_local_day(day)
    checked_in = exists().where(CheckIn.patient_id == CallTask.patient_id, CheckIn.at >= start,
                                CheckIn.at < start + timedelta(days=1))
    asked = exists().where(Patient.id == CallTask.patient_id, Patient.status == PatientStatus.ACTIVE,
                           Patient.checkin_channel != CheckinChannel.NONE.value)
    stmt = (update(CallTask)
            .where(CallTask.task_date == day, CallTask.status == TaskStatus.PENDING,
                   CallTask.priority > priority.UNWELL_OR_UNREACHED, asked, ~checked_in)
            .values(priority=priority.UNWELL_OR_UNREACHED)
            .execution_options(synchronize_session=False))
    if district_id is not None:
        stmt = stmt.where(CallTask.district_id == district_id)
    moved = db.session.execute(stmt, execution_options={"preserve_rowcount": True}).rowcount
    audit.record(user, "checkins.window_end", "call_task", None, district_id, now=now, day=day.isoformat(),
                 moved_up=moved)
    return moved


def checkin_by_link(link, report, now=None):
    """The link form was sent: the link is used (compare-and-set, so a double submit records once) and the
    check-in recorded, in one transaction. Returns the Recorded, or None if the link was no longer valid."""
    now = now or utcnow()
    # The patient must still be followed up when the form arrives (it may have been opened before the
    # follow-up ended): the row is share-locked, so ending the follow-up waits for this check-in or this
    # check-in sees it ended (PostgreSQL re-reads a row changed meanwhile before locking it).
    active = db.session.scalar(select(Patient.id).where(Patient.id == link.patient_id,
                                                        Patient.status == PatientStatus.ACTIVE)
                               .with_for_update(read=True))
    used = active is not None and db.session.execute(
        update(CheckinLink).where(CheckinLink.id == link.id, CheckinLink.used_at.is_(None),
                                  CheckinLink.expires_at > now)
        .values(used_at=now).execution_options(synchronize_session=False)).rowcount
    if used != 1:
        db.session.rollback()
        return None
    return record_checkin(link.patient, "web", report, now=now, attach=[link])
