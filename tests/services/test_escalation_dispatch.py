"""Sending help: dispatch validation, the patient's "help is on the way" SMS through the outbox, and an
ambulance's "admitted" outcome recorded as the patient's transfer."""
from datetime import timedelta

import pytest

from callcenter.clock import to_local, utcnow
from callcenter.extensions import db
from callcenter.models import AuditLog, Dispatch, Escalation, OutboundMessage, Patient, Transfer
from callcenter.rules.routing import Desk, Severity
from callcenter.services.checkins import sms_templates
from callcenter.services.core.errors import Conflict, Forbidden, Invalid
from callcenter.services.desks import dispatch as dispatch_service
from callcenter.services.desks import escalations as esc_service

from ..factories import facility, make_district, make_patient, make_user

NOW = utcnow().replace(microsecond=0)


def acknowledged(district, kind="ambulance", language="en"):
    patient = make_patient(district)
    patient.language = language
    esc = esc_service.raise_escalation(patient, kind, Desk.CONTROL_ROOM, Severity.EMERGENCY, "call", now=NOW)
    db.session.commit()
    operator = make_user("control_room", district)
    esc_service.acknowledge(esc.id, operator, now=NOW)
    return esc.id, operator


def ambulance(district, **changes):
    return {"kind": "ambulance", "vehicle_number": "cg-04 ab 1234", "driver_phone": "098260 12345",
            "destination_facility_id": facility(district, "hospital").id,
            "eta": NOW + timedelta(minutes=25), **changes}


def delivery(**changes):
    return {"kind": "delivery", "delivered_by": "  Ravi  (ward volunteer) ", "delivery_at": NOW + timedelta(hours=2),
            **changes}


def messages():
    return db.session.scalars(db.select(OutboundMessage).order_by(OutboundMessage.id)).all()


def test_ambulance_is_recorded_normalised_and_the_patient_is_told(district):
    esc_id, operator = acknowledged(district)
    sent = dispatch_service.dispatch(esc_id, operator, ambulance(district, note="Son waiting at the gate"), now=NOW)
    row = db.session.scalars(db.select(Dispatch)).one()
    hospital = facility(district, "hospital")
    assert (row.kind, row.vehicle_number, row.driver_phone, row.destination_facility_id, row.eta) == (
        "ambulance", "CG04AB1234", "+919826012345", hospital.id, NOW + timedelta(minutes=25))
    assert (row.created_at, row.created_by_id, row.id) == (NOW, operator.id, sent.id)
    esc = db.session.get(Escalation, esc_id)
    assert (esc.status, esc.started_at) == ("in_progress", NOW)
    assert [n.text for n in esc.notes] == ["Son waiting at the gate"]

    [sms] = messages()
    patient = esc.patient
    eta = to_local(NOW + timedelta(minutes=25)).strftime("%H:%M")
    assert (sms.idempotency_key, sms.patient_id, sms.to_phone, sms.template, sms.language, sms.status) == (
        f"dispatch:{row.id}", patient.id, patient.phone, "help_ambulance", "en", "queued")
    assert sms.params == {"vehicle": "CG04AB1234", "driver": "+919826012345", "eta": eta}
    assert sms.body == (f"Sampark COVID care: an ambulance (CG04AB1234) is on its way to you, expected by {eta}. "
                        "Driver: +919826012345. In an emergency call 108.")
    logged = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "escalation.dispatch")).one()
    assert logged.details["sms"] is True and logged.details["dispatch_id"] == row.id
    assert logged.details["driver_phone"] == "+919826012345"


def test_hindi_patient_gets_the_hindi_text(district):
    esc_id, operator = acknowledged(district, kind="medicine", language="hi")
    dispatch_service.dispatch(esc_id, operator, delivery(), now=NOW)
    [sms] = messages()
    when = to_local(NOW + timedelta(hours=2)).strftime("%d/%m %H:%M")
    assert (sms.template, sms.language) == ("help_delivery", "hi")
    assert sms.params == {"what": "दवा", "when": when, "by": "Ravi (ward volunteer)"}
    assert sms.body == sms_templates.render("help_delivery", "hi", what="दवा", when=when, by="Ravi (ward volunteer)")
    assert sms.body.startswith("संपर्क कोविड सेवा: आपकी ज़रूरत (दवा)")


@pytest.mark.parametrize("field, value", [("sms_opt_out", True), ("phone_invalid", True), ("status", "recovered")])
def test_no_sms_for_patients_who_get_none(district, field, value):
    esc_id, operator = acknowledged(district)
    patient = db.session.get(Escalation, esc_id).patient
    setattr(patient, field, value)
    db.session.commit()
    dispatch_service.dispatch(esc_id, operator, ambulance(district), now=NOW)
    assert messages() == []
    assert db.session.scalars(db.select(Dispatch)).one().kind == "ambulance"  # the help is still recorded
    logged = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "escalation.dispatch")).one()
    assert logged.details["sms"] is False


