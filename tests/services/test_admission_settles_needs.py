"""Issue 17: a patient admitted from home (by ambulance, or moved on the record) no longer needs medicine, food,
a test or a field visit at home: those are cancelled with the reason; clinical and urgent ones stay open,
flagged for their desks. All audited, all in the transfer's transaction."""
from datetime import timedelta

from callcenter.clock import utcnow
from callcenter.extensions import db
from callcenter.models import AuditLog, Escalation
from callcenter.rules.routing import Desk, Severity
from callcenter.services.desks import dispatch as dispatch_service
from callcenter.services.desks import escalations as esc_service
from callcenter.services.records import transfers

from ..factories import facility, make_patient, make_user

NOW = utcnow().replace(microsecond=0)
RAISED = [("medicine", Desk.CONTROL_ROOM, Severity.ROUTINE), ("food", Desk.CONTROL_ROOM, Severity.ROUTINE),
          ("test", Desk.CONTROL_ROOM, Severity.ROUTINE), ("field_visit", Desk.CONTROL_ROOM, Severity.ROUTINE),
          ("doctor", Desk.DOCTOR, Severity.ROUTINE), ("counselling", Desk.COUNSELLOR, Severity.ROUTINE),
          ("oxygen", Desk.CONTROL_ROOM, Severity.EMERGENCY)]


def at_home_with_needs(district):
    patient = make_patient(district, name="Savita Kurre")
    ids = {kind: esc_service.raise_escalation(patient, kind, desk, severity, "call", now=NOW).id
           for kind, desk, severity in RAISED}
    db.session.commit()
    return patient, ids


def fresh(esc_id):
    return db.session.get(Escalation, esc_id, populate_existing=True)


def assert_settled(ids, hospital, operator):
    for kind in ("medicine", "food", "test", "field_visit"):
        esc = fresh(ids[kind])
        assert esc.status == "cancelled", kind
        assert esc.resolution == f"Not needed at home any more: the patient was admitted to {hospital.name} " \
                                 "(COVID hospital)."
        assert esc.closed_by_id == operator.id
    for kind in ("doctor", "counselling", "oxygen"):
        esc = fresh(ids[kind])
        assert esc.status == "open", kind
        assert ["admitted", hospital.name] in esc.reasons
        assert [n.text for n in esc.notes] == [
            f"The patient was admitted to {hospital.name} (COVID hospital): check whether this is still needed."]
    transfer_audit = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "patient.transfer")).one()
    assert sorted(transfer_audit.details["escalations_cancelled"]) == sorted(
        ids[k] for k in ("medicine", "food", "test", "field_visit"))
    assert sorted(transfer_audit.details["escalations_flagged"]) == sorted(
        ids[k] for k in ("doctor", "counselling", "oxygen"))
    cancelled = db.session.scalars(db.select(AuditLog.entity_id).where(AuditLog.action == "escalation.cancelled"))
    assert sorted(cancelled) == sorted(ids[k] for k in ("medicine", "food", "test", "field_visit"))
    flagged = db.session.scalars(db.select(AuditLog.entity_id).where(AuditLog.action == "escalation.flag_admitted"))
    assert sorted(flagged) == sorted(ids[k] for k in ("doctor", "counselling", "oxygen"))


def test_admitted_by_ambulance_closes_home_needs_and_flags_the_rest(district):
    patient, ids = at_home_with_needs(district)
    operator = make_user("control_room", district)
    hospital = facility(district, "hospital")
    amb = esc_service.raise_escalation(patient, "ambulance", Desk.CONTROL_ROOM, Severity.EMERGENCY, "call", now=NOW)
    db.session.commit()
    esc_service.acknowledge(amb.id, operator, now=NOW)
    dispatch_service.dispatch(amb.id, operator, {
        "kind": "ambulance", "vehicle_number": "CG 04 AB 1234", "driver_phone": "98260 12345",
        "destination_facility_id": hospital.id, "eta": NOW + timedelta(minutes=20)}, now=NOW)
    esc_service.resolve(amb.id, operator, "Admitted", outcome="admitted", now=NOW + timedelta(hours=1))
    assert fresh(amb.id).status == "resolved"
    assert_settled(ids, hospital, operator)


def test_moved_on_the_record_settles_the_same_way(district):
    patient, ids = at_home_with_needs(district)
    officer = make_user("nodal_officer", district)
    hospital = facility(district, "hospital")
    transfers.transfer(patient.id, officer, "hospital", hospital.id, "Admitted by the family", now=NOW)
    db.session.commit()
    assert_settled(ids, hospital, officer)


def test_a_move_home_or_between_facilities_closes_nothing(district):
    patient = make_patient(district, setting="hospital")
    esc = esc_service.raise_escalation(patient, "medicine", Desk.CONTROL_ROOM, Severity.ROUTINE, "call", now=NOW)
    db.session.commit()
    officer = make_user("nodal_officer", district)
    transfers.transfer(patient.id, officer, "ccc", facility(district, "ccc").id, "Stepped down", now=NOW)
    db.session.commit()
    assert fresh(esc.id).status == "open" and fresh(esc.id).reasons == []


def test_the_desk_shows_the_flag_in_english_and_hindi(client, login, district):
    patient, ids = at_home_with_needs(district)
    hospital = facility(district, "hospital")
    transfers.transfer(patient.id, make_user("nodal_officer", district), "hospital", hospital.id, "Admitted",
                       now=NOW)
    db.session.commit()
    operator = make_user("control_room", district)
    login(operator)
    rows = client.get("/desk/console.json").get_json()["html"]
    assert f"Admitted to {hospital.name} since: still needed?" in rows
    assert "Savita Kurre" in rows and rows.count('class="esc-row') == 1  # the oxygen request; home needs closed
    detail = client.get(f"/desk/escalation/{ids['oxygen']}").get_data(as_text=True)
    assert "check whether this is still needed" in detail
    operator.language = "hi"
    db.session.commit()
    rows = client.get("/desk/console.json").get_json()["html"]
    assert f"{hospital.name} में भर्ती: क्या अब भी ज़रूरत है?" in rows
