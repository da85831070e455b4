"""Villages and wards: the register of people to call there (sarpanch, ward members …), and each
village's figures — active patients and open needs — so an officer can phone the village head with
the facts in front of them.

Villages belong to a district through their block, so the district limit is applied on Block here
(scope.py handles models that carry a district_id themselves).
"""
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func
from sqlalchemy.orm import selectinload

from ...clock import local_date, utcnow
from ...extensions import db
from ...models import (
    OPEN_ESCALATION_STATUSES,
    Block,
    CallTask,
    ContactRole,
    District,
    Escalation,
    Patient,
    PatientStatus,
    Role,
    Severity,
    TaskStatus,
    Village,
    VillageContact,
)
from ..core import audit
from ..core.errors import Forbidden, Invalid, NotFound
from ..core.tx import transaction
from .patients import mobile

VIEWER_ROLES = {Role.NODAL_OFFICER, Role.ADMIN, Role.CONTROL_ROOM}
EDITOR_ROLES = {Role.NODAL_OFFICER, Role.ADMIN}


def may_view(user):
    return getattr(user, "role", None) in VIEWER_ROLES


def may_edit(user):
    return getattr(user, "role", None) in EDITOR_ROLES


def _require(user, roles):
    if user.role not in roles:
        if roles is EDITOR_ROLES:
            raise Forbidden(_l("Only a nodal officer or an administrator keeps the village contacts."))
        raise Forbidden(_l("You do not have access to this page."))


def _visible_district(user, district_id):
    return user.district_id is None or user.district_id == district_id


def get_village(village_id, user):
    """The village if it is in the user's district; NotFound otherwise (no hint it exists)."""
    _require(user, VIEWER_ROLES)
    village = db.session.get(Village, village_id)
    if village is None or not _visible_district(user, village.block.district_id):
        raise NotFound(_l("Not found, or not in your district."))
    return village


def districts_for(user):
    if user.district_id is not None:
        return [db.session.get(District, user.district_id)]
    return db.session.scalars(db.select(District).order_by(District.name)).all()


def villages_in(districts):
    """(village id, village name, block name) of these districts, by block then village: a form's choices."""
    return db.session.execute(
        db.select(Village.id, Village.name, Block.name).join(Block)
        .where(Block.district_id.in_([d.id for d in districts])).order_by(Block.name, Village.name)).all()


def blocks_with_counts(user, district_id):
    """[(block, [row …])] for one district: every village with its active patients, open escalations,
    open emergencies and active contacts. Set-based: one grouped query per figure."""
    _require(user, VIEWER_ROLES)
    if not _visible_district(user, district_id):
        raise NotFound(_l("Not found, or not in your district."))
    villages = db.session.scalars(
        db.select(Village).join(Block).where(Block.district_id == district_id)
        .options(selectinload(Village.block)).order_by(Block.name, Village.name)).all()
    ids = [v.id for v in villages]
    active = dict(db.session.execute(
        db.select(Patient.village_id, func.count()).where(Patient.village_id.in_(ids),
                                                          Patient.status == PatientStatus.ACTIVE)
        .group_by(Patient.village_id)).all()) if ids else {}
    escalations = {v: (n, e) for v, n, e in db.session.execute(
        db.select(Patient.village_id, func.count(),
                  func.sum(case((Escalation.severity == Severity.EMERGENCY, 1), else_=0)))
        .join(Patient, Patient.id == Escalation.patient_id)
        .where(Patient.village_id.in_(ids), Escalation.status.in_(OPEN_ESCALATION_STATUSES))
        .group_by(Patient.village_id)).all()} if ids else {}
    contacts = dict(db.session.execute(
        db.select(VillageContact.village_id, func.count()).where(VillageContact.village_id.in_(ids),
                                                                 VillageContact.active.is_(True))
        .group_by(VillageContact.village_id)).all()) if ids else {}
    blocks = {}
    for v in villages:
        open_n, emergencies = escalations.get(v.id, (0, 0))
        blocks.setdefault(v.block, []).append({
            "village": v, "active": active.get(v.id, 0), "open": open_n, "emergencies": emergencies or 0,
            "contacts": contacts.get(v.id, 0)})
    return list(blocks.items())


