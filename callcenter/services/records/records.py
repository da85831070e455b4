"""Reading patients: recent history for a call screen or a desk, search, and the whole-course record.

Every view of a patient record and every search is logged (DPDP: access logs).
"""
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_
from sqlalchemy.orm import joinedload, selectinload

from ... import scope
from ...clock import local_date, utcnow
from ...extensions import db
from ...models import (
    OPEN_ESCALATION_STATUSES,
    AuditLog,
    CallAttempt,
    CallTask,
    CheckIn,
    Consultation,
    DischargeReview,
    Escalation,
    Facility,
    ImportBatch,
    ImportRow,
    Patient,
    PatientStatus,
    Role,
    RowAction,
    TaskStatus,
    User,
    Village,
)
from ...rules.identity import InvalidValue, name_key, normalize_abha, normalize_indian_mobile
from ...rules.linelist.records import lab_key
from ..core import audit
from ..core.errors import Forbidden, Invalid
from ..core.tx import transaction
from . import shown


@transaction
def log_view(user, patient, purpose):
    audit.record(user, "patient.view", "patient", patient.id, patient.district_id, purpose=purpose)


def log_list_view(user, patient_ids, purpose):
    """A page that lists patients (an inbox, a list): who saw which patients, and why; one audit row per
    request names every patient it showed (shown.py)."""
    shown.note(user, patient_ids, purpose)


polled = shown.polled


@transaction
def log_views(user, patients, purpose):
    """One audit row per patient shown (a household's members on one call screen), in one transaction."""
    for patient in patients:
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


# --- The patient record: search, the whole-course timeline ------------------------------------------

RECORD_ROLES = {Role.NODAL_OFFICER, Role.ADMIN, Role.CONTROL_ROOM, Role.DOCTOR, Role.COUNSELLOR}
SEARCH_LIMIT = 50
# Matches counted at most: a common name matches tens of thousands state-wide, and counting them all read
# as many rows; "more than 500" tells the reader as much.
COUNT_LIMIT = 500
NEWEST_FIRST = (Patient.created_at.desc(), Patient.id.desc())


def may_open_record(user):
    """Whether this user opens full patient records (volunteers see a patient only on their call)."""
    return getattr(user, "role", None) in RECORD_ROLES


def _require_record_role(user):
    if not may_open_record(user):
        raise Forbidden(_l("Volunteers see a patient only on their current call."))


def search_conditions(text):
    """What a one-box search matches: phone (any written form, own or attendant's), ABHA number,
    lab ID (any case and spacing) and part of the name. Returns (conditions, the kinds tried).

    Each condition has its index (models/patients.py), so their OR is a union of index lookups on PostgreSQL;
    a name's part is found through the trigram index there, and by LIKE on SQLite (the same rows)."""
    conditions, kinds = [], []
    try:
        phone = normalize_indian_mobile(text, refuse_placeholders=False)
    except InvalidValue:
        pass
    else:
        conditions += [Patient.phone == phone, Patient.attendant_phone == phone]
        kinds.append("phone")
    try:
        abha = normalize_abha(text)
    except InvalidValue:
        pass
    else:
        conditions.append(Patient.abha_number == abha)
        kinds.append("abha")
    conditions.append(Patient.lab_key == lab_key(text))
    kinds.append("lab_id")
    if any(ch.isalpha() for ch in text):  # a number is never part of a name
        conditions.append(Patient.name_key.contains(name_key(text), autoescape=True))
        kinds.append("name")
    return conditions, kinds


