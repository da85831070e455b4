"""Desks through the API: listing escalations and moving them along."""
from datetime import timedelta

import pytest

from callcenter.clock import to_local, utcnow
from callcenter.extensions import db
from callcenter.models import AuditLog, Dispatch, Escalation, OutboundMessage, Patient
from callcenter.rules.routing import Desk, Severity
from callcenter.services.desks import escalations as esc_service

from ..factories import facility, make_district, make_patient, make_user


def raise_one(district, kind="ambulance", desk=Desk.CONTROL_ROOM, severity=Severity.EMERGENCY, summary=""):
    esc = esc_service.raise_escalation(make_patient(district), kind, desk, severity, source="call", summary=summary)
    db.session.commit()
    return esc


def act(api, user, esc, action, text="", version=None):
    body = {"action": action, "text": text}
    if version is not None:
        body["version"] = version
    return api("POST", f"/api/v1/escalations/{esc.id}/actions", user=user, json=body)


def test_desk_list_emergencies_first(api, district):
    operator = make_user("control_room", district)
    routine = raise_one(district, kind="medicine", severity=Severity.ROUTINE)
    emergency = raise_one(district, kind="oxygen")
    raise_one(district, kind="doctor", desk=Desk.DOCTOR, severity=Severity.ROUTINE)
    raise_one(make_district())  # another district's

    response = api("GET", "/api/v1/escalations", user=operator)
    assert response.status_code == 200
    items = response.get_json()
    assert [(e["id"], e["kind"], e["severity"]) for e in items] == [
        (emergency.id, "oxygen", "emergency"), (routine.id, "medicine", "routine")]
    assert items[0]["patient"]["id"] == emergency.patient_id and "notes" not in items[0]


def test_desks_are_per_role(api, district):
    raise_one(district, kind="doctor", desk=Desk.DOCTOR, severity=Severity.ROUTINE)
    doctor, operator, officer = (make_user(r, district) for r in ("doctor", "control_room", "nodal_officer"))
    assert [e["kind"] for e in api("GET", "/api/v1/escalations", user=doctor).get_json()] == ["doctor"]
    forbidden = api("GET", "/api/v1/escalations?desk=doctor", user=operator)
    assert forbidden.status_code == 403
    assert forbidden.get_json()["message"] == "This desk is not yours."
    assert len(api("GET", "/api/v1/escalations?desk=doctor", user=officer).get_json()) == 1
    assert api("GET", "/api/v1/escalations", user=make_user("volunteer", district)).status_code == 403
    assert api("GET", "/api/v1/escalations?desk=kitchen", user=officer).status_code == 422


def test_detail_shows_notes_and_patient_and_is_logged(api, district):
    operator = make_user("control_room", district)
    esc = raise_one(district, summary="Needs oxygen cylinder")
    esc_service.add_note(esc.id, operator, "Called the family")
    response = api("GET", f"/api/v1/escalations/{esc.id}", user=operator)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["summary"], body["status"], body["version"]) == ("Needs oxygen cylinder", "open", 1)
    assert [(n["text"], n["user_id"]) for n in body["notes"]] == [("Called the family", operator.id)]
    assert body["patient"]["call_phone"] == db.session.get(Escalation, esc.id).patient.phone
    view = db.session.scalar(db.select(AuditLog).where(AuditLog.action == "patient.view"))
    assert view.details == {"purpose": "escalation"}


def test_detail_elsewhere_is_404_and_off_desk_is_403(api, district):
    esc = raise_one(district)
    assert api("GET", f"/api/v1/escalations/{esc.id}",
               user=make_user("control_room", make_district())).status_code == 404
    off_desk = api("GET", f"/api/v1/escalations/{esc.id}", user=make_user("doctor", district))
    assert off_desk.status_code == 403
    assert off_desk.get_json()["message"] == "This escalation belongs to another desk."


def test_action_flow_to_resolved(api, district):
    operator = make_user("control_room", district)
    esc = raise_one(district)

    acked = act(api, operator, esc, "acknowledge", version=1)
    assert acked.status_code == 200, acked.get_json()
    assert (acked.get_json()["status"], acked.get_json()["owner_id"], acked.get_json()["version"]) == (
        "acknowledged", operator.id, 2)
    started = act(api, operator, esc, "start", "Ambulance CG04 1234 sent", version=2).get_json()
    assert (started["status"], started["version"]) == ("in_progress", 3)
    noted = act(api, operator, esc, "note", "Reached in 12 minutes", version=1)  # notes never conflict
    assert noted.status_code == 200
    resolved = act(api, operator, esc, "resolve", "Admitted at AIIMS", version=3).get_json()
    assert (resolved["status"], resolved["resolution"], resolved["closed_at"] is not None) == (
        "resolved", "Admitted at AIIMS", True)
    assert [n["text"] for n in resolved["notes"]] == ["Ambulance CG04 1234 sent", "Reached in 12 minutes"]

    twice = act(api, operator, esc, "resolve", "Again", version=resolved["version"])
    assert twice.status_code == 409
    assert twice.get_json()["message"] == "This escalation is marked “Resolved”; it cannot be changed to “Resolved”."
    assert db.session.get(Escalation, esc.id).resolution == "Admitted at AIIMS"

    closed = api("GET", "/api/v1/escalations?status=resolved", user=operator).get_json()
    assert [e["id"] for e in closed] == [esc.id]
    assert api("GET", "/api/v1/escalations", user=operator).get_json() == []
    assert [e["id"] for e in api("GET", "/api/v1/escalations?status=all", user=operator).get_json()] == [esc.id]


