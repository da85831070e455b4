"""Moving a patient between settings and facilities, and ending their follow-up — explicit actions
with a reason, never edits that lose history.

A transfer adds a Transfer row (from → to) and changes the patient's current place; the patient's
open calls move to the new setting's queue. Recovery/discharge, death and a move out of district end
the follow-up through services.patients.end_follow_up (open calls cancelled).
"""
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, update

from ... import scope
from ...clock import local_date, utcnow
from ...extensions import db
from ...models import (
    OPEN_ESCALATION_STATUSES,
    OPEN_TASK_STATUSES,
    CallTask,
    DischargeReview,
    Escalation,
    Facility,
    Patient,
    PatientStatus,
    ReviewStatus,
    Role,
    Setting,
    Transfer,
)
from ...rules.routing import EMERGENCY_NEEDS
from ..calls import households
from ..calls.lock_order import lock_for_change
from ..core import audit
from ..core.errors import Conflict, Forbidden, Invalid
from ..core.tx import transaction
from ..desks import lifecycle
from . import patients

TRANSFER_ROLES = {Role.NODAL_OFFICER, Role.ADMIN, Role.DOCTOR, Role.CONTROL_ROOM}
END_ROLES = {Role.NODAL_OFFICER, Role.ADMIN}
END_STATUSES = (PatientStatus.RECOVERED, PatientStatus.DIED, PatientStatus.MOVED_OUT)
# The control room moves a patient only after it sent an ambulance, found a bed or oxygen this recently.
CONTROL_ROOM_WINDOW = timedelta(days=3)
MAX_REASON = 500


def _reason(text, missing):
    reason = " ".join((text or "").split())
    if not reason:
        raise Invalid(missing, {"reason": missing})
    if len(reason) > MAX_REASON:
        message = _l("The reason is too long (%(n)s characters at most).", n=MAX_REASON)
        raise Invalid(message, {"reason": message})
    return reason


def control_room_may_transfer(patient, now=None):
    """The control room transfers after an emergency it handled: an ambulance, bed or oxygen request
    for this patient still open or raised/closed in the last few days."""
    since = (now or utcnow()) - CONTROL_ROOM_WINDOW
    return db.session.scalar(db.select(Escalation.id).where(
        Escalation.patient_id == patient.id, Escalation.kind.in_([str(k) for k in EMERGENCY_NEEDS]),
        or_(Escalation.status.in_(OPEN_ESCALATION_STATUSES), Escalation.created_at >= since,
            Escalation.closed_at >= since)).limit(1)) is not None


def may_transfer(user, patient, now=None):
    role = getattr(user, "role", None)
    if role not in TRANSFER_ROLES or not patient.is_active:
        return False
    return role != Role.CONTROL_ROOM or control_room_may_transfer(patient, now)


def may_end(user, patient):
    return getattr(user, "role", None) in END_ROLES and patient.is_active


def destinations(patient):
    """The facilities a patient can be moved to: their district's, by kind, then name."""
    return db.session.scalars(db.select(Facility).where(Facility.district_id == patient.district_id)
                              .order_by(Facility.kind, Facility.name)).all()


