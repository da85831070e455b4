"""Raising escalations and moving them through their lifecycle (open → acknowledged → in progress →
resolved / cancelled), each step timestamped and audited."""
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, case, or_
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import flag_modified

from ... import labels, scope
from ...clock import utcnow
from ...extensions import db
from ...input_checks import optional_db_int
from ...models import (
    OPEN_ESCALATION_STATUSES,
    Desk,
    Dispatch,
    DispatchKind,
    Escalation,
    EscalationNote,
    EscalationStatus,
    Facility,
    Patient,
    Role,
    Setting,
    Severity,
    User,
    Village,
)
from ...rules.routing import URGENT_KINDS, NeedKind
from ..calls.lock_order import lock_for_change
from ..core import audit, settings
from ..core.errors import Conflict, Forbidden, Invalid
from ..core.tx import transaction
from ..records import records, transfers
from . import lifecycle

DESK_ROLES = {
    Desk.CONTROL_ROOM: {Role.CONTROL_ROOM},
    Desk.DOCTOR: {Role.DOCTOR},
    Desk.COUNSELLOR: {Role.COUNSELLOR},
}
SUPERVISORS = {Role.NODAL_OFFICER, Role.ADMIN}


def desks_for(user):
    """The desks this user works (supervisors see all)."""
    if user.role in SUPERVISORS:
        return list(Desk)
    return [d for d, roles in DESK_ROLES.items() if user.role in roles]


def raise_escalation(patient, kind, desk, severity, source, user=None, now=None, summary="", reasons=()):
    """Open an escalation inside the caller's transaction.

    If the patient already has an open one of the same kind, that one gets a note instead of a twin
    (and is raised to emergency if this report is one).
    """
    now = now or utcnow()
    existing = db.session.scalar(_OPEN_OF_KIND, {"patient_id": patient.id, "kind": kind})
    if existing is not None:
        # An empty note reads "reported again" in each reader's language (see desks/detail.html).
        db.session.add(EscalationNote(escalation=existing, user_id=getattr(user, "id", None), at=now,
                                      text=summary or ""))
        if severity == Severity.EMERGENCY and existing.severity != Severity.EMERGENCY:
            existing.severity = Severity.EMERGENCY
            existing.respond_by = _respond_by(kind, severity, now, existing.respond_by)
        existing.reasons = _merge(existing.reasons, reasons)
        audit.record(user, "escalation.repeat", "escalation", existing.id, patient.district_id, now=now,
                     source=source)
        return existing
    esc = Escalation(patient_id=patient.id, district_id=patient.district_id, kind=kind, desk=desk,
                     severity=severity, status=EscalationStatus.OPEN, summary=summary or "", source=source,
                     reasons=[list(r) for r in reasons], created_at=now, created_by_id=getattr(user, "id", None),
                     respond_by=_respond_by(kind, severity, now))
    db.session.add(esc)
    db.session.flush()
    audit.record(user, "escalation.raise", "escalation", esc.id, patient.district_id, now=now,
                 kind=kind, desk=desk, severity=severity, source=source)
    return esc


# Built once: every check-in with a need runs it.
_OPEN_OF_KIND = db.select(Escalation).where(
    Escalation.patient_id == bindparam("patient_id"), Escalation.kind == bindparam("kind"),
    Escalation.status.in_(OPEN_ESCALATION_STATUSES)).with_for_update()


def _merge(old, new):
    merged = [list(r) for r in old or []]
    for r in new:
        if list(r) not in merged:
            merged.append(list(r))
    return merged


def _respond_by(kind, severity, now, current=None):
    """The acknowledgement deadline: per kind and severity (rules/deadlines.py), never later than `current`."""
    return settings.deadline_rule().tightened(current, kind, severity, now)


def desk_queue(user, desk, include_closed=False, status=None):
    """Escalations for a desk: emergencies first, then oldest first. `status` narrows to one status."""
    if desk not in desks_for(user):
        raise Forbidden(_l("This desk is not yours."))
    stmt = db.select(Escalation).where(Escalation.desk == desk)
    if status is not None:
        stmt = stmt.where(Escalation.status == status)
    elif not include_closed:
        stmt = stmt.where(Escalation.status.in_(OPEN_ESCALATION_STATUSES))
    # The desk lists show each one's patient and where they are (one query each, not one per row).
    stmt = stmt.order_by(*QUEUE_ORDER).options(selectinload(Escalation.patient).selectinload(Patient.facility))
    return db.session.scalars(scope.scoped(stmt, Escalation, user)).all()


