"""Field visits: patients nobody could reach by phone (open "field_visit" escalations, raised by
services/calls/calls.py after the day's last failed attempt), listed per block for the field teams, and the
result of each visit, which resolves the escalation with the result as its outcome code.

The results and what each does, in the same transaction:
- met_well: the patient was reached in person;
- met_unwell: reached, and unwell: a new escalation to the doctor's desk, or an emergency to the control room;
- not_at_home, wrong_address: nothing more (tomorrow's calls go on; the note says what was found);
- moved_out, died: the follow-up ends (services.patients.end_follow_up; open calls cancelled).
"""
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import func

from ... import labels, scope
from ...clock import utcnow
from ...extensions import db
from ...models import (
    OPEN_ESCALATION_STATUSES,
    Block,
    CallAttempt,
    Desk,
    Escalation,
    Patient,
    PatientStatus,
    Role,
    Severity,
    Village,
)
from ...rules.routing import WARNING_SIGN, NeedKind
from ..calls.calls import FAILED_OUTCOMES
from ..calls.lock_order import lock_for_change
from ..core import audit
from ..core.errors import Conflict, Forbidden, Invalid, NotFound
from ..core.tx import transaction
from ..records import patients
from . import escalations

KIND = "field_visit"
VISIT_ROLES = {Role.CONTROL_ROOM, Role.NODAL_OFFICER, Role.ADMIN}
RESULTS = ("met_well", "met_unwell", "not_at_home", "wrong_address", "moved_out", "died")
ENDS_FOLLOW_UP = {"moved_out": PatientStatus.MOVED_OUT, "died": PatientStatus.DIED}
NOTE_REQUIRED = {"met_unwell", "wrong_address"}
# Where an unwell patient is sent: the doctor's desk (routine), or the control room as an emergency.
SEND_TO = ("doctor", "emergency")
NO_BLOCK = 0  # the list's filter value for patients with no village (so no block) recorded
MAX_NOTE = 2000


def may_visit(user):
    return getattr(user, "role", None) in VISIT_ROLES


def _require_role(user):
    if not may_visit(user):
        raise Forbidden(_l("Only the control room, a nodal officer or an administrator handles field visits."))


@dataclass
class Visit:
    escalation: Escalation
    patient: Patient
    village: Village | None
    block: Block | None
    failed_attempts: int = 0  # failed calls since the patient was last reached


@dataclass
class BlockGroup:
    block: Block | None  # None: no village recorded
    visits: list = field(default_factory=list)


def blocks(user):
    """The blocks of the user's districts, for the list's filter."""
    stmt = db.select(Block).order_by(Block.name)
    return db.session.scalars(scope.scoped(stmt, Block, user)).all()


def open_visits(user, block_id=None):
    """Open field visits in the user's district, grouped by block (by village within a block, oldest first).

    `block_id` narrows to one block (NO_BLOCK: patients without a village)."""
    _require_role(user)
    stmt = (db.select(Escalation, Patient, Village, Block)
            .join(Patient, Patient.id == Escalation.patient_id)
            .outerjoin(Village, Village.id == Patient.village_id)
            .outerjoin(Block, Block.id == Village.block_id)
            .where(Escalation.kind == KIND, Escalation.status.in_(OPEN_ESCALATION_STATUSES))
            .order_by(Block.name.is_(None), Block.name, Village.name, Escalation.created_at, Escalation.id))
    if block_id == NO_BLOCK:
        stmt = stmt.where(Patient.village_id.is_(None))
    elif block_id is not None:
        stmt = stmt.where(Block.id == block_id)
    rows = db.session.execute(scope.scoped(stmt, Escalation, user)).all()
    failed = _failed_attempts([patient.id for _e, patient, _v, _b in rows])
    groups = {}
    for esc, patient, village, block in rows:
        group = groups.setdefault(block.id if block else None, BlockGroup(block))
        group.visits.append(Visit(esc, patient, village, block, failed.get(patient.id, 0)))
    return list(groups.values())


def _failed_attempts(patient_ids):
    """Failed call attempts per patient since each was last reached (or registered)."""
    if not patient_ids:
        return {}
    since = func.coalesce(Patient.last_contact_at, Patient.created_at)
    stmt = (db.select(CallAttempt.patient_id, func.count())
            .join(Patient, Patient.id == CallAttempt.patient_id)
            .where(CallAttempt.patient_id.in_(patient_ids), CallAttempt.outcome.in_([str(o) for o in FAILED_OUTCOMES]),
                   CallAttempt.created_at > since)
            .group_by(CallAttempt.patient_id))
    return dict(db.session.execute(stmt).all())


def get_visit(esc_id, user):
    """One field visit (NotFound outside the district or if the escalation is something else)."""
    _require_role(user)
    esc = scope.get_scoped(Escalation, esc_id, user)
    if esc.kind != KIND:
        raise NotFound(_l("Not found, or not in your district."))
    return esc


@dataclass
class VisitResult:
    escalation: Escalation
    raised: Escalation | None = None
    ended: bool = False


@transaction
def record(esc_id, user, result, note="", send_to=None, version=None, now=None):
    """Record what the field visit found and resolve its escalation with `result` as the outcome."""
    _require_role(user)
    now = now or utcnow()
    note = (note or "").strip()
    errors = {}
    if result not in RESULTS:
        errors["result"] = _l("Choose what the visit found.")
    if result == "met_unwell" and send_to not in SEND_TO:
        errors["send_to"] = _l("Choose who must act: the doctor on duty or the control room (emergency).")
    if result in NOTE_REQUIRED and not note:
        errors["note"] = _l("Say what the visit found.")
    elif len(note) > MAX_NOTE:
        errors["note"] = _l("Too long (%(n)s characters at most).", n=MAX_NOTE)
    if errors:
        raise Invalid(_l("Please correct the marked fields."), errors)
    esc = get_visit(esc_id, user)
    if not esc.is_open:
        raise Conflict(_l("This field visit was already recorded or cancelled. Reload to see it."))
    label = str(labels.FIELD_VISIT_RESULTS[result])
    text = f"{label}: {note}" if note else label
    lock_for_change(esc.patient_id)  # before the visit's lock, in a call's order
    # The escalations service closes it (lock, version check, timestamps, audit) as part of this transaction.
    esc = escalations.resolve(esc.id, user, text, version=version, now=now, outcome=result,
                              allowed_outcomes=RESULTS)
    patient = esc.patient
    outcome = VisitResult(esc)
    if result in ("met_well", "met_unwell"):
        patient.last_contact_at = now
    if result == "met_unwell" and patient.is_active:
        if send_to == "emergency":
            outcome.raised = escalations.raise_escalation(
                patient, WARNING_SIGN, Desk.CONTROL_ROOM, Severity.EMERGENCY, source="field", user=user, now=now,
                summary=note, reasons=(("field_visit", result),))
        else:
            outcome.raised = escalations.raise_escalation(
                patient, str(NeedKind.DOCTOR), Desk.DOCTOR, Severity.ROUTINE, source="field", user=user, now=now,
                summary=note, reasons=(("field_visit", result),))
    if result in ENDS_FOLLOW_UP and patient.is_active:
        patients.end_follow_up(patient, ENDS_FOLLOW_UP[result], text, user, now)
        outcome.ended = True
    audit.record(user, "field_visit.record", "escalation", esc.id, esc.district_id, now=now, patient_id=patient.id,
                 result=result, note=note, send_to=send_to if result == "met_unwell" else None,
                 raised=outcome.raised.id if outcome.raised else None, follow_up_ended=outcome.ended)
    return outcome
