"""Registering a patient: validation, the duplicate rule, the first transfer record and today's call."""
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from ... import scope
from ...clock import local_date, utcnow
from ...extensions import db
from ...models import (
    OPEN_TASK_STATUSES,
    Block,
    CallTask,
    Comorbidity,
    DischargeReview,
    Facility,
    Patient,
    PatientStatus,
    ReviewStatus,
    Role,
    Setting,
    Sex,
    TaskStatus,
    Transfer,
    Village,
)
from ...rules import vitals
from ...rules.identity import InvalidValue, name_key, normalize_abha, normalize_indian_mobile
from ..calls import call_lists
from ..core import audit
from ..core.errors import Conflict, Forbidden, Invalid
from ..core.tx import transaction
from ..desks import lifecycle

REGISTRAR_ROLES = {Role.NODAL_OFFICER, Role.ADMIN}

IDENTITY_MESSAGES = {
    "phone_invalid": _l("Not a valid Indian mobile number."),
    "phone_placeholder": _l("This is a placeholder number (one digit repeated, or a run such as 1234567890), not "
                            "the patient's phone: enter their real mobile number."),
    "phone_not_mobile": _l("This is a landline; enter a mobile number."),
    "phone_not_indian": _l("Enter an Indian (+91) mobile number."),
    "abha_invalid": _l("An ABHA number has 14 digits, written XX-XXXX-XXXX-XXXX."),
}


def placeholders():
    """The deployment's own placeholder numbers (PLACEHOLDER_PHONES), besides the ones every list uses."""
    return frozenset(current_app.config.get("PLACEHOLDER_PHONES", ()))


def mobile(raw, errors, field):
    """`raw` as an E.164 Indian mobile, or None with errors[field] saying what is wrong with it."""
    try:
        return normalize_indian_mobile(raw, placeholders())
    except InvalidValue as exc:
        errors[field] = IDENTITY_MESSAGES[exc.code]
        return None

# What each rule code of check_fields/check_facility says on the registration form and in the API.
FIELD_MESSAGES = {
    **IDENTITY_MESSAGES,
    "name_missing": _l("Enter the patient's name."),
    "name_too_long": _l("The name is too long (120 characters at most)."),
    "age_range": _l("Age must be between %(low)s and %(high)s.", low=vitals.AGE_MIN, high=vitals.AGE_MAX),
    "sex_missing": _l("Choose the patient's sex."),
    "district_missing": _l("Choose the patient's district."),
    "setting_missing": _l("Choose hospital, COVID care centre or home isolation."),
    "facility_missing": _l("Choose the hospital or care centre the patient is in."),
    "facility_wrong_kind": _l("Choose the hospital or care centre the patient is in."),
    "facility_wrong_district": _l("Choose the hospital or care centre the patient is in."),
    "facility_not_for_home": _l("A patient in home isolation has no facility."),
    "village_not_in_district": _l("Choose a village or ward in the patient's district."),
    "date_in_future": _l("This date is in the future."),
    "positive_date_missing": _l("Enter the date of the positive test."),
    "comorbidity_unknown": _l("Unknown comorbidity."),
    "language_unknown": _l("Choose Hindi or English."),
    "lab_id_too_long": _l("The lab ID is too long (40 characters at most)."),
    "address_too_long": _l("The address is too long (500 characters at most)."),
}