def test_each_dispatch_its_own_sms_and_a_second_ambulance_keeps_it_in_progress(district):
    esc_id, operator = acknowledged(district)
    dispatch_service.dispatch(esc_id, operator, ambulance(district), now=NOW)
    dispatch_service.dispatch(esc_id, operator, ambulance(district, vehicle_number="CG04ZZ9999"),
                              now=NOW + timedelta(minutes=10))
    esc = db.session.get(Escalation, esc_id)
    assert [d.vehicle_number for d in esc.dispatches] == ["CG04AB1234", "CG04ZZ9999"]
    assert (esc.status, esc.started_at) == ("in_progress", NOW)
    assert [m.params["vehicle"] for m in messages()] == ["CG04AB1234", "CG04ZZ9999"]


BAD_AMBULANCES = [
    ({"driver_phone": "12345"}, "driver_phone", "Not a valid Indian mobile number."),
    ({"driver_phone": "+44 7911 123456"}, "driver_phone", "Enter an Indian (+91) mobile number."),
    ({"driver_phone": ""}, "driver_phone", "Enter the driver's mobile number."),  # issue 17: asked for
    ({"driver_phone": "  "}, "driver_phone", "Enter the driver's mobile number."),
    ({"vehicle_number": ""}, "vehicle_number", "Enter the ambulance's vehicle number."),
    ({"vehicle_number": "AMBULANCE"}, "vehicle_number", "Enter a vehicle number such as CG 04 AB 1234."),
    ({"destination_facility_id": None}, "destination_facility_id", None),
    ({"destination_facility_id": 999999}, "destination_facility_id", None),
    ({"eta": None}, "eta", "Enter when the ambulance will reach the patient."),
    ({"eta": NOW - timedelta(minutes=30)}, "eta", "The arrival time is in the past."),
    ({"eta": NOW + timedelta(hours=30)}, "eta", "The arrival time is more than a day away."),
]


@pytest.mark.parametrize("changes, field, message", BAD_AMBULANCES, ids=[b[1] + str(i) for i, b in
                                                                          enumerate(BAD_AMBULANCES)])
def test_bad_ambulance_details_are_refused(district, changes, field, message):
    esc_id, operator = acknowledged(district)
    with pytest.raises(Invalid) as refused:
        dispatch_service.dispatch(esc_id, operator, ambulance(district, **changes), now=NOW)
    assert set(refused.value.errors) == {field}
    if message:
        assert str(refused.value.errors[field]) == message
    assert db.session.scalars(db.select(Dispatch)).all() == [] and messages() == []
    assert db.session.get(Escalation, esc_id, populate_existing=True).status == "acknowledged"


def test_facility_of_another_district_is_refused(district):
    esc_id, operator = acknowledged(district)
    elsewhere = facility(make_district(), "hospital")
    with pytest.raises(Invalid) as refused:
        dispatch_service.dispatch(esc_id, operator, ambulance(district, destination_facility_id=elsewhere.id),
                                  now=NOW)
    assert set(refused.value.errors) == {"destination_facility_id"}


def test_all_problems_at_once_and_a_small_slip_is_accepted(district):
    esc_id, operator = acknowledged(district)
    with pytest.raises(Invalid) as refused:
        dispatch_service.dispatch(esc_id, operator, ambulance(district, driver_phone="1", vehicle_number="",
                                                              eta=None), now=NOW)
    assert set(refused.value.errors) == {"driver_phone", "vehicle_number", "eta"}
    # an ETA two minutes "ago" is a clock slip, not an error
    dispatch_service.dispatch(esc_id, operator, ambulance(district, eta=NOW - timedelta(minutes=2)), now=NOW)


@pytest.mark.parametrize("changes, field", [
    ({"delivered_by": "   "}, "delivered_by"),
    ({"delivered_by": "x" * 121}, "delivered_by"),
    ({"delivery_at": None}, "delivery_at"),
    ({"delivery_at": NOW - timedelta(hours=1)}, "delivery_at"),
    ({"delivery_at": NOW + timedelta(days=4)}, "delivery_at"),
])
def test_bad_delivery_details_are_refused(district, changes, field):
    esc_id, operator = acknowledged(district, kind="medicine")
    with pytest.raises(Invalid) as refused:
        dispatch_service.dispatch(esc_id, operator, delivery(**changes), now=NOW)
    assert set(refused.value.errors) == {field}


def test_unknown_kind_is_refused(district):
    esc_id, operator = acknowledged(district)
    with pytest.raises(Invalid) as refused:
        dispatch_service.dispatch(esc_id, operator, {"kind": "helicopter"}, now=NOW)
    assert set(refused.value.errors) == {"kind"}


