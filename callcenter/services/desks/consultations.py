"""The doctor's and counsellor's desks: patients referred to them, their call-backs (consultations),
follow-up calls on their own desk, and an emergency raised from the desk.

A consultation is recorded once per form (its submission key is unique), closes the desk's follow-up
calls due for the patient when the patient was reached, may resolve the referral ("need met") through
services.escalations, and may schedule the next follow-up as a CallTask on the desk — slot 3 or later,
so it never takes the daily slots (1–2) of the volunteers' list. Volunteers' queues never offer it.
"""
from dataclasses import dataclass, field
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlalchemy.orm import selectinload

from ... import scope
from ...clock import local_date, utcnow
from ...extensions import db
from ...models import (
    OPEN_ESCALATION_STATUSES,
    OPEN_TASK_STATUSES,
    CallTask,
    Consultation,
    Desk,
    Escalation,
    Outcome,
    Patient,
    Severity,
    TaskStatus,
)
from ...rules import priority
from ...rules.routing import EMERGENCY_NEEDS, WARNING_SIGN
from ..calls.call_lists import slot_times
from ..core import audit, submissions
from ..core.errors import Conflict, Forbidden, Invalid
from ..core.tx import transaction
from . import escalations

REFERRAL_DESKS = (Desk.DOCTOR, Desk.COUNSELLOR)
FOLLOW_UP_REASONS = {Desk.DOCTOR: "doctor_follow_up", Desk.COUNSELLOR: "counsellor_follow_up"}
# The daily list uses slots 1 and 2; a desk's follow-up takes 3 (or the next free one) on its day.
FOLLOW_UP_SLOT = 3
MAX_FOLLOW_UP_DAYS = 30
MAX_NOTES = 4000
NEED_MET_OUTCOME = "advice_given"  # services.escalations.OUTCOMES
# What a doctor or counsellor can ask the control room for as an emergency.
EMERGENCY_KINDS = (WARNING_SIGN, *sorted(str(k) for k in EMERGENCY_NEEDS))


def of_escalation(esc):
    """The consultations recorded against this referral, oldest first (its page shows the advice given)."""
    return db.session.scalars(db.select(Consultation).where(Consultation.escalation_id == esc.id)
                              .options(selectinload(Consultation.user)).order_by(Consultation.created_at)).all()


def may_consult(user, esc):
    """Whether `user` calls this escalation's patient from a referral desk (doctor or counsellor work)."""
    return esc.desk in REFERRAL_DESKS and esc.desk in referral_desks(user)


def referral_desks(user):
    """The referral desks (doctor, counsellor) this user works; supervisors see both."""
    return [d for d in escalations.desks_for(user) if d in REFERRAL_DESKS]


def _require_desk(user, desk):
    if desk not in referral_desks(user):
        raise Forbidden(_l("This desk is not yours."))
    return Desk(desk)


@dataclass
class Referral:
    """One patient on a desk's list: the desk's open escalations for them and follow-up calls due."""
    patient: Patient
    escalations: list = field(default_factory=list)
    tasks: list = field(default_factory=list)

    @property
    def emergency(self):
        return any(e.severity == Severity.EMERGENCY for e in self.escalations)

    @property
    def since(self):
        """When the patient first waited on this desk: the oldest referral or follow-up due time."""
        return min([e.created_at for e in self.escalations] + [t.due_at for t in self.tasks])


def due_follow_ups(user, desk, patient_id=None, now=None, lock=False):
    """The desk's open follow-up calls due today or earlier (overdue), in the user's district."""
    stmt = (db.select(CallTask).where(CallTask.desk == str(desk), CallTask.status.in_(OPEN_TASK_STATUSES),
                                      CallTask.task_date <= local_date(now or utcnow()))
            .order_by(CallTask.due_at, CallTask.id))
    if patient_id is not None:
        stmt = stmt.where(CallTask.patient_id == patient_id)
    if lock:
        stmt = stmt.with_for_update()
    else:
        stmt = stmt.options(selectinload(CallTask.patient).selectinload(Patient.facility))
    return db.session.scalars(scope.scoped(stmt, CallTask, user)).all()


