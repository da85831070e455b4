"""Raising escalations and moving them through their lifecycle (open → acknowledged → in progress →
resolved / cancelled), each step timestamped and audited."""
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import case

from .. import labels, scope
from ..clock import utcnow
from ..extensions import db
from ..models import OPEN_ESCALATION_STATUSES, Desk, Escalation, EscalationNote, EscalationStatus, Role, Severity
from . import audit, settings
from .errors import Conflict, Forbidden, Invalid
from .tx import transaction

DESK_ROLES = {
    Desk.CONTROL_ROOM: {Role.CONTROL_ROOM},
    Desk.DOCTOR: {Role.DOCTOR},
    Desk.COUNSELLOR: {Role.COUNSELLOR},
}
SUPERVISORS = {Role.NODAL_OFFICER, Role.ADMIN}


def desks_for(user):
    """The desks this user works (supervisors see all)."""
    if user.role in SUPERVISORS:
        return list(Desk)
    return [d for d, roles in DESK_ROLES.items() if user.role in roles]


def raise_escalation(patient, kind, desk, severity, source, user=None, now=None, summary="", reasons=()):
    """Open an escalation inside the caller's transaction.

    If the patient already has an open one of the same kind, that one gets a note instead of a twin
    (and is raised to emergency if this report is one).
    """
    now = now or utcnow()
    existing = db.session.scalar(db.select(Escalation).where(
        Escalation.patient_id == patient.id, Escalation.kind == kind,
        Escalation.status.in_(OPEN_ESCALATION_STATUSES)).with_for_update())
    if existing is not None:
        # An empty note reads "reported again" in each reader's language (see desks/detail.html).
        db.session.add(EscalationNote(escalation=existing, user_id=getattr(user, "id", None), at=now,
                                      text=summary or ""))
        if severity == Severity.EMERGENCY and existing.severity != Severity.EMERGENCY:
            existing.severity = Severity.EMERGENCY
            existing.respond_by = now + _ack_window()
        existing.reasons = _merge(existing.reasons, reasons)
        audit.record(user, "escalation.repeat", "escalation", existing.id, patient.district_id, now=now,
                     source=source)
        return existing
    esc = Escalation(patient_id=patient.id, district_id=patient.district_id, kind=kind, desk=desk,
                     severity=severity, status=EscalationStatus.OPEN, summary=summary or "", source=source,
                     reasons=[list(r) for r in reasons], created_at=now, created_by_id=getattr(user, "id", None),
                     respond_by=now + _ack_window() if severity == Severity.EMERGENCY else None)
    db.session.add(esc)
    db.session.flush()
    audit.record(user, "escalation.raise", "escalation", esc.id, patient.district_id, now=now,
                 kind=kind, desk=desk, severity=severity, source=source)
    return esc


def _merge(old, new):
    merged = [list(r) for r in old or []]
    for r in new:
        if list(r) not in merged:
            merged.append(list(r))
    return merged


def _ack_window():
    return timedelta(minutes=settings.get("emergency_ack_minutes"))


def desk_queue(user, desk, include_closed=False, status=None):
    """Escalations for a desk: emergencies first, then oldest first. `status` narrows to one status."""
    if desk not in desks_for(user):
        raise Forbidden(_l("This desk is not yours."))
    stmt = db.select(Escalation).where(Escalation.desk == desk)
    if status is not None:
        stmt = stmt.where(Escalation.status == status)
    elif not include_closed:
        stmt = stmt.where(Escalation.status.in_(OPEN_ESCALATION_STATUSES))
    stmt = stmt.order_by(case((Escalation.severity == Severity.EMERGENCY, 0), else_=1), Escalation.created_at)
    return db.session.scalars(scope.scoped(stmt, Escalation, user)).all()


def get_for_desk(esc_id, user, lock=False):
    """One escalation for someone who works its desk: NotFound outside the district, Forbidden off-desk."""
    esc = scope.get_scoped(Escalation, esc_id, user, lock=lock)
    if esc.desk not in desks_for(user):
        raise Forbidden(_l("This escalation belongs to another desk."))
    return esc