# Emergencies, then urgent needs (rules/routing.band), then routine ones; oldest first within each.
QUEUE_ORDER = (case((Escalation.severity == Severity.EMERGENCY, 0), (Escalation.kind.in_(URGENT_KINDS), 1), else_=2),
               Escalation.created_at, Escalation.id)
CONSOLE_LIMIT = 200  # rows on the live console; filters narrow a longer list


@dataclass(frozen=True)
class ConsoleFilters:
    """The console's filters, already checked: unknown values are dropped, never an error."""
    kind: str | None = None
    block_id: int | None = None
    setting: str | None = None
    query: str = ""

    @classmethod
    def from_args(cls, args, search=None):
        """From the address's arguments; `search`, when given, is the search (the console's poll sends it in a
        header, out of the address)."""
        kind = args.get("kind") or None
        setting = args.get("setting") or None
        return cls(kind=kind if kind in labels.ESCALATION_KINDS else None,
                   block_id=optional_db_int(args.get("block")),
                   setting=setting if setting in set(Setting) else None,
                   query=" ".join(((args.get("q") if search is None else search) or "").split())[:80])

    @property
    def narrowed(self):
        """Any filter or search in use (an empty list then means no match, not an empty desk)."""
        return bool(self.kind or self.block_id or self.setting or self.query)


def console_queue(user, desk, filters=ConsoleFilters(), limit=CONSOLE_LIMIT):
    """The live console's open escalations for a desk, filtered: emergencies first, then oldest first.

    The search box matches the patient's name, phone (any written form), ABHA or lab ID, or the
    escalation's number ("#123" or "123"). Returns (escalations, more): `more` when the limit cut the list.
    """
    if desk not in desks_for(user):
        raise Forbidden(_l("This desk is not yours."))
    stmt = (db.select(Escalation).join(Patient, Patient.id == Escalation.patient_id)
            .where(Escalation.desk == desk, Escalation.status.in_(OPEN_ESCALATION_STATUSES)))
    if filters.kind:
        stmt = stmt.where(Escalation.kind == filters.kind)
    if filters.setting:
        stmt = stmt.where(Patient.setting == filters.setting)
    if filters.block_id:
        stmt = stmt.where(Patient.village_id.in_(db.select(Village.id).where(Village.block_id == filters.block_id)))
    if filters.query:
        conditions, _kinds = records.search_conditions(filters.query)
        number = filters.query.removeprefix("#")
        if number.isascii() and number.isdigit() and len(number) <= 9:
            conditions.append(Escalation.id == int(number))
        stmt = stmt.where(or_(*conditions))
    stmt = scope.scoped(stmt.order_by(*QUEUE_ORDER), Escalation, user).limit(limit + 1).options(
        selectinload(Escalation.patient).selectinload(Patient.village).selectinload(Village.block),
        selectinload(Escalation.owner), selectinload(Escalation.dispatches).selectinload(Dispatch.destination))
    found = db.session.scalars(stmt).all()
    return found[:limit], len(found) > limit


def is_breached(esc, now=None):
    """Missed its response deadline: the deadline job marked it, or the deadline passed while it is open."""
    if esc.breached_at is not None:
        return True
    return (esc.status == EscalationStatus.OPEN and esc.respond_by is not None
            and esc.respond_by < (now or utcnow()))


def get_for_desk(esc_id, user, lock=False):
    """One escalation for someone who works its desk: NotFound outside the district, Forbidden off-desk."""
    esc = scope.get_scoped(Escalation, esc_id, user, lock=lock)
    if esc.desk not in desks_for(user):
        raise Forbidden(_l("This escalation belongs to another desk."))
    return esc


def load_for_action(esc_id, user, version):
    esc = get_for_desk(esc_id, user, lock=True)
    if version is not None and int(version) != esc.version:
        raise Conflict(_l("Someone else changed this escalation a moment ago. Reload to see what they did."))
    return esc


