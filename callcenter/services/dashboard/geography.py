"""The dashboard's geography (per village and block: active patients, open needs, unreachable, contacts)
and facilities (active patients against beds). Read-only."""
from sqlalchemy import func, select

from ... import scope
from ...clock import utcnow
from ...extensions import db
from ...models import (
    OPEN_ESCALATION_STATUSES,
    Block,
    CallTask,
    Escalation,
    Facility,
    Patient,
    PatientStatus,
    TaskStatus,
    Village,
    VillageContact,
)
from .overview import _restrict

GEOGRAPHY_MAX_VILLAGES = 300  # the table shows the villages with most active patients first


def geography(user, f, now=None):
    """Per village (and totals per block): active patients, open escalations ("open needs"), patients
    unreachable in the period, and the village's contacts."""
    now = now or utcnow()
    active = dict(db.session.execute(_restrict(
        select(Patient.village_id, func.count()).where(Patient.status == PatientStatus.ACTIVE,
                                                       Patient.village_id.is_not(None))
        .group_by(Patient.village_id), Patient, user, f)).all())
    open_needs = dict(db.session.execute(_restrict(
        select(Patient.village_id, func.count()).select_from(Escalation)
        .join(Patient, Patient.id == Escalation.patient_id)
        .where(Escalation.status.in_(OPEN_ESCALATION_STATUSES), Patient.village_id.is_not(None))
        .group_by(Patient.village_id), Escalation, user, f, patient_joined=True)).all())
    unreachable = dict(db.session.execute(_restrict(
        select(Patient.village_id, func.count(func.distinct(CallTask.patient_id))).select_from(CallTask)
        .join(Patient, Patient.id == CallTask.patient_id)
        .where(CallTask.task_date.between(f.date_from, f.date_to), CallTask.status == TaskStatus.UNREACHABLE,
               Patient.village_id.is_not(None))
        .group_by(Patient.village_id), CallTask, user, f, patient_joined=True)).all())
    ids = set(active) | set(open_needs) | set(unreachable)
    ranked = sorted(ids, key=lambda v: (-active.get(v, 0), -open_needs.get(v, 0), v))
    shown = ranked[:GEOGRAPHY_MAX_VILLAGES]
    places = {}
    if ids:  # the villages of the districts in view (no IN list of thousands of ids), names for those shown
        stmt = select(Village.id, Block.id.label("block_id"), Block.name.label("block"),
                      Block.district_id).join(Block, Block.id == Village.block_id)
        stmt = scope.scoped(stmt, Block, user)
        if f.district_id:
            stmt = stmt.where(Block.district_id == f.district_id)
        if f.block_id:
            stmt = stmt.where(Block.id == f.block_id)
        places = {r.id: r for r in db.session.execute(stmt) if r.id in ids}
        names = dict(db.session.execute(select(Village.id, Village.name).where(Village.id.in_(shown))).all())
    contacts = {}
    if shown:
        for c in db.session.execute(select(VillageContact.village_id, VillageContact.name, VillageContact.role,
                                           VillageContact.phone)
                                    .where(VillageContact.village_id.in_(shown), VillageContact.active.is_(True))
                                    .order_by(VillageContact.id)):
            contacts.setdefault(c.village_id, []).append(c)
    blocks = {}
    for v in ids:
        p = places.get(v)
        if p is None:
            continue
        b = blocks.setdefault(p.block_id, {"block_id": p.block_id, "block": p.block, "district_id": p.district_id,
                                           "active": 0, "open_needs": 0, "unreachable": 0})
        b["active"] += active.get(v, 0)
        b["open_needs"] += open_needs.get(v, 0)
        b["unreachable"] += unreachable.get(v, 0)
    villages = [{"village_id": v, "village": names[v], "block": places[v].block,
                 "active": active.get(v, 0), "open_needs": open_needs.get(v, 0),
                 "unreachable": unreachable.get(v, 0), "contacts": contacts.get(v, [])}
                for v in shown if v in places]
    return {"blocks": sorted(blocks.values(), key=lambda b: (-b["active"], b["block"])),
            "villages": villages, "villages_total": len(ids)}


def by_district(blocks, names):
    """The block rows summed per district (the state's view: a row per district, its blocks a click away),
    most active patients first. `names`: {district id: name}."""
    out = {}
    for b in blocks:
        key = b["district_id"]
        d = out.setdefault(key, {"district_id": key, "district": names.get(key, "?"), "blocks": 0, "active": 0,
                                 "open_needs": 0, "unreachable": 0})
        d["blocks"] += 1
        for key in ("active", "open_needs", "unreachable"):
            d[key] += b[key]
    return sorted(out.values(), key=lambda d: (-d["active"], d["district"]))


def facilities(user, f):
    """Active patients per facility, against its beds."""
    stmt = (select(Facility.id, Facility.name, Facility.kind,
                   (Facility.beds_general + Facility.beds_oxygen + Facility.beds_icu).label("beds"), func.count())
            .select_from(Patient).join(Facility, Facility.id == Patient.facility_id)
            .where(Patient.status == PatientStatus.ACTIVE)
            .group_by(Facility.id, Facility.name, Facility.kind, Facility.beds_general, Facility.beds_oxygen,
                      Facility.beds_icu))
    rows = db.session.execute(_restrict(stmt, Patient, user, f)).all()
    return sorted(({"facility_id": r[0], "facility": r[1], "kind": r[2], "beds": r[3], "active": r[4]}
                   for r in rows), key=lambda r: (-r["active"], r["facility"]))
