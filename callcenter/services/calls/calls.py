"""Logging a call attempt: the task moves on, needs become escalations, all in one transaction."""
import hashlib
from dataclasses import dataclass, field
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from ... import scope
from ...clock import utcnow
from ...extensions import db
from ...models import AuditLog, CallAttempt, CallTask, Escalation, Need, Outcome, TaskStatus
from ...rules import vitals
from ...rules.routing import Desk, NeedKind, Severity, Symptom, route
from ..core import audit, settings, submissions, tx
from ..core.errors import Conflict, Invalid
from ..desks.escalations import raise_escalation
from . import households
from .queue import _require_caller

FAILED_OUTCOMES = {Outcome.NO_ANSWER, Outcome.BUSY, Outcome.SWITCHED_OFF}
MAX_CALLBACK_AHEAD = timedelta(hours=48)


def _validate(report, now):
    errors = {}
    outcome = report.get("outcome")
    if outcome not in set(Outcome):
        errors["outcome"] = _l("Choose what happened on the call.")
    members = report.get("members")
    if members is None:
        readings = _reading_errors(report)
        errors.update(readings)
        if outcome != Outcome.CONNECTED and _has_readings(report):
            errors["outcome"] = _l("Readings, symptoms and needs can only be recorded on a connected call.")
    else:  # a household call: each member's readings, checked by the same rules
        if not members or not all(isinstance(m.get("patient_id"), int) for m in members):
            errors["members"] = _l("Choose who was on the call.")
        for i, member in enumerate(members):
            errors.update({f"members-{i}-{name}": message for name, message in _reading_errors(member).items()})
        if outcome != Outcome.CONNECTED and any(_has_readings(m) for m in members):
            errors["outcome"] = _l("Readings, symptoms and needs can only be recorded on a connected call.")
    callback_at = report.get("callback_at")
    if callback_at is not None and not (now < callback_at <= now + MAX_CALLBACK_AHEAD):
        errors["callback_at"] = _l("The call-back time must be in the next 48 hours.")
    if errors:
        raise Invalid(_l("Please correct the marked fields."), errors)


def _reading_errors(report):
    """One person's readings: plausible vitals, known symptoms and needs."""
    errors = {}
    temp, spo2 = report.get("temperature_f"), report.get("spo2")
    if temp is not None and not (vitals.TEMPERATURE_F_MIN <= temp <= vitals.TEMPERATURE_F_MAX):
        errors["temperature_f"] = _l("Temperature must be between %(low)s and %(high)s °F.",
                                     low=vitals.TEMPERATURE_F_MIN, high=vitals.TEMPERATURE_F_MAX)
    if spo2 is not None and not (vitals.SPO2_MIN <= spo2 <= vitals.SPO2_MAX):
        errors["spo2"] = _l("SpO2 must be between %(low)s and %(high)s %%.", low=vitals.SPO2_MIN, high=vitals.SPO2_MAX)
    if not set(report.get("symptoms") or []) <= set(Symptom):
        errors["symptoms"] = _l("Unknown symptom.")
    if not set(report.get("needs") or []) <= set(NeedKind):
        errors["needs"] = _l("Unknown need.")
    return errors


def _has_readings(report):
    return (report.get("temperature_f") is not None or report.get("spo2") is not None
            or bool(report.get("symptoms")) or bool(report.get("needs")))


@dataclass
class LoggedCall:
    attempt: CallAttempt
    created: bool  # False: this submission had already been recorded
    escalations: list = field(default_factory=list)
    members: list = field(default_factory=list)  # patient ids the call covered (a household: several)

    def __post_init__(self):
        self.members = self.members or [self.attempt.patient_id]

    def load_answer(self):
        """Load what the answer to this call reads (the screen's message, the API's body) before the commit."""
        _ = self.attempt.task.due_at, self.attempt.needs, [e.patient.name for e in self.escalations]


def log_attempt(task_id, user, report, submission_key, now=None):
    """Record one attempt on a claimed task.

    The same submission_key arriving again (double click, browser retry, API retry) returns the
    attempt already recorded instead of recording a second one.
    """
    return submissions.once(CallAttempt, submission_key,
                            lambda: _log_attempt(task_id, user, report, submission_key, now), _logged_before)


def saved_by(task, user):
    """`user`'s attempt that last changed this task, or None. A call screen reopened after saving (Back,
    reload, the form sent again) then says when it was saved, not that the call is someone else's."""
    attempt = db.session.scalars(db.select(CallAttempt).where(CallAttempt.task_id == task.id)
                                 .order_by(CallAttempt.created_at.desc(), CallAttempt.id.desc()).limit(1)).first()
    if attempt is None or attempt.user_id != user.id:
        return None
    if task.claimed_at is not None and task.claimed_at > attempt.created_at:
        return None  # claimed again since: that later claim is the one that matters
    return attempt


