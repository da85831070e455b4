"""Households: family members isolated together who share one phone, called as one.

Members share the district, the setting and the facility, and are followed up (active) when they are
grouped; a patient is in one household at most. The queue offers a household once per slot (see
`stands_in` and services/calls/queue.py), and the call on it covers the other members' tasks of that day and
slot (services/calls/calls.py). Grouping is current state on Patient.household_id; its history is the audit
log (household.join / household.leave), which the patient record shows.
"""
import functools

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, or_
from sqlalchemy.orm import aliased

from ... import scope
from ...clock import utcnow
from ...extensions import db
from ...models import OPEN_TASK_STATUSES, CallTask, Household, Patient, PatientStatus, Role, TaskStatus
from ..core import audit
from ..core.errors import Conflict, Forbidden, Invalid
from ..core.tx import transaction

HOUSEHOLD_ROLES = {Role.NODAL_OFFICER, Role.ADMIN}
MAX_MEMBERS = 12


class Unconfirmed(Invalid):
    """Grouping that looks like a mistake (different villages, no phone in common): done only when the officer
    confirms. `doubts` are the reasons' codes, `message` says them."""

    def __init__(self, doubts, message):
        super().__init__(message, {"other_id": message})
        self.doubts = doubts


def doubts(patient, other):
    """Why two patients may not be one family isolated together: "village" (both known, not the same) and
    "phone" (not one number in common: the household's one call could not reach both)."""
    found = []
    if patient.village_id and other.village_id and patient.village_id != other.village_id:
        found.append("village")
    if not ({patient.phone, patient.attendant_phone} & {other.phone, other.attendant_phone}) - {None, ""}:
        found.append("phone")
    return found


def _doubts_message(patient, other, found):
    parts = []
    if "village" in found:
        parts.append(_l("%(one)s and %(other)s live in different villages (%(one_village)s, %(other_village)s).",
                        one=patient.name, other=other.name, one_village=patient.village.name,
                        other_village=other.village.name))
    if "phone" in found:
        parts.append(_l("%(one)s and %(other)s have no phone number in common: the household's one call goes to "
                        "one number.", one=patient.name, other=other.name))
    return " ".join(str(p) for p in parts)


def may_group(user):
    return getattr(user, "role", None) in HOUSEHOLD_ROLES


def of(patient):
    """The patient's household, or None."""
    return db.session.get(Household, patient.household_id) if patient.household_id else None


def members(household_id, active_only=False):
    """The household's patients, lowest id first."""
    if household_id is None:
        return []
    stmt = db.select(Patient).where(Patient.household_id == household_id).order_by(Patient.id)
    if active_only:
        stmt = stmt.where(Patient.status == PatientStatus.ACTIVE)
    return db.session.scalars(stmt).all()


def suggestions(patient, limit=10):
    """Active patients who could join this patient's household: same district, setting and facility,
    and the same phone (their own or an attendant's) or the same address in the same village."""
    if not patient.is_active:
        return []
    phones = {patient.phone, patient.call_phone}
    same_place = [Patient.phone.in_(phones), Patient.attendant_phone.in_(phones)]
    if patient.village_id and patient.address.strip():
        same_place.append(and_(Patient.village_id == patient.village_id, Patient.address == patient.address))
    stmt = db.select(Patient).where(
        Patient.district_id == patient.district_id, Patient.status == PatientStatus.ACTIVE,
        Patient.id != patient.id, Patient.setting == patient.setting, or_(*same_place))
    stmt = stmt.where(Patient.facility_id.is_(None) if patient.facility_id is None
                      else Patient.facility_id == patient.facility_id)
    if patient.household_id is not None:
        stmt = stmt.where(or_(Patient.household_id.is_(None), Patient.household_id != patient.household_id))
    return db.session.scalars(stmt.order_by(Patient.id).limit(limit)).all()


def _require_role(user):
    if not may_group(user):
        raise Forbidden(_l("Only a nodal officer or an administrator groups patients into households."))


