"""Sending help for an escalation: an ambulance (vehicle, driver, destination facility, ETA) or a delivery
of medicine, oxygen or food (who brings it, when). Each dispatch is a Dispatch row; the first one moves
the escalation from acknowledged to in progress, later ones (a second ambulance, another delivery) keep it
there. The patient is told by SMS that help is on the way, through the outbox, in their language, unless
they opted out of SMS or their number is known to be wrong.
"""
import re
from datetime import timedelta

from flask_babel import lazy_gettext as _l

from ...checkins import texts
from ...clock import to_local, utcnow
from ...extensions import db
from ...models import Dispatch, DispatchKind, Facility, FacilityKind, Role
from ..core import audit
from ..core.errors import Forbidden, Invalid
from ..core.tx import transaction
from ..outbox.enqueue import enqueue_sms
from ..records import patients
from . import escalations

# An ETA or delivery time a little in the past is a clock or typing slip, not a mistake worth refusing.
GRACE = timedelta(minutes=5)
MAX_ETA = timedelta(hours=24)        # an ambulance arriving later than this is not an ambulance
MAX_DELIVERY = timedelta(days=3)
VEHICLE_RE = re.compile(r"^(?=.*[A-Z])(?=.*\d)[A-Z0-9]{4,12}$")  # e.g. CG04AB1234, 22BH1234AA
MAX_WHO = 120
# Sending an ambulance or supplies is the control room's work; doctors and counsellors advise, they do not dispatch.
DISPATCH_ROLES = frozenset({Role.CONTROL_ROOM, *escalations.SUPERVISORS})


def may_dispatch(user):
    return getattr(user, "role", None) in DISPATCH_ROLES


def facilities_for(esc):
    """The destinations an ambulance for this escalation can take: its district's facilities, hospitals
    first, with their free beds (Facility.free_general / free_oxygen / free_icu)."""
    return db.session.scalars(db.select(Facility).where(Facility.district_id == esc.district_id).order_by(
        db.case((Facility.kind == FacilityKind.HOSPITAL, 0), else_=1), Facility.name)).all()


def _clean(esc, data, now):
    """The dispatch's fields, checked; Invalid with every problem at once."""
    errors = {}
    kind = data.get("kind")
    if kind not in set(DispatchKind):
        errors["kind"] = _l("Choose what is sent: an ambulance, a delivery or other help.")
        raise Invalid(errors["kind"], errors)
    clean = {"kind": DispatchKind(kind)}
    if kind == DispatchKind.AMBULANCE:
        vehicle = re.sub(r"[\s-]+", "", data.get("vehicle_number") or "").upper()
        if not vehicle:
            errors["vehicle_number"] = _l("Enter the ambulance's vehicle number.")
        elif not VEHICLE_RE.match(vehicle):
            errors["vehicle_number"] = _l("Enter a vehicle number such as CG 04 AB 1234.")
        clean["vehicle_number"] = vehicle
        if (data.get("driver_phone") or "").strip():
            clean["driver_phone"] = patients.mobile(data.get("driver_phone"), errors, "driver_phone")
        else:  # not "not a valid number": nothing was typed
            errors["driver_phone"] = _l("Enter the driver's mobile number.")
            clean["driver_phone"] = None
        facility = None
        raw_facility = str(data.get("destination_facility_id") or "")
        if raw_facility.isdigit():
            facility = db.session.get(Facility, int(raw_facility))
        if facility is None or facility.district_id != esc.district_id:
            errors["destination_facility_id"] = _l("Choose the hospital or care centre of this district the "
                                                   "ambulance takes the patient to.")
        clean["destination_facility_id"] = facility.id if facility else None
        clean["eta"] = _expected_time(errors, "eta", data.get("eta"), now, MAX_ETA, (
            _l("Enter when the ambulance will reach the patient."), _l("The arrival time is in the past."),
            _l("The arrival time is more than a day away.")))
    else:
        who = " ".join((data.get("delivered_by") or "").split())
        if not who:
            errors["delivered_by"] = _l("Say who brings it.")
        elif len(who) > MAX_WHO:
            errors["delivered_by"] = _l("Too long (%(n)s characters at most).", n=MAX_WHO)
        clean["delivered_by"] = who
        clean["delivery_at"] = _expected_time(errors, "delivery_at", data.get("delivery_at"), now, MAX_DELIVERY, (
            _l("Enter when it will reach the patient."), _l("The delivery time is in the past."),
            _l("The delivery time is more than 3 days away.")))
    if errors:
        raise Invalid(_l("Check the dispatch details."), errors)
    return clean


def _expected_time(errors, name, when, now, max_ahead, messages):
    """A time help is expected: given, not (much) in the past, not too far ahead; else errors[name]."""
    missing, past, too_far = messages
    if when is None:
        errors[name] = missing
    elif when < now - GRACE:
        errors[name] = past
    elif when > now + max_ahead:
        errors[name] = too_far
    return when


@transaction
def dispatch(esc_id, user, data, version=None, now=None):
    """Record help sent for an acknowledged (or in-progress) escalation; returns the Dispatch.

    `data`: kind ("ambulance" | "delivery" | "other"); for an ambulance vehicle_number, driver_phone,
    destination_facility_id and eta (naive UTC); otherwise delivered_by and delivery_at (naive UTC);
    and an optional note.
    """
    now = now or utcnow()
    if not may_dispatch(user):
        raise Forbidden(_l("Only the control room sends ambulances and supplies."))
    esc = escalations.load_for_action(esc_id, user, version)
    escalations.begin_work(esc, user, now)  # refuses open (not yet acknowledged) and closed ones
    clean = _clean(esc, data, now)
    sent = Dispatch(escalation=esc, created_at=now, created_by_id=user.id, **clean)
    db.session.add(sent)
    escalations.note_on(esc, user, data.get("note") or "", now)
    db.session.flush()
    sms = _tell_patient(esc, sent, now)
    audit.record(user, "escalation.dispatch", "escalation", esc.id, esc.district_id, now=now,
                 dispatch_id=sent.id, kind=sent.kind, sms=sms,
                 **{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in clean.items() if k != "kind"})
    return sent


def may_text(patient):
    """Whether the patient gets SMS from us: followed up, not opted out, number not known to be wrong."""
    return patient.is_active and not patient.sms_opt_out and not patient.phone_invalid


def _tell_patient(esc, sent, now):
    """Enqueue "help is on the way" in the patient's language; False when they get no SMS."""
    patient = esc.patient
    if not may_text(patient):
        return False
    language = texts.language(patient.language)
    if sent.kind == DispatchKind.AMBULANCE:
        template, variables = "help_ambulance", {
            "vehicle": sent.vehicle_number, "driver": sent.driver_phone,
            "eta": to_local(sent.eta).strftime("%H:%M")}
    else:
        names = texts.NEEDS[language]
        template, variables = "help_delivery", {
            "what": names.get(esc.kind, names["other"]), "by": sent.delivered_by[:30].strip(),
            "when": to_local(sent.delivery_at).strftime("%d/%m %H:%M")}
    return enqueue_sms(f"dispatch:{sent.id}", patient.phone, template, language, now=now,
                              patient_id=patient.id, **variables)
