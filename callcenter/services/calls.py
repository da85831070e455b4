"""Logging a call attempt: the task moves on, needs become escalations, all in one transaction."""
from dataclasses import dataclass, field
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from .. import scope
from ..clock import utcnow
from ..extensions import db
from ..models import AuditLog, CallAttempt, CallTask, Escalation, Need, Outcome, TaskStatus
from ..rules import vitals
from ..rules.routing import Desk, NeedKind, Severity, Symptom, route
from . import audit, settings
from .errors import Conflict, Invalid
from .escalations import raise_escalation
from .queue import _require_caller

FAILED_OUTCOMES = {Outcome.NO_ANSWER, Outcome.BUSY, Outcome.SWITCHED_OFF}
MAX_CALLBACK_AHEAD = timedelta(hours=48)


def _validate(report, now):
    errors = {}
    outcome = report.get("outcome")
    if outcome not in set(Outcome):
        errors["outcome"] = _l("Choose what happened on the call.")
    temp, spo2 = report.get("temperature_f"), report.get("spo2")
    if temp is not None and not (vitals.TEMPERATURE_F_MIN <= temp <= vitals.TEMPERATURE_F_MAX):
        errors["temperature_f"] = _l("Temperature must be between %(low)s and %(high)s °F.",
                                     low=vitals.TEMPERATURE_F_MIN, high=vitals.TEMPERATURE_F_MAX)
    if spo2 is not None and not (vitals.SPO2_MIN <= spo2 <= vitals.SPO2_MAX):
        errors["spo2"] = _l("SpO2 must be between %(low)s and %(high)s %%.", low=vitals.SPO2_MIN, high=vitals.SPO2_MAX)
    symptoms, needs = report.get("symptoms") or [], report.get("needs") or []
    if not set(symptoms) <= set(Symptom):
        errors["symptoms"] = _l("Unknown symptom.")
    if not set(needs) <= set(NeedKind):
        errors["needs"] = _l("Unknown need.")
    if outcome != Outcome.CONNECTED and (temp is not None or spo2 is not None or symptoms or needs):
        errors["outcome"] = _l("Readings, symptoms and needs can only be recorded on a connected call.")
    callback_at = report.get("callback_at")
    if callback_at is not None and not (now < callback_at <= now + MAX_CALLBACK_AHEAD):
        errors["callback_at"] = _l("The call-back time must be in the next 48 hours.")
    if errors:
        raise Invalid(_l("Please correct the marked fields."), errors)


def _existing(submission_key):
    return db.session.scalar(db.select(CallAttempt).where(CallAttempt.submission_key == submission_key))


@dataclass
class LoggedCall:
    attempt: CallAttempt
    created: bool  # False: this submission had already been recorded
    escalations: list = field(default_factory=list)


def log_attempt(task_id, user, report, submission_key, now=None):
    """Record one attempt on a claimed task.

    The same submission_key arriving again (double click, browser retry, API retry) returns the
    attempt already recorded instead of recording a second one.
    """
    try:
        return _log_attempt(task_id, user, report, submission_key, now)
    except IntegrityError:
        db.session.rollback()  # the twin request committed first
        attempt = _existing(submission_key)
        if attempt is None:
            raise
        return _logged_before(attempt)
    except _AlreadyLogged as done:
        return _logged_before(done.attempt)


def _logged_before(attempt):
    """A retry's answer: the attempt as first recorded, with the escalations it raised (from its audit row)."""
    rows = db.session.scalars(db.select(AuditLog).where(
        AuditLog.action == "call.attempt", AuditLog.entity == "call_task", AuditLog.entity_id == attempt.task_id))
    ids = next((r.details.get("escalations", []) for r in rows if r.details.get("attempt_id") == attempt.id), [])
    raised = db.session.scalars(db.select(Escalation).where(Escalation.id.in_(ids))).all() if ids else []
    return LoggedCall(attempt, created=False, escalations=sorted(raised, key=lambda e: ids.index(e.id)))


class _AlreadyLogged(Exception):
    def __init__(self, attempt):
        self.attempt = attempt


def _log_attempt(task_id, user, report, submission_key, now):
    _require_caller(user)
    now = now or utcnow()
    if not submission_key or len(submission_key) > 64:
        raise Invalid(_l("The form is missing its submission key; reload the call screen."),
                      {"submission_key": _l("Between 1 and 64 characters.")})
    try:
        previous = _existing(submission_key)
        if previous is not None:
            if previous.user_id != user.id or previous.task_id != task_id:
                raise Conflict(_l("This form was already used for another call."))
            raise _AlreadyLogged(previous)
        task = scope.get_scoped(CallTask, task_id, user, lock=True)
        _validate(report, now)
        if task.status != TaskStatus.CLAIMED or task.claimed_by_id != user.id:
            raise Conflict(_l("This call is no longer assigned to you (it timed out and went back to the "
                              "queue, or was finished). Nothing was recorded; take the next call."))
        logged = _record(task, user, report, submission_key, now)
        db.session.commit()
        return logged
    except BaseException:
        db.session.rollback()
        raise


def _record(task, user, report, submission_key, now):
    outcome = Outcome(report["outcome"])
    attempt = CallAttempt(
        task_id=task.id, patient_id=task.patient_id, user_id=user.id, submission_key=submission_key,
        outcome=outcome, temperature_f=report.get("temperature_f"), spo2=report.get("spo2"),
        symptoms=",".join(dict.fromkeys(report.get("symptoms") or [])),
        notes=(report.get("notes") or "").strip(), callback_at=report.get("callback_at"),
        started_at=task.claimed_at, created_at=now)
    db.session.add(attempt)
    db.session.flush()
    task.attempts += 1
    task.last_outcome = outcome
    patient = task.patient
    raised = []

    if outcome == Outcome.CONNECTED:
        _close(task, TaskStatus.DONE, now)
        patient.phone_invalid = False
        patient.last_contact_at = now
        needs = [Need(patient_id=patient.id, kind=k, attempt_id=attempt.id, created_at=now)
                 for k in dict.fromkeys(report.get("needs") or [])]
        db.session.add_all(needs)
        for routing in route(report.get("needs") or [], report.get("symptoms") or [], attempt.spo2,
                             settings.thresholds()):
            esc = raise_escalation(patient, routing.kind, routing.desk, routing.severity, source="call",
                                   user=user, now=now, summary=attempt.notes, reasons=routing.reasons)
            for need in needs:
                if need.kind == routing.kind:
                    need.escalation_id = esc.id
            raised.append(esc)
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


def _retry_interval():
    return timedelta(minutes=settings.get("retry_interval_minutes"))


def _close(task, status, now):
    task.status, task.closed_at = status, now


def _requeue(task, due_at):
    task.status, task.due_at, task.claimed_by_id, task.claimed_at = TaskStatus.PENDING, due_at, None, None