def test_dispatch_needs_acknowledgement_the_desk_and_a_fresh_version(district):
    patient = make_patient(district)
    esc = esc_service.raise_escalation(patient, "ambulance", Desk.CONTROL_ROOM, Severity.EMERGENCY, "call")
    db.session.commit()
    operator = make_user("control_room", district)
    with pytest.raises(Conflict):
        dispatch_service.dispatch(esc.id, operator, ambulance(district), now=NOW)  # still open
    seen = db.session.get(Escalation, esc.id).version
    esc_service.acknowledge(esc.id, operator, version=seen)
    with pytest.raises(Forbidden):
        dispatch_service.dispatch(esc.id, make_user("counsellor", district), ambulance(district), now=NOW)
    with pytest.raises(Conflict):
        dispatch_service.dispatch(esc.id, operator, ambulance(district), version=seen, now=NOW)
    assert db.session.scalars(db.select(Dispatch)).all() == []


def test_facilities_offered_are_the_districts_with_free_beds(district):
    esc_id, _operator = acknowledged(district)
    hospital = facility(district, "hospital")
    hospital.free_general, hospital.free_oxygen, hospital.free_icu = 3, 1, 0
    db.session.commit()
    make_district()  # another district's facilities are not offered
    offered = dispatch_service.facilities_for(db.session.get(Escalation, esc_id))
    assert [(f.kind, f.district_id) for f in offered] == [("hospital", district.id), ("ccc", district.id)]
    assert (offered[0].free_general, offered[0].free_oxygen, offered[0].free_icu) == (3, 1, 0)


# ── Outcomes feed back: admitted → transfer ──────────────────────────────────────────────────────────

def test_admitted_after_an_ambulance_moves_the_patient_with_history(district):
    esc_id, operator = acknowledged(district)
    hospital = facility(district, "hospital")
    dispatch_service.dispatch(esc_id, operator, ambulance(district), now=NOW)
    esc_service.resolve(esc_id, operator, "Admitted to the oxygen ward", outcome="admitted",
                        now=NOW + timedelta(hours=1))
    esc = db.session.get(Escalation, esc_id)
    patient = db.session.get(Patient, esc.patient_id)
    assert (esc.status, esc.outcome) == ("resolved", "admitted")
    assert (patient.setting, patient.facility_id) == ("hospital", hospital.id)
    move = db.session.scalars(db.select(Transfer)).one()
    assert (move.from_setting, move.to_setting, move.from_facility_id, move.to_facility_id, move.by_user_id,
            move.at) == ("home", "hospital", None, hospital.id, operator.id, NOW + timedelta(hours=1))
    assert move.reason == f"Admitted (escalation #{esc_id}): Admitted to the oxygen ward"
    actions = [a.action for a in db.session.scalars(db.select(AuditLog).order_by(AuditLog.id))]
    assert actions[-3:] == ["escalation.resolved", "patient.transfer", "escalation.admitted"]


def test_admitted_to_a_care_centre_chosen_at_resolve(district):
    esc_id, operator = acknowledged(district, kind="hospital_bed")
    ccc = facility(district, "ccc")
    esc_service.resolve(esc_id, operator, "Bed found at the CCC", outcome="admitted", facility_id=ccc.id)
    patient = db.session.get(Escalation, esc_id).patient
    assert (patient.setting, patient.facility_id) == ("ccc", ccc.id)


def test_admitted_ambulance_without_a_destination_is_refused(district):
    esc_id, operator = acknowledged(district)
    with pytest.raises(Invalid) as refused:
        esc_service.resolve(esc_id, operator, "Admitted", outcome="admitted")
    assert set(refused.value.errors) == {"facility_id"}
    esc = db.session.get(Escalation, esc_id, populate_existing=True)
    assert (esc.status, esc.patient.setting) == ("acknowledged", "home")
    assert db.session.scalars(db.select(Transfer)).all() == []


def test_admitted_elsewhere_in_another_district_is_refused(district):
    esc_id, operator = acknowledged(district)
    with pytest.raises(Invalid):
        esc_service.resolve(esc_id, operator, "Admitted", outcome="admitted",
                            facility_id=facility(make_district(), "hospital").id)
    assert db.session.get(Escalation, esc_id, populate_existing=True).status == "acknowledged"


def test_other_outcomes_and_a_patient_already_there_move_nobody(district):
    esc_id, operator = acknowledged(district)
    dispatch_service.dispatch(esc_id, operator, ambulance(district), now=NOW)
    esc_service.resolve(esc_id, operator, "Better; stayed home", outcome="managed_at_home")
    assert db.session.get(Escalation, esc_id).patient.setting == "home"

    already = make_patient(district, setting="hospital")
    esc = esc_service.raise_escalation(already, "oxygen", Desk.CONTROL_ROOM, Severity.EMERGENCY, "call")
    db.session.commit()
    esc_service.resolve(esc.id, operator, "Oxygen bed in the same hospital", outcome="admitted",
                        facility_id=already.facility_id)
    assert db.session.scalars(db.select(Transfer)).all() == []
    assert db.session.get(Escalation, esc.id).status == "resolved"
