"""Reading a patient's recent history (calls, check-ins, escalations) for a call screen or a desk.

Every view of a patient record is logged (DPDP: access logs), so these reads write one audit row.
"""
from datetime import timedelta

from flask_babel import lazy_gettext as _l

from .. import scope
from ..clock import utcnow
from ..extensions import db
from ..models import OPEN_ESCALATION_STATUSES, CallAttempt, CallTask, CheckIn, Escalation, Patient, Role, TaskStatus
from . import audit
from .errors import Forbidden
from .tx import transaction


@transaction
def log_view(user, patient, purpose):
    audit.record(user, "patient.view", "patient", patient.id, patient.district_id, purpose=purpose)


def open_patient(user, patient_id, purpose):
    """One patient's record for this user, logged. Volunteers only for the patient on their current call
    (DPDP: show volunteers only what a call needs)."""
    patient = scope.get_scoped(Patient, patient_id, user)
    if user.role == Role.VOLUNTEER and not db.session.scalar(db.select(CallTask.id).where(
            CallTask.patient_id == patient.id, CallTask.claimed_by_id == user.id,
            CallTask.status == TaskStatus.CLAIMED).limit(1)):
        raise Forbidden(_l("Volunteers see a patient only on their current call."))
    log_view(user, patient, purpose)
    return patient


def recent_history(patient, days=7, now=None):
    since = (now or utcnow()) - timedelta(days=days)
    attempts = db.session.scalars(
        db.select(CallAttempt).where(CallAttempt.patient_id == patient.id, CallAttempt.created_at >= since)
        .order_by(CallAttempt.created_at.desc())).all()
    checkins = db.session.scalars(
        db.select(CheckIn).where(CheckIn.patient_id == patient.id, CheckIn.at >= since)
        .order_by(CheckIn.at.desc())).all()
    open_escalations = db.session.scalars(
        db.select(Escalation).where(Escalation.patient_id == patient.id,
                                    Escalation.status.in_(OPEN_ESCALATION_STATUSES))
        .order_by(Escalation.created_at.desc())).all()
    recently_closed = db.session.scalars(
        db.select(Escalation).where(Escalation.patient_id == patient.id, Escalation.closed_at >= since,
                                    Escalation.status.not_in(OPEN_ESCALATION_STATUSES))
        .order_by(Escalation.closed_at.desc())).all()
    return {"attempts": attempts, "checkins": checkins, "open_escalations": open_escalations,
            "recently_closed": recently_closed}