@transaction
def acknowledge(esc_id, user, version=None, now=None):
    now = now or utcnow()
    esc = load_for_action(esc_id, user, version)
    lifecycle.move(esc, EscalationStatus.ACKNOWLEDGED)
    esc.acknowledged_at, esc.acknowledged_by_id, esc.owner_id = now, user.id, user.id
    audit.record(user, "escalation.acknowledge", "escalation", esc.id, esc.district_id, now=now)
    return esc


def begin_work(esc, user, now):
    """Acknowledged → in progress (inside the caller's transaction); already in progress stays so."""
    if esc.status != EscalationStatus.IN_PROGRESS:
        lifecycle.move(esc, EscalationStatus.IN_PROGRESS)
        esc.started_at = now
    esc.owner_id = esc.owner_id or user.id
    # Always a new version, even when nothing above changed: two operators sending help at once from
    # the same view must not both succeed (a second ambulance nobody meant to send).
    flag_modified(esc, "owner_id")


@transaction
def start(esc_id, user, note="", version=None, now=None):
    """Mark work under way (ambulance dispatched, medicine on its way …)."""
    now = now or utcnow()
    esc = load_for_action(esc_id, user, version)
    lifecycle.move(esc, EscalationStatus.IN_PROGRESS)
    esc.started_at, esc.owner_id = now, esc.owner_id or user.id
    note_on(esc, user, note, now)
    audit.record(user, "escalation.start", "escalation", esc.id, esc.district_id, now=now)
    return esc


@transaction
def add_note(esc_id, user, text, now=None):
    """Notes never conflict with other changes, so they take no version."""
    now = now or utcnow()
    if not (text or "").strip():
        raise Invalid(_l("Write a note first."), {"text": _l("Write a note first.")})
    esc = load_for_action(esc_id, user, None)
    note_on(esc, user, text, now)
    audit.record(user, "escalation.note", "escalation", esc.id, esc.district_id, now=now)
    return esc


# ── Reassigning ──────────────────────────────────────────────────────────────────────────────────────

def reassign_candidates(esc):
    """Who can take an escalation over: active users of its desk in its district, not its owner."""
    stmt = db.select(User).where(User.role.in_([str(r) for r in DESK_ROLES[Desk(esc.desk)]]),
                                 User.district_id == esc.district_id, User.active.is_(True))
    if esc.owner_id is not None:
        stmt = stmt.where(User.id != esc.owner_id)
    return db.session.scalars(stmt.order_by(User.full_name, User.username)).all()


@transaction
def reassign(esc_id, user, owner_id, note, version=None, now=None):
    """Hand an open escalation to another operator of the same desk and district, with a note saying why."""
    now = now or utcnow()
    note = " ".join((note or "").split())
    if not note:
        message = _l("Say why you hand it over.")
        raise Invalid(message, {"text": message})
    esc = load_for_action(esc_id, user, version)
    if not esc.is_open:
        raise Conflict(_l("This escalation is marked “%(current)s”; it can no longer be reassigned.",
                          current=labels.ESCALATION_STATUSES[esc.status]))
    new_owner = db.session.get(User, int(owner_id)) if str(owner_id or "").isdigit() else None
    if new_owner is None or new_owner not in reassign_candidates(esc):
        message = (_l("It is already theirs.") if new_owner is not None and new_owner.id == esc.owner_id else
                   _l("Choose an active colleague of this desk in the same district."))
        raise Invalid(message, {"owner_id": message})
    previous = esc.owner_id
    esc.owner_id = new_owner.id
    db.session.add(EscalationNote(escalation=esc, user_id=user.id, at=now, text=f"→ {new_owner}: {note}"))
    audit.record(user, "escalation.reassign", "escalation", esc.id, esc.district_id, now=now,
                 from_owner_id=previous, to_owner_id=new_owner.id, note=note)
    return esc


# ── Closing ──────────────────────────────────────────────────────────────────────────────────────────

# What came of a resolved escalation (Escalation.outcome); labels.ESCALATION_OUTCOMES names them.
OUTCOMES = ("admitted", "delivered", "advice_given", "managed_at_home", "referred", "met_well", "not_needed",
            "refused", "not_reachable", "died", "other")
ADMITTED = "admitted"