@transaction
def find_patients(user, query, limit=SEARCH_LIMIT):
    """Patients in the user's district matching one search box; active ones first, newest first.

    Returns (patients, total); total is COUNT_LIMIT + 1 when more than COUNT_LIMIT match (counted no further).
    A search shows patient records, so it is audited (DPDP), with the ids shown but not the words searched for.
    """
    _require_record_role(user)
    text = " ".join((query or "").split())
    if len(text) < 2:
        raise Invalid(_l("Type at least 2 characters: a name, a mobile number, a lab ID or an ABHA number."),
                      {"q": _l("Type at least 2 characters.")})
    conditions, kinds = search_conditions(text)
    stmt = scope.scoped(db.select(Patient).where(or_(*conditions)), Patient, user)
    stmt = stmt.options(joinedload(Patient.village), joinedload(Patient.facility))
    # Active patients, newest first, then the others: each part in created_at's index order, so a common name's
    # first page is read from the newest rows on, not sorted out of all its matches. The others are read only
    # when fewer than a page of active patients match, and then counted in the same statement (a window over
    # rows the query reads anyway); a full page of active ones is counted apart, up to COUNT_LIMIT.
    found = db.session.scalars(stmt.where(Patient.status == PatientStatus.ACTIVE).order_by(*NEWEST_FIRST)
                               .limit(limit)).all()
    if len(found) < limit:
        others = db.session.execute(stmt.add_columns(func.count().over()).where(Patient.status != PatientStatus.ACTIVE)
                                    .order_by(*NEWEST_FIRST).limit(limit - len(found))).all()
        total = len(found) + (others[0][1] if others else 0)
        found += [patient for patient, _n in others]
    else:  # perhaps more: count them, up to the limit
        matches = stmt.with_only_columns(Patient.id).limit(COUNT_LIMIT + 1).subquery()
        total = db.session.scalar(db.select(func.count()).select_from(matches))
    if total > max(COUNT_LIMIT, len(found)):
        total = COUNT_LIMIT + 1  # as the count apart says it: "more than COUNT_LIMIT"
    audit.record(user, "patient.search", "patient", None, user.district_id, keys=kinds,
                 patient_ids=[p.id for p in found])
    return found, total


def open_record(user, patient_id):
    """One patient's full record for an officer or desk user: NotFound outside their district; logged."""
    _require_record_role(user)
    patient = scope.get_scoped(Patient, patient_id, user)
    log_view(user, patient, "record")
    return patient


@dataclass
class Event:
    """One line of a patient's timeline. `kind` picks how it is drawn (templates/records/_timeline.html)."""
    at: datetime
    kind: str
    obj: object = None
    extra: dict = field(default_factory=dict)


# Events at the same moment read in the order things happen (registration before its first call …).
EVENT_ORDER = ("registered", "imported", "transfer", "household", "attempt", "checkin", "escalation",
               "consultation", "escalation_closed", "task_missed", "review", "review_decided", "ended")


def todays_calls(patient, today=None):
    """The patient's call tasks of today, by slot (the record shows what is planned)."""
    return db.session.scalars(db.select(CallTask).where(
        CallTask.patient_id == patient.id, CallTask.task_date == (today or local_date())).order_by(CallTask.slot)).all()


