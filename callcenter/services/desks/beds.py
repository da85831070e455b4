"""Free beds per facility (general, oxygen, ICU), kept by the control room.

Each update is checked against the facility's capacity (Facility.beds_*), stamped with when and by whom,
and audited. Two operators editing the same facility: the form carries the update stamp it was opened
with, and an update made in between makes the second save a Conflict instead of silently overwriting.
"""
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import update as sa_update

from ... import scope
from ...clock import to_local, utcnow
from ...extensions import db
from ...models import District, Facility, FacilityKind, Role, User
from ..core import audit
from ..core.errors import Conflict, Forbidden, Invalid
from ..core.tx import transaction

BED_ROLES = {Role.CONTROL_ROOM, Role.NODAL_OFFICER, Role.ADMIN}
KINDS = ("general", "oxygen", "icu")  # Facility.free_<kind> / Facility.beds_<kind>


def may_update(user):
    return getattr(user, "role", None) in BED_ROLES


def _require_role(user):
    if not may_update(user):
        raise Forbidden(_l("Only the control room, a nodal officer or an administrator keeps the free beds."))


def stamp(facility):
    """The facility's update stamp, as the bed form carries it ("" before the first update)."""
    return facility.beds_updated_at.isoformat() if facility.beds_updated_at else ""


def capacity(facility, kind):
    return getattr(facility, f"beds_{kind}")


def free(facility, kind):
    return getattr(facility, f"free_{kind}")


@dataclass
class BedRow:
    facility: Facility
    district: District
    updated_by: User | None


def facilities(user):
    """The facilities of the user's districts with who last updated their beds: by district, hospitals first."""
    _require_role(user)
    stmt = (db.select(Facility, District, User)
            .join(District, District.id == Facility.district_id)
            .outerjoin(User, User.id == Facility.beds_updated_by_id)
            .order_by(District.name, db.case((Facility.kind == FacilityKind.HOSPITAL, 0), else_=1), Facility.name))
    return [BedRow(*row) for row in db.session.execute(scope.scoped(stmt, Facility, user)).all()]


def totals(rows):
    """Free and capacity per bed kind over the rows: {"general": (free, capacity), ...}."""
    return {kind: (sum(free(r.facility, kind) for r in rows), sum(capacity(r.facility, kind) for r in rows))
            for kind in KINDS}


@transaction
def update(facility_id, user, values, seen_stamp, now=None):
    """Set the free beds of one facility. `values`: {"general": n, "oxygen": n, "icu": n};
    `seen_stamp`: stamp(facility) as it was when the operator opened the form.

    The write is a conditional UPDATE (only if the stamp is still the one seen), so of two operators
    saving at the same moment exactly one wins, on every database; the other gets a Conflict."""
    _require_role(user)
    now = now or utcnow()
    facility = scope.get_scoped(Facility, facility_id, user, lock=True)
    seen = _parse(seen_stamp)
    if seen is False or (seen_stamp or "") != stamp(facility):
        raise _changed_meanwhile(facility)
    clean = _validate(facility, values)
    old = {kind: free(facility, kind) for kind in KINDS}
    unchanged_since_seen = Facility.beds_updated_at.is_(None) if seen is None else Facility.beds_updated_at == seen
    written = db.session.execute(
        sa_update(Facility).where(Facility.id == facility.id, unchanged_since_seen)
        .values(beds_updated_at=now, beds_updated_by_id=user.id, **{f"free_{k}": v for k, v in clean.items()})
        .execution_options(synchronize_session=False), execution_options={"preserve_rowcount": True}).rowcount
    db.session.refresh(facility)
    if written != 1:
        raise _changed_meanwhile(facility)
    audit.record(user, "facility.beds", "facility", facility.id, facility.district_id, now=now,
                 old=old, new=clean)
    return facility


def _parse(seen_stamp):
    """The stamp as a datetime; None for "never updated"; False for something that is no stamp."""
    if not seen_stamp:
        return None
    try:
        return datetime.fromisoformat(seen_stamp)
    except ValueError:
        return False


def _changed_meanwhile(facility):
    who = db.session.get(User, facility.beds_updated_by_id) if facility.beds_updated_by_id else None
    when = to_local(facility.beds_updated_at).strftime("%H:%M") if facility.beds_updated_at else "—"
    return Conflict(_l("%(who)s updated the beds of %(name)s at %(time)s, after you opened this page. "
                       "Their numbers are shown now; check them and save again.",
                       who=who.display_name if who else _l("Someone"), name=facility.name, time=when))


def _validate(facility, values):
    errors, clean = {}, {}
    for kind in KINDS:
        value, most = values.get(kind), capacity(facility, kind)
        if value is None:
            errors[f"free_{kind}"] = _l("Enter a number (0 if none are free).")
        elif value < 0:
            errors[f"free_{kind}"] = _l("Free beds cannot be fewer than 0.")
        elif value > most:
            errors[f"free_{kind}"] = _l("More than the %(n)s beds this facility has.", n=most)
        clean[kind] = value
    if errors:
        raise Invalid(_l("Please correct the marked fields."), errors)
    return clean