@transaction
def resolve(esc_id, user, outcome_text, version=None, now=None, outcome=None, facility_id=None,
            allowed_outcomes=OUTCOMES):
    """Close as resolved with what came of it: a code (OUTCOMES; optional for older API clients) and text.

    "admitted" records the patient's move to the facility (`facility_id`, or the destination of the
    latest ambulance sent) through services.transfers, in the same transaction; an ambulance
    escalation cannot be "admitted" without knowing where.
    """
    if outcome is not None and outcome not in allowed_outcomes:
        message = _l("Choose what came of it.")
        raise Invalid(message, {"outcome": message})
    if outcome == ADMITTED:  # the patient moves: lock them before the escalation, in a call's order
        patient_id = db.session.scalar(db.select(Escalation.patient_id).where(Escalation.id == esc_id))
        if patient_id is not None:
            lock_for_change(patient_id)
    esc = _close(esc_id, user, EscalationStatus.RESOLVED, outcome_text, version, now,
                 _l("Say how it was resolved."), outcome=outcome)
    if outcome == ADMITTED:
        _admit(esc, user, facility_id, esc.closed_at)
    return esc


@transaction
def cancel(esc_id, user, reason, version=None, now=None):
    return _close(esc_id, user, EscalationStatus.CANCELLED, reason, version, now,
                  _l("Give a reason for cancelling."))


def _close(esc_id, user, status, text, version, now, missing_message, outcome=None):
    now = now or utcnow()
    text = (text or "").strip()
    if not text:
        raise Invalid(missing_message, {"text": missing_message})
    esc = load_for_action(esc_id, user, version)
    lifecycle.close(esc, user, status, text, now, outcome)
    return esc


def _admit(esc, user, facility_id, now):
    """The patient was admitted: move them there (with history) unless they already are."""
    if facility_id:
        facility = db.session.get(Facility, int(facility_id))
    else:
        sent = [d for d in esc.dispatches if d.kind == DispatchKind.AMBULANCE and d.destination_facility_id]
        facility = sent[-1].destination if sent else None
    if facility is None:
        if esc.kind == NeedKind.AMBULANCE:
            message = _l("Record the ambulance and its destination first, or choose where the patient was admitted.")
            raise Invalid(message, {"facility_id": message})
        return None
    if facility.district_id != esc.district_id:
        message = _l("Choose a hospital or care centre of this district.")
        raise Invalid(message, {"facility_id": message})
    patient = esc.patient
    if not patient.is_active or (patient.setting == facility.kind and patient.facility_id == facility.id):
        return None
    reason = str(_l("Admitted (escalation #%(id)s): %(text)s", id=esc.id, text=esc.resolution))
    # The transfer's own checks and history, as part of this transaction.
    move = transfers.transfer(patient.id, user, facility.kind, facility.id,
                                          reason[:transfers.MAX_REASON], now=now)
    audit.record(user, "escalation.admitted", "escalation", esc.id, esc.district_id, now=now,
                 transfer_id=move.id, facility_id=facility.id)
    return move


def note_on(esc, user, text, now):
    if (text or "").strip():
        db.session.add(EscalationNote(escalation=esc, user_id=user.id, at=now, text=text.strip()))


# The desk actions by name, for callers that take the action as data (the API). Each takes
# (esc_id, user, text, version, **extra); extra carries resolve's outcome and facility_id.
ACTIONS = {
    "acknowledge": lambda esc_id, user, text, version, **extra: acknowledge(esc_id, user, version=version),
    "start": lambda esc_id, user, text, version, **extra: start(esc_id, user, text, version=version),
    # notes never conflict
    "note": lambda esc_id, user, text, version, **extra: add_note(esc_id, user, text),
    "resolve": lambda esc_id, user, text, version, **extra: resolve(
        esc_id, user, text, version=version, outcome=extra.get("outcome"), facility_id=extra.get("facility_id")),
    "cancel": lambda esc_id, user, text, version, **extra: cancel(esc_id, user, text, version=version),
}


def act(esc_id, user, action, text="", version=None, outcome=None, facility_id=None):
    """Run one desk action by name; each action is its own transaction."""
    if action not in ACTIONS:
        raise Invalid(_l("Unknown action."), {"action": _l("Unknown action.")})
    return ACTIONS[action](esc_id, user, text, version, outcome=outcome or None, facility_id=facility_id or None)