def _logged_before(attempt):
    """A retry's answer: the attempt as first recorded, with the escalations it raised (from its audit row)."""
    rows = db.session.scalars(db.select(AuditLog).where(
        AuditLog.action == "call.attempt", AuditLog.entity == "call_task", AuditLog.entity_id == attempt.task_id))
    details = next((r.details for r in rows if r.details.get("attempt_id") == attempt.id), {})
    ids = details.get("escalations", [])
    raised = db.session.scalars(db.select(Escalation).where(Escalation.id.in_(ids))).all() if ids else []
    return LoggedCall(attempt, created=False, escalations=sorted(raised, key=lambda e: ids.index(e.id)),
                      members=[m["patient_id"] for m in details.get("members", [])])


def _log_attempt(task_id, user, report, submission_key, now):
    _require_caller(user)
    now = now or utcnow()
    try:
        submissions.check_unused(CallAttempt, submission_key,
                                 lambda previous: previous.user_id == user.id and previous.task_id == task_id,
                                 _l("The form is missing its submission key; reload the call screen."))
        task = scope.get_scoped(CallTask, task_id, user, lock=True, options=[joinedload(CallTask.patient)])
        _validate(report, now)
        if task.status != TaskStatus.CLAIMED or task.claimed_by_id != user.id:
            raise Conflict(_l("This call is no longer assigned to you (it timed out and went back to the "
                              "queue, or was finished). Nothing was recorded; take the next call."))
        if report.get("members") is None:
            logged = _record(task, user, report, submission_key, now)
        else:
            logged = _record_household(task, user, report, submission_key, now)
        logged.load_answer()
        tx.commit_keeping_state()  # a database lost right after the commit must not turn "saved" into an error
        return logged
    except BaseException:
        db.session.rollback()
        raise


def _record(task, user, report, submission_key, now):
    outcome = Outcome(report["outcome"])
    attempt = CallAttempt(
        task_id=task.id, patient_id=task.patient_id, district_id=task.district_id, user_id=user.id,
        submission_key=submission_key, outcome=outcome, temperature_f=report.get("temperature_f"),
        spo2=report.get("spo2"),
        symptoms=",".join(dict.fromkeys(report.get("symptoms") or [])),
        notes=(report.get("notes") or "").strip(), callback_at=report.get("callback_at"),
        started_at=task.claimed_at, created_at=now)
    db.session.add(attempt)
    db.session.flush()
    set_committed_value(attempt, "needs", [])  # a new attempt has none yet: reading them asks no query
    task.attempts += 1
    task.last_outcome = outcome
    patient = task.patient
    raised = []

    if outcome == Outcome.CONNECTED:
        _close(task, TaskStatus.DONE, now)
        patient.phone_invalid = False
        patient.last_contact_at = now
        raised += _route_needs(patient, attempt, report, user, now)
    elif outcome == Outcome.CALL_BACK_LATER:
        _requeue(task, report.get("callback_at") or now + _retry_interval())
    elif outcome == Outcome.WRONG_NUMBER:
        _close(task, TaskStatus.CANCELLED, now)
        patient.phone_invalid = True
        raised.append(raise_escalation(patient, "phone_check", Desk.CONTROL_ROOM, Severity.ROUTINE,
                                       source="call", user=user, now=now, summary=attempt.notes))
    elif task.attempts >= settings.get("max_attempts_per_day"):
        _close(task, TaskStatus.UNREACHABLE, now)
        raised.append(raise_escalation(patient, "field_visit", Desk.CONTROL_ROOM, Severity.ROUTINE,
                                       source="call", user=user, now=now, summary=attempt.notes,
                                       reasons=(("attempts", task.attempts),)))
    else:
        _requeue(task, now + _retry_interval())

    audit.record(user, "call.attempt", "call_task", task.id, task.district_id, now=now,
                 attempt_id=attempt.id, outcome=outcome, task_status=task.status,
                 escalations=[e.id for e in raised])
    return LoggedCall(attempt, created=True, escalations=raised)


def member_key(submission_key, patient_id):
    """The submission key of a household member's attempt: derived, so a resent form finds it again."""
    return hashlib.sha256(f"{submission_key}|{patient_id}".encode()).hexdigest()