def timeline(patient):
    """Everything that happened to this patient, newest first: registration, imports, calls and their
    attempts, check-ins with their needs, escalations with the help sent and their outcome, doctors' and
    counsellors' calls, transfers, household changes,
    discharge reviews and the end of follow-up. Read-only; the caller logs the view."""
    users = {}

    def who(user_id):
        if user_id is None:
            return None
        if user_id not in users:
            users[user_id] = db.session.get(User, user_id)
        return users[user_id]

    escalations = db.session.scalars(
        db.select(Escalation).where(Escalation.patient_id == patient.id)
        .options(selectinload(Escalation.notes), selectinload(Escalation.dispatches))).all()
    by_id = {e.id: e for e in escalations}
    events = []

    transfers = patient.transfers
    first = next((t for t in transfers if t.from_setting is None), None)
    events.append(Event(patient.created_at, "registered", patient,
                        {"by": who(patient.created_by_id), "placement": first}))
    events += [Event(t.at, "transfer", t, {"by": who(t.by_user_id)}) for t in transfers if t is not first]

    imports = db.session.execute(
        db.select(ImportRow, ImportBatch).join(ImportBatch, ImportBatch.id == ImportRow.batch_id)
        .where(ImportRow.patient_id == patient.id, ImportRow.action.in_((RowAction.ADDED, RowAction.UPDATED)))).all()
    changes = import_changes(patient)
    events += [Event(batch.finished_at or batch.started_at, "imported", row,
                     {"batch": batch, "by": who(batch.user_id), "changes": changes.get((batch.id, row.row_number), [])})
               for row, batch in imports]

    attempts = db.session.scalars(
        db.select(CallAttempt).where(CallAttempt.patient_id == patient.id)
        .options(selectinload(CallAttempt.needs), selectinload(CallAttempt.task))).all()
    events += [Event(a.created_at, "attempt", a, {"by": who(a.user_id), "needs": _needs(a.needs, by_id)})
               for a in attempts]

    checkins = db.session.scalars(
        db.select(CheckIn).where(CheckIn.patient_id == patient.id).options(selectinload(CheckIn.needs))).all()
    events += [Event(c.at, "checkin", c, {"needs": _needs(c.needs, by_id)}) for c in checkins]

    for e in escalations:
        events.append(Event(e.created_at, "escalation", e, {"by": who(e.created_by_id)}))
        if e.closed_at is not None:
            events.append(Event(e.closed_at, "escalation_closed", e, {"by": who(e.closed_by_id)}))

    consultations = db.session.scalars(db.select(Consultation).where(Consultation.patient_id == patient.id)).all()
    events += [Event(c.created_at, "consultation", c, {"by": who(c.user_id)}) for c in consultations]

    missed = db.session.scalars(db.select(CallTask).where(
        CallTask.patient_id == patient.id, CallTask.status == TaskStatus.MISSED, CallTask.attempts == 0)).all()
    events += [Event(t.closed_at or t.created_at, "task_missed", t) for t in missed]

    for r in db.session.scalars(db.select(DischargeReview).where(DischargeReview.patient_id == patient.id)):
        events.append(Event(r.flagged_at, "review", r))
        if r.decided_at is not None:
            events.append(Event(r.decided_at, "review_decided", r, {"by": who(r.decided_by_id)}))

    logged = db.session.scalars(db.select(AuditLog).where(
        AuditLog.entity == "patient", AuditLog.entity_id == patient.id,
        AuditLog.action.in_(("patient.end_follow_up", "household.join", "household.leave")))).all()
    for row in logged:
        if row.action == "patient.end_follow_up":
            events.append(Event(row.at, "ended", patient, {"by": who(row.user_id), "status": row.details.get("status"),
                                                           "reason": row.details.get("reason", "")}))
        else:
            events.append(Event(row.at, "household", row, {"by": who(row.user_id),
                                                           "joined": row.action == "household.join"}))
    if patient.ended_at is not None and not any(e.kind == "ended" for e in events):
        events.append(Event(patient.ended_at, "ended", patient, {"status": patient.status, "reason": ""}))

    rank = {kind: n for n, kind in enumerate(EVENT_ORDER)}
    events.sort(key=lambda e: (e.at, rank[e.kind], getattr(e.obj, "id", 0) or 0), reverse=True)
    return events


# The order an update's changed fields are listed in (services/intake/writing.py records them).
CHANGED_FIELDS = ("age", "sex", "phone", "phone_invalid", "attendant_phone", "address", "village_id", "abha_number",
                  "language", "lab_id", "symptom_onset_date", "comorbidities", "setting", "facility_id",
                  "isolation_start_date")
DATE_FIELDS = {"symptom_onset_date", "isolation_start_date"}


def import_changes(patient):
    """What each line-list import changed on this patient, from the audit log: {(batch id, row number):
    [(field, old, new)]}, dates as dates and villages and facilities by name, for the timeline."""
    found = db.session.scalars(db.select(AuditLog.details).where(
        AuditLog.entity == "patient", AuditLog.entity_id == patient.id,
        AuditLog.action == "patient.import_update")).all()
    ids = {"village_id": set(), "facility_id": set()}
    for details in found:
        for field_name, pair in details.get("changes", {}).items():
            if field_name in ids:
                ids[field_name].update(v for v in pair if v is not None)
    names = {"village_id": _names(Village, ids["village_id"]), "facility_id": _names(Facility, ids["facility_id"])}

    def readable(field_name, value):
        if value is not None and field_name in names:
            return names[field_name].get(value, value)
        if value and field_name in DATE_FIELDS:
            return date.fromisoformat(value)
        return value

    rank = {f: n for n, f in enumerate(CHANGED_FIELDS)}
    result = {}
    for details in found:
        pairs = sorted(details.get("changes", {}).items(), key=lambda item: rank.get(item[0], len(rank)))
        result[(details.get("batch_id"), details.get("row"))] = [
            (f, readable(f, old), readable(f, new)) for f, (old, new) in pairs]
    return result


def _names(model, ids):
    if not ids:
        return {}
    return dict(db.session.execute(db.select(model.id, model.name).where(model.id.in_(ids))).all())


def _needs(needs, escalations_by_id):
    return [(n, escalations_by_id.get(n.escalation_id)) for n in needs]