def referral_queue(user, desk, now=None):
    """The desk's list, one entry per patient: emergencies first, then who has waited longest."""
    desk = _require_desk(user, desk)
    entries = {}
    for esc in escalations.desk_queue(user, desk):
        entries.setdefault(esc.patient_id, Referral(esc.patient)).escalations.append(esc)
    for task in due_follow_ups(user, desk, now=now):
        entries.setdefault(task.patient_id, Referral(task.patient)).tasks.append(task)
    return sorted(entries.values(), key=lambda r: (not r.emergency, r.since))


def open_referrals(user, desk, patient_id, lock=False):
    """This desk's open escalations for one patient, oldest first."""
    stmt = (db.select(Escalation).where(Escalation.patient_id == patient_id, Escalation.desk == str(desk),
                                        Escalation.status.in_(OPEN_ESCALATION_STATUSES))
            .order_by(Escalation.created_at, Escalation.id))
    if lock:
        stmt = stmt.with_for_update()
    return db.session.scalars(scope.scoped(stmt, Escalation, user)).all()


def call_context(user, desk, patient_id, now=None):
    """What the desk's call screen shows: the patient (NotFound outside the district), the desk's open
    referrals and due follow-ups for them, and the desk's earlier consultations with them."""
    desk = _require_desk(user, desk)
    patient = scope.get_scoped(Patient, patient_id, user)
    earlier = db.session.scalars(
        db.select(Consultation).where(Consultation.patient_id == patient.id, Consultation.desk == str(desk))
        .order_by(Consultation.created_at.desc()).limit(20)).all()
    return {"desk": desk, "patient": patient, "referrals": open_referrals(user, desk, patient.id),
            "tasks": due_follow_ups(user, desk, patient.id, now=now), "consultations": earlier}


@dataclass
class Recorded:
    consultation: Consultation
    created: bool  # False: this form had been recorded already
    resolved: list = field(default_factory=list)   # escalations resolved ("need met")
    closed_tasks: list = field(default_factory=list)
    follow_up: CallTask | None = None


def _validate(report, today, patient):
    errors = {}
    outcome = report.get("outcome")
    if outcome not in set(Outcome):
        errors["outcome"] = _l("Choose what happened on the call.")
    notes = (report.get("notes") or "").strip()
    if outcome == Outcome.CONNECTED and not notes:
        errors["notes"] = _l("Write down the advice given or the session notes.")
    elif len(notes) > MAX_NOTES:
        errors["notes"] = _l("Too long (%(n)s characters at most).", n=MAX_NOTES)
    if report.get("need_met") and outcome != Outcome.CONNECTED:
        errors["need_met"] = _l("A need can only be met on a call that connected.")
    day = report.get("follow_up_date")
    if day is not None:
        if not (today < day <= today + timedelta(days=MAX_FOLLOW_UP_DAYS)):
            errors["follow_up_date"] = _l("The follow-up must be between tomorrow and %(n)s days from today.",
                                          n=MAX_FOLLOW_UP_DAYS)
        elif not patient.is_active:
            errors["follow_up_date"] = _l("This patient's follow-up has ended; no further call can be set.")
    if errors:
        raise Invalid(_l("Please correct the marked fields."), errors)
    return notes


def record(patient_id, user, desk, report, submission_key, now=None):
    """Record a doctor's or counsellor's call to a patient, in one transaction.

    `report`: outcome (a call Outcome), notes, need_met (resolve the desk's open referrals for the
    patient), follow_up_date (a local date: the desk's next call). The same submission_key arriving
    again returns the consultation already recorded.
    """
    # An integrity error without a twin: a follow-up raced into the same slot.
    return submissions.once(Consultation, submission_key,
                            lambda: _record(patient_id, user, desk, report, submission_key, now),
                            lambda previous: Recorded(previous, created=False),
                            race_message=_l("Someone else changed this patient's calls a moment ago. Try again."))