def check_fields(data, today):
    """The registration rules that need no database, shared by the form, the API and line-list imports.

    Returns (clean, codes): the normalised values, and {field: rule code} for each field that breaks a
    rule (FIELD_MESSAGES says each code in words)."""
    codes, clean = {}, {}

    name = " ".join((data.get("name") or "").split())
    if not name:
        codes["name"] = "name_missing"
    elif len(name) > 120 or len(name_key(name)) > 120:  # case folding can lengthen it (ß → ss)
        codes["name"] = "name_too_long"
    clean["name"] = name

    age = data.get("age")
    if age is None or not (vitals.AGE_MIN <= age <= vitals.AGE_MAX):
        codes["age"] = "age_range"
    clean["age"] = age

    if data.get("sex") not in set(Sex):
        codes["sex"] = "sex_missing"
    clean["sex"] = data.get("sex")

    for field in ("phone", "attendant_phone"):
        raw = data.get(field)
        if not raw and field == "attendant_phone":
            clean[field] = None
            continue
        try:
            clean[field] = normalize_indian_mobile(raw, placeholders())
        except InvalidValue as exc:
            codes[field] = exc.code

    try:
        clean["abha_number"] = normalize_abha(data.get("abha_number"))
    except InvalidValue as exc:
        codes["abha_number"] = exc.code

    setting = data.get("setting")
    if setting not in set(Setting):
        codes["setting"] = "setting_missing"
    clean["setting"] = setting

    for field in ("positive_date", "symptom_onset_date", "isolation_start_date"):
        value = data.get(field)
        if value is not None and value > today:
            codes[field] = "date_in_future"
        clean[field] = value
    if clean["positive_date"] is None:
        codes["positive_date"] = "positive_date_missing"

    comorbidities = list(dict.fromkeys(data.get("comorbidities") or []))
    if not set(comorbidities) <= set(Comorbidity):
        codes["comorbidities"] = "comorbidity_unknown"
    clean["comorbidities"] = ",".join(comorbidities)

    language = data.get("language") or "hi"
    if language not in ("hi", "en"):
        codes["language"] = "language_unknown"
    clean["language"] = language
    clean["address"] = (data.get("address") or "").strip()
    clean["lab_id"] = (data.get("lab_id") or "").strip() or None
    if clean["lab_id"] and len(clean["lab_id"]) > 40:
        codes["lab_id"] = "lab_id_too_long"
    if len(clean["address"]) > 500:
        codes["address"] = "address_too_long"
    return clean, codes


def check_facility(setting, facility, district_id):
    """A hospital or CCC patient is in a facility of that kind in their district; a patient at home is in
    none. `facility` is anything with .kind and .district_id, or None. Returns a rule code or None."""
    if setting in (Setting.HOSPITAL, Setting.CCC):
        if facility is None:
            return "facility_missing"
        if facility.kind != setting:
            return "facility_wrong_kind"
        if facility.district_id != district_id:
            return "facility_wrong_district"
    elif facility is not None and setting == Setting.HOME:
        return "facility_not_for_home"
    return None


def _validate(data, user, today):
    """Check and normalise registration data; raises Invalid with a message per field."""
    clean, codes = check_fields(data, today)

    district_id = user.district_id or data.get("district_id")
    if district_id is None:
        codes["district_id"] = "district_missing"
    clean["district_id"] = district_id

    facility = db.session.get(Facility, data["facility_id"]) if data.get("facility_id") else None
    if "setting" not in codes and (code := check_facility(clean["setting"], facility, district_id)):
        codes["facility_id"] = code
    clean["facility_id"] = facility.id if facility else None

    village_id = data.get("village_id")
    if village_id:
        village = db.session.get(Village, village_id)
        if village is None or db.session.get(Block, village.block_id).district_id != district_id:
            codes["village_id"] = "village_not_in_district"
    clean["village_id"] = village_id or None

    if codes:
        raise Invalid(_l("Please correct the marked fields."), {f: FIELD_MESSAGES[c] for f, c in codes.items()})
    return clean


def facilities_for(user):
    """The facilities a patient can be registered at: the user's district's (state level: all), by name."""
    return db.session.scalars(scope.scoped(db.select(Facility).order_by(Facility.name), Facility, user)).all()


def find_active_duplicate(phone, name):
    return db.session.scalar(db.select(Patient).where(
        Patient.phone == phone, Patient.name_key == name_key(name), Patient.status == PatientStatus.ACTIVE))


def _duplicate_error():
    # One answer wherever the twin is (this district or another): a refusal that said where would tell a
    # district officer that a person is a patient elsewhere.
    return Conflict(_l("A patient with this name and phone number is already on record. Search for them; if you "
                       "cannot find them, ask the state office."),
                    {"phone": _l("Already on record with this name.")})