@transaction
def transfer(patient_id, user, to_setting, to_facility_id, reason, now=None):
    """Move the patient to another setting or facility; returns the Transfer row."""
    if user.role not in TRANSFER_ROLES:
        raise Forbidden(_l("Only a nodal officer, an administrator, a doctor or the control room moves patients."))
    now = now or utcnow()
    scope.get_scoped(Patient, patient_id, user)  # not found, or not theirs, before anything is locked
    patient = lock_for_change(patient_id)
    if not patient.is_active:
        raise Conflict(_l("This patient's follow-up has already ended."))
    if user.role == Role.CONTROL_ROOM:
        if to_setting == Setting.HOME or not control_room_may_transfer(patient, now):
            raise Forbidden(_l("The control room moves a patient to a hospital or care centre only after an "
                               "ambulance, bed or oxygen request in the last 3 days."))
    reason = _reason(reason, _l("Say why the patient is moved."))
    facility = _destination(patient, to_setting, to_facility_id)
    move = Transfer(patient_id=patient.id, at=now, from_setting=patient.setting, to_setting=to_setting,
                    from_facility_id=patient.facility_id, to_facility_id=facility.id if facility else None,
                    reason=reason, by_user_id=user.id)
    db.session.add(move)
    patient.setting, patient.facility_id = Setting(to_setting), move.to_facility_id
    if to_setting == Setting.HOME and patient.isolation_start_date is None:
        patient.isolation_start_date = local_date(now)
    # Today's open calls go to the new setting's queue (earlier days' open calls are closed as missed).
    moved = db.session.execute(
        update(CallTask).where(CallTask.patient_id == patient.id, CallTask.status.in_(OPEN_TASK_STATUSES),
                               CallTask.task_date >= local_date(now))
        .values(setting=str(to_setting)).execution_options(synchronize_session=False),
        execution_options={"preserve_rowcount": True}).rowcount
    db.session.flush()
    # Admitted from home: what was needed at home is closed, the rest flagged for the desks (rules/routing.py).
    cancelled, flagged = lifecycle.settle_on_admission(patient, facility, user, now) \
        if move.from_setting == Setting.HOME and facility is not None else ([], [])
    audit.record(user, "patient.transfer", "patient", patient.id, patient.district_id, now=now,
                 transfer_id=move.id, from_setting=move.from_setting, to_setting=move.to_setting,
                 from_facility_id=move.from_facility_id, to_facility_id=move.to_facility_id, reason=reason,
                 tasks_moved=moved, escalations_cancelled=cancelled, escalations_flagged=flagged)
    # A member who moves is no longer isolated with the family.
    households.detach(patient, user, now, "transferred")
    return move


def _destination(patient, to_setting, to_facility_id):
    if to_setting not in set(Setting):
        message = _l("Choose hospital, COVID care centre or home isolation.")
        raise Invalid(message, {"to_setting": message})
    facility = db.session.get(Facility, int(to_facility_id)) if to_facility_id else None
    if to_setting in (Setting.HOSPITAL, Setting.CCC):
        if facility is None or facility.kind != to_setting or facility.district_id != patient.district_id:
            message = _l("Choose the hospital or care centre the patient goes to.")
            raise Invalid(message, {"to_facility_id": message})
    elif facility is not None:
        message = _l("A patient in home isolation has no facility.")
        raise Invalid(message, {"to_facility_id": message})
    if to_setting == patient.setting and (facility.id if facility else None) == patient.facility_id:
        message = _l("The patient is already there.")
        raise Invalid(message, {"to_setting": message})
    return facility


@transaction
def end(patient_id, user, status, reason, now=None):
    """End the follow-up: recovered/discharged, died, or moved out of the district."""
    if user.role not in END_ROLES:
        raise Forbidden(_l("Only a nodal officer or an administrator ends a patient's follow-up."))
    now = now or utcnow()
    if status not in {str(s) for s in END_STATUSES}:
        message = _l("Choose how the follow-up ends.")
        raise Invalid(message, {"status": message})
    scope.get_scoped(Patient, patient_id, user)
    patient = lock_for_change(patient_id)
    if not patient.is_active:
        raise Conflict(_l("This patient's follow-up has already ended."))
    reason = _reason(reason, _l("Say why the follow-up ends."))
    patients.end_follow_up(patient, status, reason, user, now)
    if status == PatientStatus.RECOVERED:
        # A discharge decided here answers a pending discharge review.
        review = db.session.scalar(db.select(DischargeReview).where(
            DischargeReview.patient_id == patient.id, DischargeReview.status == ReviewStatus.PENDING))
        if review is not None:
            review.status, review.decided_at, review.decided_by_id, review.note = (
                ReviewStatus.DISCHARGED, now, user.id, reason)
            audit.record(user, "discharge_review.discharged", "discharge_review", review.id, review.district_id,
                         now=now, patient_id=patient.id, note=reason)
    return patient