@transaction
def _record(patient_id, user, desk, report, submission_key, now):
    desk = _require_desk(user, desk)
    now = now or utcnow()
    submissions.check_unused(Consultation, submission_key,
                             lambda previous: previous.user_id == user.id and previous.patient_id == patient_id,
                             _l("The form is missing its submission key; reload the page."))
    patient = scope.get_scoped(Patient, patient_id, user, lock=True)
    today = local_date(now)
    notes = _validate(report, today, patient)
    outcome = Outcome(report["outcome"])
    referrals = open_referrals(user, desk, patient.id, lock=True)
    consultation = Consultation(
        escalation_id=referrals[0].id if referrals else None, patient_id=patient.id,
        district_id=patient.district_id, desk=str(desk), user_id=user.id, outcome=outcome, notes=notes,
        follow_up_date=report.get("follow_up_date"), submission_key=submission_key, created_at=now)
    db.session.add(consultation)
    db.session.flush()
    recorded = Recorded(consultation, created=True)

    for task in due_follow_ups(user, desk, patient.id, now=now, lock=True):
        task.attempts += 1
        task.last_outcome = outcome
        if outcome == Outcome.CONNECTED:
            task.status, task.closed_at, task.claimed_by_id = TaskStatus.DONE, now, None
            recorded.closed_tasks.append(task)
    raised = []
    if outcome == Outcome.CONNECTED:
        patient.phone_invalid = False
        patient.last_contact_at = now
    elif outcome == Outcome.WRONG_NUMBER:
        patient.phone_invalid = True
        raised.append(escalations.raise_escalation(patient, "phone_check", Desk.CONTROL_ROOM, Severity.ROUTINE,
                                                   source="desk", user=user, now=now, summary=notes))
    if report.get("need_met"):
        for esc in referrals:
            # The escalations service's resolve, as part of this transaction.
            recorded.resolved.append(escalations.resolve(
                esc.id, user, notes, now=now, outcome=NEED_MET_OUTCOME))
    if consultation.follow_up_date is not None:
        recorded.follow_up = schedule_follow_up(patient, desk, consultation.follow_up_date, now)
        consultation.follow_up_task_id = recorded.follow_up.id

    audit.record(user, "consultation.record", "consultation", consultation.id, patient.district_id, now=now,
                 patient_id=patient.id, desk=str(desk), outcome=str(outcome),
                 escalation_id=consultation.escalation_id, resolved=[e.id for e in recorded.resolved],
                 tasks_done=[t.id for t in recorded.closed_tasks], raised=[e.id for e in raised],
                 follow_up_task_id=consultation.follow_up_task_id,
                 follow_up_date=consultation.follow_up_date.isoformat() if consultation.follow_up_date else None)
    return recorded


def schedule_follow_up(patient, desk, day, now):
    """The desk's follow-up call on `day`, due that morning: the desk's open one of that day if there is
    one, otherwise a new task in the first free slot from FOLLOW_UP_SLOT on."""
    same = db.session.scalar(db.select(CallTask).where(
        CallTask.patient_id == patient.id, CallTask.task_date == day, CallTask.desk == str(desk),
        CallTask.status.in_(OPEN_TASK_STATUSES)).limit(1))
    if same is not None:
        return same
    taken = db.session.scalar(db.select(func.max(CallTask.slot)).where(
        CallTask.patient_id == patient.id, CallTask.task_date == day)) or 0
    task = CallTask(patient_id=patient.id, district_id=patient.district_id, setting=patient.setting, task_date=day,
                    slot=max(FOLLOW_UP_SLOT, taken + 1), due_at=slot_times(day)[0],
                    priority=priority.UNWELL_OR_UNREACHED, last_contact_at=patient.last_contact_at,
                    status=TaskStatus.PENDING, reason=FOLLOW_UP_REASONS[desk], desk=str(desk), created_at=now)
    db.session.add(task)
    db.session.flush()
    return task


@transaction
def raise_emergency(patient_id, user, desk, kind, note, now=None):
    """A doctor or counsellor sends the patient to the control room as an emergency (source "desk")."""
    desk = _require_desk(user, desk)
    now = now or utcnow()
    errors = {}
    if kind not in EMERGENCY_KINDS:
        errors["kind"] = _l("Choose what the patient needs.")
    note = (note or "").strip()
    if not note:
        errors["note"] = _l("Say what the control room must know.")
    elif len(note) > MAX_NOTES:
        errors["note"] = _l("Too long (%(n)s characters at most).", n=MAX_NOTES)
    if errors:
        raise Invalid(_l("Please correct the marked fields."), errors)
    patient = scope.get_scoped(Patient, patient_id, user, lock=True)
    if not patient.is_active:
        raise Conflict(_l("This patient's follow-up has already ended."))
    return escalations.raise_escalation(patient, kind, Desk.CONTROL_ROOM, Severity.EMERGENCY, source="desk",
                                        user=user, now=now, summary=note, reasons=(("desk", str(desk)),))