@transaction
def group(patient_id, other_id, user, now=None, confirmed=False):
    """Put two patients in one household (the one either is already in, or a new one). Two who live in
    different villages or share no phone raise Unconfirmed unless `confirmed` (the officer saw the warning)."""
    _require_role(user)
    now = now or utcnow()
    if other_id is None or int(other_id) == int(patient_id):
        raise Invalid(_l("Choose another patient to add to this household."),
                      {"other_id": _l("Choose another patient to add to this household.")})
    # Lock both rows, lower id first, so two officers grouping the same pair never deadlock.
    first, second = sorted((int(patient_id), int(other_id)))
    locked = {first: scope.get_scoped(Patient, first, user, lock=True),
              second: scope.get_scoped(Patient, second, user, lock=True)}
    patient, other = locked[int(patient_id)], locked[int(other_id)]
    problem = _cannot_group(patient, other)
    if problem:
        raise Invalid(problem, {"other_id": problem})
    found = doubts(patient, other)
    if found and not confirmed:
        raise Unconfirmed(found, _doubts_message(patient, other, found))
    household_id = patient.household_id or other.household_id
    if household_id is None:
        household = Household(district_id=patient.district_id, phone=patient.call_phone, created_at=now)
        db.session.add(household)
        db.session.flush()
        audit.record(user, "household.create", "household", household.id, patient.district_id, now=now,
                     phone=household.phone)
    else:
        household = db.session.get(Household, household_id)
        if len(members(household.id, active_only=True)) >= MAX_MEMBERS:
            raise Invalid(_l("A household has at most %(n)s members.", n=MAX_MEMBERS),
                          {"other_id": _l("A household has at most %(n)s members.", n=MAX_MEMBERS)})
    for p in (patient, other):
        if p.household_id != household.id:
            p.household_id = household.id
            audit.record(user, "household.join", "patient", p.id, p.district_id, now=now, household_id=household.id,
                         **({"confirmed_despite": found} if found else {}))
    return household


def _cannot_group(patient, other):
    if patient.district_id != other.district_id:
        return _l("Household members live in the same district.")
    if not (patient.is_active and other.is_active):
        return _l("Only patients who are still followed up can be grouped.")
    if patient.setting != other.setting or patient.facility_id != other.facility_id:
        return _l("Household members are isolated together: same setting and the same hospital or care centre.")
    if patient.household_id is not None and patient.household_id == other.household_id:
        return _l("These patients are already in one household.")
    if patient.household_id is not None and other.household_id is not None:
        return _l("Both are already in other households; take one of them out first.")
    return None


@transaction
def leave(patient_id, user, now=None):
    """Take a patient out of their household (a household left with one member is dissolved)."""
    _require_role(user)
    now = now or utcnow()
    patient = scope.get_scoped(Patient, patient_id, user, lock=True)
    if patient.household_id is None:
        raise Conflict(_l("This patient is not in a household."))
    detach(patient, user, now, "removed")


def detach(patient, user, now, reason):
    """Take the patient out of their household, inside the caller's transaction; a household with
    fewer than two active members left is dissolved. `reason`: removed, transferred."""
    household_id = patient.household_id
    if household_id is None:
        return
    patient.household_id = None
    audit.record(user, "household.leave", "patient", patient.id, patient.district_id, now=now,
                 household_id=household_id, reason=reason)
    db.session.flush()
    rest = members(household_id, active_only=True)
    if len(rest) < 2:
        for p in rest:
            p.household_id = None
            audit.record(user, "household.leave", "patient", p.id, p.district_id, now=now,
                         household_id=household_id, reason="dissolved")
    else:
        household = db.session.get(Household, household_id)
        if household.phone == patient.call_phone and all(p.call_phone != household.phone for p in rest):
            household.phone = rest[0].call_phone
            audit.record(user, "household.phone", "household", household_id, patient.district_id, now=now,
                         phone=household.phone)


# --- The queue and the call --------------------------------------------------------------------------

@functools.cache  # (called with the default: aliasing Patient and CallTask anew took ~3 ms of every claim)
def stands_in(task=CallTask):
    """SQL, true when the task does not represent its household in the queue: another active member has
    an open task of the same day and slot that comes first (more urgent; on a tie, the lower patient id).

    So a household is one queue entry per slot, offered at its most urgent member's priority; the
    member tasks it stands for are closed by the call on it. False for patients without a household.
    """
    me, member, other_task = aliased(Patient), aliased(Patient), aliased(CallTask)
    return exists().where(
        me.id == task.patient_id, me.household_id.is_not(None),
        member.household_id == me.household_id, member.status == PatientStatus.ACTIVE,
        other_task.patient_id == member.id, other_task.id != task.id,
        other_task.task_date == task.task_date, other_task.slot == task.slot,
        other_task.status.in_(OPEN_TASK_STATUSES),
        or_(other_task.priority < task.priority,
            and_(other_task.priority == task.priority, other_task.patient_id < task.patient_id)))


def call_members(task, lock=False):
    """Who a call on this task covers: [(patient, task)], the task's own patient first, then each other
    active member of the household with a waiting task of the same day and slot (lowest id first)."""
    pairs = [(task.patient, task)]
    household_id = task.patient.household_id
    if household_id is None:
        return pairs
    stmt = (db.select(CallTask).join(Patient, Patient.id == CallTask.patient_id)
            .where(Patient.household_id == household_id, Patient.status == PatientStatus.ACTIVE,
                   CallTask.patient_id != task.patient_id, CallTask.task_date == task.task_date,
                   CallTask.slot == task.slot, CallTask.status == TaskStatus.PENDING)
            .order_by(CallTask.patient_id))
    if lock:
        stmt = stmt.with_for_update(of=CallTask)
    return pairs + [(t.patient, t) for t in db.session.scalars(stmt)]