@transaction
def village_page(village_id, user, now=None):
    """What an officer needs before calling the village head: the contacts, the village's active
    patients and its open needs/escalations, and the figures. Lists patients, so it is audited."""
    now = now or utcnow()
    village = get_village(village_id, user)
    contacts = db.session.scalars(db.select(VillageContact).where(VillageContact.village_id == village.id)
                                  .order_by(VillageContact.active.desc(), VillageContact.role,
                                            VillageContact.name)).all()
    patients = db.session.scalars(
        db.select(Patient).where(Patient.village_id == village.id, Patient.status == PatientStatus.ACTIVE)
        .options(selectinload(Patient.facility)).order_by(Patient.name, Patient.id)).all()
    escalations = db.session.scalars(
        db.select(Escalation).join(Patient, Patient.id == Escalation.patient_id)
        .where(Patient.village_id == village.id, Escalation.status.in_(OPEN_ESCALATION_STATUSES))
        .options(selectinload(Escalation.patient))
        .order_by(case((Escalation.severity == Severity.EMERGENCY, 0), else_=1), Escalation.created_at)).all()
    unreachable_today = db.session.scalar(
        db.select(func.count(func.distinct(CallTask.patient_id))).join(Patient, Patient.id == CallTask.patient_id)
        .where(Patient.village_id == village.id, Patient.status == PatientStatus.ACTIVE,
               CallTask.task_date == local_date(now), CallTask.status == TaskStatus.UNREACHABLE)) or 0
    by_setting = {}
    for p in patients:
        by_setting[p.setting] = by_setting.get(p.setting, 0) + 1
    figures = {
        "active": len(patients), "by_setting": by_setting,
        "open": len(escalations), "emergencies": sum(1 for e in escalations if e.severity == Severity.EMERGENCY),
        "unreachable_today": unreachable_today,
        "ended": db.session.scalar(db.select(func.count()).select_from(Patient).where(
            Patient.village_id == village.id, Patient.status != PatientStatus.ACTIVE)) or 0,
    }
    audit.record(user, "village.view", "village", village.id, village.block.district_id, now=now,
                 patient_ids=[p.id for p in patients])
    return {"village": village, "contacts": contacts, "patients": patients, "escalations": escalations,
            "figures": figures}


# --- The contact register ----------------------------------------------------------------------------

def _clean_contact(data):
    errors, clean = {}, {}
    name = " ".join((data.get("name") or "").split())
    if not name:
        errors["name"] = _l("Enter the contact's name.")
    elif len(name) > 120:
        errors["name"] = _l("The name is too long (120 characters at most).")
    clean["name"] = name
    if data.get("role") not in set(ContactRole):
        errors["role"] = _l("Choose the contact's role.")
    clean["role"] = data.get("role")
    clean["phone"] = mobile(data.get("phone"), errors, "phone")
    if errors:
        raise Invalid(_l("Please correct the marked fields."), errors)
    return clean


def _duplicate(village_id, phone, exclude_id=None):
    stmt = db.select(VillageContact.id).where(VillageContact.village_id == village_id, VillageContact.phone == phone,
                                              VillageContact.active.is_(True))
    if exclude_id is not None:
        stmt = stmt.where(VillageContact.id != exclude_id)
    if db.session.scalar(stmt.limit(1)) is not None:
        message = _l("This number is already on this village's list.")
        raise Invalid(message, {"phone": message})


@transaction
def add_contact(village_id, user, data, now=None):
    _require(user, EDITOR_ROLES)
    now = now or utcnow()
    village = get_village(village_id, user)
    clean = _clean_contact(data)
    _duplicate(village.id, clean["phone"])
    contact = VillageContact(village_id=village.id, active=True, created_at=now, **clean)
    db.session.add(contact)
    db.session.flush()
    audit.record(user, "village_contact.add", "village_contact", contact.id, village.block.district_id, now=now,
                 village_id=village.id, role=contact.role)
    return contact


def get_contact(contact_id, user):
    contact = db.session.get(VillageContact, contact_id)
    if contact is None:
        raise NotFound(_l("Not found, or not in your district."))
    get_village(contact.village_id, user)  # the district check
    return contact


@transaction
def edit_contact(contact_id, user, data, now=None):
    _require(user, EDITOR_ROLES)
    now = now or utcnow()
    contact = get_contact(contact_id, user)
    clean = _clean_contact(data)
    if contact.active:
        _duplicate(contact.village_id, clean["phone"], exclude_id=contact.id)
    before = {k: getattr(contact, k) for k in clean}
    for key, value in clean.items():
        setattr(contact, key, value)
    audit.record(user, "village_contact.edit", "village_contact", contact.id, contact.village.block.district_id,
                 now=now, before=before, after=clean)
    return contact


@transaction
def set_contact_active(contact_id, user, active, now=None):
    """Deactivate (no longer the sarpanch …) or bring back a contact; never deleted."""
    _require(user, EDITOR_ROLES)
    now = now or utcnow()
    contact = get_contact(contact_id, user)
    if active and not contact.active:
        _duplicate(contact.village_id, contact.phone, exclude_id=contact.id)
    contact.active = bool(active)
    audit.record(user, "village_contact.activate" if active else "village_contact.deactivate", "village_contact",
                 contact.id, contact.village.block.district_id, now=now)
    return contact