def _load_for_action(esc_id, user, version):
    esc = get_for_desk(esc_id, user, lock=True)
    if version is not None and int(version) != esc.version:
        raise Conflict(_l("Someone else changed this escalation a moment ago. Reload to see what they did."))
    return esc


def _move(esc, status):
    if not esc.can_move_to(status):
        raise Conflict(_l("This escalation is marked “%(current)s”; it cannot be changed to “%(wanted)s”.",
                          current=labels.ESCALATION_STATUSES[esc.status], wanted=labels.ESCALATION_STATUSES[status]))
    esc.status = status


@transaction
def acknowledge(esc_id, user, version=None, now=None):
    now = now or utcnow()
    esc = _load_for_action(esc_id, user, version)
    _move(esc, EscalationStatus.ACKNOWLEDGED)
    esc.acknowledged_at, esc.acknowledged_by_id, esc.owner_id = now, user.id, user.id
    audit.record(user, "escalation.acknowledge", "escalation", esc.id, esc.district_id, now=now)
    return esc


@transaction
def start(esc_id, user, note="", version=None, now=None):
    """Mark work under way (ambulance dispatched, medicine on its way …)."""
    now = now or utcnow()
    esc = _load_for_action(esc_id, user, version)
    _move(esc, EscalationStatus.IN_PROGRESS)
    esc.started_at, esc.owner_id = now, esc.owner_id or user.id
    _note(esc, user, note, now)
    audit.record(user, "escalation.start", "escalation", esc.id, esc.district_id, now=now)
    return esc


@transaction
def add_note(esc_id, user, text, now=None):
    """Notes never conflict with other changes, so they take no version."""
    now = now or utcnow()
    if not (text or "").strip():
        raise Invalid(_l("Write a note first."), {"text": _l("Write a note first.")})
    esc = _load_for_action(esc_id, user, None)
    _note(esc, user, text, now)
    audit.record(user, "escalation.note", "escalation", esc.id, esc.district_id, now=now)
    return esc


@transaction
def resolve(esc_id, user, outcome, version=None, now=None):
    return _close(esc_id, user, EscalationStatus.RESOLVED, outcome, version, now,
                  _l("Say how it was resolved."))


@transaction
def cancel(esc_id, user, reason, version=None, now=None):
    return _close(esc_id, user, EscalationStatus.CANCELLED, reason, version, now,
                  _l("Give a reason for cancelling."))


def _close(esc_id, user, status, text, version, now, missing_message):
    now = now or utcnow()
    text = (text or "").strip()
    if not text:
        raise Invalid(missing_message, {"text": missing_message})
    esc = _load_for_action(esc_id, user, version)
    _move(esc, status)
    esc.closed_at, esc.closed_by_id, esc.resolution = now, user.id, text
    audit.record(user, f"escalation.{status}", "escalation", esc.id, esc.district_id, now=now, text=text)
    return esc


def _note(esc, user, text, now):
    if (text or "").strip():
        db.session.add(EscalationNote(escalation=esc, user_id=user.id, at=now, text=text.strip()))


# The desk actions by name, for callers that take the action as data (the API).
ACTIONS = {
    "acknowledge": lambda esc_id, user, text, version: acknowledge(esc_id, user, version=version),
    "start": lambda esc_id, user, text, version: start(esc_id, user, text, version=version),
    "note": lambda esc_id, user, text, version: add_note(esc_id, user, text),  # notes never conflict
    "resolve": lambda esc_id, user, text, version: resolve(esc_id, user, text, version=version),
    "cancel": lambda esc_id, user, text, version: cancel(esc_id, user, text, version=version),
}


def act(esc_id, user, action, text="", version=None):
    """Run one desk action by name; each action is its own transaction."""
    if action not in ACTIONS:
        raise Invalid(_l("Unknown action."), {"action": _l("Unknown action.")})
    return ACTIONS[action](esc_id, user, text, version)