@transaction
def register_patient(data, user, now=None):
    """Register a patient, record where they are, and queue today's calls: the first due now, and a second
    in the afternoon slot if the policy calls them twice a day and that slot is still ahead (the daily
    list's own rule, call_lists.add_tasks_for_patients)."""
    if user.role not in REGISTRAR_ROLES:
        raise Forbidden(_l("Only a nodal officer or an administrator can register patients."))
    now = now or utcnow()
    today = local_date(now)
    clean = _validate(data, user, today)
    if find_active_duplicate(clean["phone"], clean["name"]):
        raise _duplicate_error()

    patient = Patient(**clean, name_key=name_key(clean["name"]), status=PatientStatus.ACTIVE,
                      created_at=now, created_by_id=user.id)
    patient.isolation_start_date = patient.isolation_start_date or (
        patient.positive_date if patient.setting == Setting.HOME else None)
    db.session.add(patient)
    try:
        db.session.flush()
    except IntegrityError:  # the same registration racing in from another request
        raise _duplicate_error() from None
    db.session.add(Transfer(patient_id=patient.id, at=now, from_setting=None, to_setting=patient.setting,
                            to_facility_id=patient.facility_id, reason="registered", by_user_id=user.id))
    calls = call_lists.add_tasks_for_patients([patient.id], today, now, reason="new_patient")
    audit.record(user, "patient.register", "patient", patient.id, patient.district_id, now=now,
                 setting=patient.setting, calls_today=calls)
    return patient


@transaction
def search_patients(user, phone=None, q=None, offset=0, limit=20):
    """Patients in the user's districts by phone (any written form) and/or name or lab ID, newest first.

    Returns (patients, total). The result is a view of patient records, so it is audited (DPDP).
    Volunteers see only the patient on their current call, never a list.
    """
    if user.role == Role.VOLUNTEER:
        raise Forbidden(_l("Volunteers see a patient only on their current call."))
    stmt = db.select(Patient)
    if phone:
        try:
            normalized = normalize_indian_mobile(phone, refuse_placeholders=False)
        except InvalidValue as exc:
            raise Invalid(_l("Please correct the marked fields."), {"phone": IDENTITY_MESSAGES[exc.code]}) from None
        stmt = stmt.where(Patient.phone == normalized)
    if q and q.strip():
        stmt = stmt.where(Patient.name_key.contains(name_key(q), autoescape=True) | (Patient.lab_id == q.strip()))
    stmt = scope.scoped(stmt, Patient, user)
    total = db.session.scalar(db.select(db.func.count()).select_from(stmt.subquery()))
    found = db.session.scalars(stmt.order_by(Patient.created_at.desc(), Patient.id.desc())
                               .offset(offset).limit(limit)).all()
    audit.record(user, "patient.search", "patient", None, user.district_id, patient_ids=[p.id for p in found])
    return found, total


def end_follow_up(patient, status, reason, user, now):
    """Recovery/discharge, death or a move out of district: the follow-up ends and today's calls are
    cancelled. Part of the caller's transaction."""
    if patient.status != PatientStatus.ACTIVE:
        raise Conflict(_l("This patient's follow-up has already ended."))
    patient.status, patient.ended_at = PatientStatus(status), now
    db.session.execute(
        update(CallTask).where(CallTask.patient_id == patient.id, CallTask.status.in_(OPEN_TASK_STATUSES))
        .values(status=TaskStatus.CANCELLED, closed_at=now, claimed_by_id=None)
        .execution_options(synchronize_session=False))
    audit.record(user, "patient.end_follow_up", "patient", patient.id, patient.district_id, now=now,
                 status=str(status), reason=reason)
    _close_open_work(patient, PatientStatus(status), reason, user, now)


def _close_open_work(patient, status, reason, user, now):
    """What waited on a follow-up that has ended: a pending discharge review is answered (discharged when
    the patient recovered, closed otherwise) and open escalations are cancelled, each step audited."""
    review = db.session.scalar(db.select(DischargeReview).where(
        DischargeReview.patient_id == patient.id, DischargeReview.status == ReviewStatus.PENDING))
    if review is not None:
        review.status = ReviewStatus.DISCHARGED if status == PatientStatus.RECOVERED else ReviewStatus.CLOSED
        review.decided_at, review.decided_by_id, review.note = now, getattr(user, "id", None), reason
        audit.record(user, f"discharge_review.{review.status}", "discharge_review", review.id, review.district_id,
                     now=now, patient_id=patient.id, note=reason)
    text = f"follow-up ended: {status}" + (f" ({reason})" if reason else "")
    lifecycle.cancel_all_for_patient(patient, text, user, now)