def test_stale_version_is_409_and_changes_nothing(api, district):
    a, b = make_user("control_room", district), make_user("control_room", district)
    esc = raise_one(district)
    assert act(api, a, esc, "acknowledge", version=1).status_code == 200
    stale = act(api, b, esc, "cancel", "Duplicate call", version=1)
    assert stale.status_code == 409
    assert stale.get_json()["message"].startswith("Someone else changed this escalation")
    assert db.session.get(Escalation, esc.id).status == "acknowledged"


@pytest.mark.parametrize("action", ["resolve", "cancel", "note"])
def test_missing_text_is_422(api, district, action):
    esc = raise_one(district)
    response = act(api, make_user("control_room", district), esc, action, "  ")
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"text"}


def test_unknown_action_is_422(api, district):
    esc = raise_one(district)
    response = act(api, make_user("control_room", district), esc, "explode")
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "action": "Must be one of: acknowledge, start, note, resolve, cancel."}


# ── Sending help, handing over, outcomes ─────────────────────────────────────────────────────────────

def test_dispatch_through_the_api(api, district):
    operator = make_user("control_room", district)
    esc = raise_one(district)
    assert act(api, operator, esc, "acknowledge", version=1).status_code == 200
    body = {"kind": "ambulance", "vehicle_number": "CG 04 AB 1234", "driver_phone": "98260 12345",
            "destination_facility_id": facility(district, "hospital").id, "eta": "2099-01-01T10:00", "version": 2}
    too_late = api("POST", f"/api/v1/escalations/{esc.id}/dispatch", user=operator, json=body)
    assert too_late.status_code == 422 and set(too_late.get_json()["errors"]) == {"eta"}
    body["eta"] = (to_local(utcnow()) + timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M")  # India time
    sent = api("POST", f"/api/v1/escalations/{esc.id}/dispatch", user=operator, json=body)
    assert sent.status_code == 201, sent.get_json()
    data = sent.get_json()
    assert (data["status"], data["version"]) == ("in_progress", 3)
    assert [(d["kind"], d["vehicle_number"], d["driver_phone"]) for d in data["dispatches"]] == [
        ("ambulance", "CG04AB1234", "+919826012345")]
    assert db.session.scalars(db.select(Dispatch)).one().escalation_id == esc.id
    assert db.session.scalars(db.select(OutboundMessage)).one().template == "help_ambulance"
    stale = api("POST", f"/api/v1/escalations/{esc.id}/dispatch", user=operator, json=body)
    assert stale.status_code == 409

    resolved = act(api, operator, esc, "resolve", "Admitted", version=3)
    assert resolved.status_code == 200  # the outcome is optional for older clients
    assert resolved.get_json()["outcome"] is None


def test_resolve_with_an_outcome_and_admitted_through_the_api(api, district):
    operator = make_user("control_room", district)
    esc = raise_one(district, kind="hospital_bed")
    ccc = facility(district, "ccc")
    bad = api("POST", f"/api/v1/escalations/{esc.id}/actions", user=operator,
              json={"action": "resolve", "text": "x", "outcome": "teleported"})
    assert bad.status_code == 422 and set(bad.get_json()["errors"]) == {"outcome"}
    done = api("POST", f"/api/v1/escalations/{esc.id}/actions", user=operator,
               json={"action": "resolve", "text": "Bed at the CCC", "outcome": "admitted", "facility_id": ccc.id})
    assert done.status_code == 200, done.get_json()
    assert (done.get_json()["outcome"], done.get_json()["status"]) == ("admitted", "resolved")
    patient = db.session.get(Patient, esc.patient_id)
    assert (patient.setting, patient.facility_id) == ("ccc", ccc.id)


def test_reassign_through_the_api(api, district):
    operator, colleague = make_user("control_room", district), make_user("control_room", district)
    esc = raise_one(district)
    wrong = api("POST", f"/api/v1/escalations/{esc.id}/reassign", user=operator,
                json={"owner_id": make_user("doctor", district).id, "text": "over to you"})
    assert wrong.status_code == 422 and set(wrong.get_json()["errors"]) == {"owner_id"}
    done = api("POST", f"/api/v1/escalations/{esc.id}/reassign", user=operator,
               json={"owner_id": colleague.id, "text": "over to you", "version": 1})
    assert done.status_code == 200
    assert (done.get_json()["owner_id"], done.get_json()["version"]) == (colleague.id, 2)
    assert done.get_json()["notes"][-1]["text"] == f"→ {colleague}: over to you"
    assert api("POST", f"/api/v1/escalations/{esc.id}/reassign", user=make_user("doctor", district),
               json={"owner_id": colleague.id, "text": "x"}).status_code == 403
