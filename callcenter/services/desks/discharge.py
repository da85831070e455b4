"""Release from isolation: flagging patients due a discharge review, and the one-click decision.

Nobody is discharged silently: the job only flags; a doctor or the nodal officer decides, and the
decision is recorded with who, when and why.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, literal, select, union, union_all
from sqlalchemy.orm import selectinload

from ... import scope
from ...clock import start_of_local_day, utcnow
from ...extensions import db
from ...models import CallAttempt, CheckIn, DischargeReview, Patient, PatientStatus, ReviewStatus, Role, Setting
from ..calls.lock_order import lock_for_change
from ..core import audit, settings
from ..core.errors import Conflict, Forbidden, Invalid
from ..core.tx import insert_ignoring_conflicts, transaction
from ..records import patients

REVIEWER_ROLES = {Role.DOCTOR, Role.NODAL_OFFICER, Role.ADMIN}
REFLAG_AFTER_DAYS = 2  # a "not yet" decision is asked again after this many days


@transaction
def flag_release_reviews(day, now=None, user=None):
    """Flag every active home/CCC patient who meets the release rule on `day` (set-based, idempotent).

    The rule is rules.isolation.due_for_release_review, written here as SQL over the whole table.
    """
    now = now or utcnow()
    th, rule = settings.thresholds(), settings.release_rule()
    fever_since = start_of_local_day(day - timedelta(days=rule.fever_free_days - 1))
    had_fever = union(
        select(CallAttempt.patient_id).where(CallAttempt.created_at >= fever_since,
                                             CallAttempt.temperature_f >= th.fever_f),
        select(CheckIn.patient_id).where(CheckIn.at >= fever_since, CheckIn.temperature_f >= th.fever_f))
    recently_reviewed = select(DischargeReview.patient_id).where(
        (DischargeReview.status == ReviewStatus.PENDING)
        | (DischargeReview.flagged_on > day - timedelta(days=REFLAG_AFTER_DAYS)))
    rows = select(Patient.id, Patient.district_id, literal(day), literal(now),
                  literal(ReviewStatus.PENDING.value), literal("")).where(
        Patient.status == PatientStatus.ACTIVE,
        Patient.setting.in_((Setting.HOME, Setting.CCC)),
        func.coalesce(Patient.symptom_onset_date, Patient.positive_date) <= day - timedelta(days=rule.min_days),
        Patient.id.not_in(had_fever),
        Patient.id.not_in(recently_reviewed))
    stmt = insert_ignoring_conflicts(DischargeReview).from_select(
        ["patient_id", "district_id", "flagged_on", "flagged_at", "status", "note"], rows)
    flagged = db.session.execute(stmt, execution_options={"preserve_rowcount": True}).rowcount
    audit.record(user, "discharge_review.flag", "discharge_review", None, None, now=now, day=day.isoformat(),
                 flagged=flagged)
    return flagged


def pending_reviews(user):
    if user.role not in REVIEWER_ROLES:
        raise Forbidden(_l("Only a doctor or the nodal officer reviews discharges."))
    stmt = db.select(DischargeReview).where(DischargeReview.status == ReviewStatus.PENDING).order_by(
        DischargeReview.flagged_on, DischargeReview.id).options(
        selectinload(DischargeReview.patient).selectinload(Patient.facility))  # the list shows both
    return db.session.scalars(scope.scoped(stmt, DischargeReview, user)).all()


def pending_review(review_id, user):
    """One review still waiting for a decision (the discharge's confirmation page); Conflict once decided."""
    if user.role not in REVIEWER_ROLES:
        raise Forbidden(_l("Only a doctor or the nodal officer reviews discharges."))
    review = scope.get_scoped(DischargeReview, review_id, user)
    if review.status != ReviewStatus.PENDING:
        raise Conflict(_l("This review was already decided."))
    return review


@dataclass(frozen=True)
class Reading:
    value: float
    at: datetime


def latest_readings(patient_ids):
    """{patient id: {"spo2": Reading, "temperature_f": Reading}} (a key only where there is one): each patient's
    latest SpO2 and temperature from calls and check-ins together, in two queries however long the list."""
    ids = list(patient_ids)
    readings = {pid: {} for pid in ids}
    if not ids:
        return readings
    for name in ("spo2", "temperature_f"):
        taken = union_all(
            select(CallAttempt.patient_id.label("pid"), getattr(CallAttempt, name).label("value"),
                   CallAttempt.created_at.label("at"))
            .where(CallAttempt.patient_id.in_(ids), getattr(CallAttempt, name).is_not(None)),
            select(CheckIn.patient_id, getattr(CheckIn, name), CheckIn.at)
            .where(CheckIn.patient_id.in_(ids), getattr(CheckIn, name).is_not(None))).subquery()
        ranked = select(taken.c.pid, taken.c.value, taken.c.at, func.row_number().over(
            partition_by=taken.c.pid, order_by=taken.c.at.desc()).label("n")).subquery()
        for pid, value, at in db.session.execute(select(ranked.c.pid, ranked.c.value, ranked.c.at)
                                                 .where(ranked.c.n == 1)):
            readings[pid][name] = Reading(value, at)
    return readings


@transaction
def decide(review_id, user, discharge, note="", now=None):
    """Discharge the patient (follow-up ends, as recovered) or continue isolation; both are recorded."""
    if user.role not in REVIEWER_ROLES:
        raise Forbidden(_l("Only a doctor or the nodal officer reviews discharges."))
    now = now or utcnow()
    review = scope.get_scoped(DischargeReview, review_id, user, lock=True)
    if review.status != ReviewStatus.PENDING:
        raise Conflict(_l("This review was already decided."))
    note = (note or "").strip()
    if not discharge and not note:
        raise Invalid(_l("Say why isolation continues."), {"note": _l("Say why isolation continues.")})
    review.status = ReviewStatus.DISCHARGED if discharge else ReviewStatus.CONTINUED
    review.decided_at, review.decided_by_id, review.note = now, user.id, note
    if discharge:
        lock_for_change(review.patient_id)
        patients.end_follow_up(review.patient, PatientStatus.RECOVERED, note or "discharge review", user, now)
    audit.record(user, f"discharge_review.{review.status}", "discharge_review", review.id, review.district_id,
                 now=now, patient_id=review.patient_id, note=note)
    return review