def _record_household(task, user, report, submission_key, now):
    """One call to a household's shared phone: an attempt per member on the call (same outcome, the
    member's own readings), each member's needs routed against that member, and the members' tasks of
    this day and slot closed (or re-queued) together with the task that was called."""
    covered = households.call_members(task, lock=True)
    submitted = {int(m["patient_id"]): m for m in report["members"]}
    if task.patient_id not in submitted or not set(submitted) <= {p.id for p, _t in covered}:
        raise Conflict(_l("The household changed while this call was open (a member's call was made or their "
                          "follow-up ended). Nothing was recorded; open the call again."))
    outcome = Outcome(report["outcome"])
    notes = (report.get("notes") or "").strip()
    on_call = [(p, t, submitted[p.id]) for p, t in covered if p.id in submitted]
    attempts = {}
    for patient, member_task, readings in on_call:
        attempts[patient.id] = CallAttempt(
            task_id=member_task.id, patient_id=patient.id, district_id=patient.district_id, user_id=user.id,
            submission_key=submission_key if member_task is task else member_key(submission_key, patient.id),
            outcome=outcome, temperature_f=readings.get("temperature_f"), spo2=readings.get("spo2"),
            symptoms=",".join(dict.fromkeys(readings.get("symptoms") or [])), notes=notes,
            callback_at=report.get("callback_at"), started_at=task.claimed_at, created_at=now)
    db.session.add_all(attempts.values())
    db.session.flush()
    for attempt in attempts.values():
        set_committed_value(attempt, "needs", [])
    for _p, member_task, _r in on_call:
        member_task.attempts += 1
        member_task.last_outcome = outcome
    lead = task.patient
    raised = []

    if outcome == Outcome.CONNECTED:
        for patient, member_task, readings in on_call:
            _close(member_task, TaskStatus.DONE, now)
            patient.phone_invalid = False
            patient.last_contact_at = now
            raised += _route_needs(patient, attempts[patient.id], readings, user, now)
    elif outcome == Outcome.CALL_BACK_LATER:
        _requeue(task, report.get("callback_at") or now + _retry_interval())
    elif outcome == Outcome.WRONG_NUMBER:
        for patient, member_task, _r in on_call:
            _close(member_task, TaskStatus.CANCELLED, now)
            if patient.call_phone == lead.call_phone:
                patient.phone_invalid = True
        raised.append(raise_escalation(lead, "phone_check", Desk.CONTROL_ROOM, Severity.ROUTINE,
                                       source="call", user=user, now=now, summary=notes))
    elif task.attempts >= settings.get("max_attempts_per_day"):
        for _p, member_task, _r in on_call:
            _close(member_task, TaskStatus.UNREACHABLE, now)
        # One field visit for the household: one door to knock on.
        raised.append(raise_escalation(lead, "field_visit", Desk.CONTROL_ROOM, Severity.ROUTINE,
                                       source="call", user=user, now=now, summary=notes,
                                       reasons=(("attempts", task.attempts),)))
    else:
        _requeue(task, now + _retry_interval())
    for _p, member_task, _r in on_call:
        if member_task is not task:
            if member_task.status == TaskStatus.PENDING:
                member_task.due_at = task.due_at  # waits for the household's next try
            audit.record(user, "task.covered_by_household", "call_task", member_task.id, member_task.district_id,
                         now=now, by_task_id=task.id, attempt_id=attempts[member_task.patient_id].id,
                         task_status=member_task.status)

    audit.record(user, "call.attempt", "call_task", task.id, task.district_id, now=now,
                 attempt_id=attempts[lead.id].id, outcome=outcome, task_status=task.status,
                 escalations=[e.id for e in raised], household_id=lead.household_id,
                 members=[{"patient_id": p.id, "task_id": t.id, "attempt_id": attempts[p.id].id}
                          for p, t, _r in on_call])
    return LoggedCall(attempts[lead.id], created=True, escalations=raised, members=[p.id for p, _t, _r in on_call])


def _route_needs(patient, attempt, readings, user, now):
    """The member's needs and warning signs, as escalations against that member."""
    needs = [Need(patient_id=patient.id, kind=k, attempt_id=attempt.id, created_at=now)
             for k in dict.fromkeys(readings.get("needs") or [])]
    set_committed_value(attempt, "needs", needs)  # the attempt's needs are these: the answer need not ask
    raised = []
    for routing in route(readings.get("needs") or [], readings.get("symptoms") or [], attempt.spo2,
                         settings.thresholds()):
        esc = raise_escalation(patient, routing.kind, routing.desk, routing.severity, source="call",
                               user=user, now=now, summary=attempt.notes, reasons=routing.reasons)
        for need in needs:
            if need.kind == routing.kind:
                need.escalation_id = esc.id
        raised.append(esc)
    db.session.add_all(needs)  # after their escalations: each need is inserted with its escalation's id
    return raised


def _retry_interval():
    return timedelta(minutes=settings.get("retry_interval_minutes"))


def _close(task, status, now):
    task.status, task.closed_at = status, now


def _requeue(task, due_at):
    task.status, task.due_at, task.claimed_by_id, task.claimed_at = TaskStatus.PENDING, due_at, None, None
