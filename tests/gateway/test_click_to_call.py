"""Click-to-call with masked numbers (issue 18): *Call patient* rings the volunteer's own phone, then the patient,
behind the centre's number; the status callback records outcome and duration and pre-fills the form. Against the
fake Exotel over real HTTP, and the console's simulated bridge (the demo)."""
import re

from callcenter.extensions import db
from callcenter.models import AuditLog, BridgedCall, CallAttempt
from callcenter.rules.identity import mask_phone

from ..exotel_fake import EXOPHONE
from ..exotel_fixtures import SECRET
from ..factories import make_district, make_patient, make_task, make_user
from ..views.test_call_screen import take_call

VOLUNTEER_PHONE = "+919826011111"


def _volunteer(district, phone=VOLUNTEER_PHONE):
    user = make_user("volunteer", district)
    user.phone = phone
    db.session.commit()
    return user


def _call(client, url, page, **extra):
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    task_id = int(url.rsplit("/", 1)[1].split("?")[0])
    data = {"csrf_token": token, "patient_id": extra.pop("patient_id"), "task_id": task_id, "next": url, **extra}
    return client.post("/queue/bridge", data=data)


def _bridges():
    db.session.expire_all()
    return db.session.scalars(db.select(BridgedCall).order_by(BridgedCall.id)).all()


def test_call_patient_bridges_both_legs_and_the_callback_records_the_outcome(client, login, district, exotel):
    patient = make_patient(district)
    make_task(patient)
    login(_volunteer(district))
    url, page, _fields = take_call(client)
    # the volunteer never sees the full number: masked, no tel: link, a Call patient button
    assert patient.phone not in page and "tel:" not in page and mask_phone(patient.phone) in page
    assert 'id="call-patient"' in page

    response = _call(client, url, page, patient_id=patient.id)
    assert response.status_code == 302
    (leg,) = exotel.sent
    p = leg.params
    assert (p["From"], p["To"], p["CallerId"], p["CallType"], p["Record"]) == (
        VOLUNTEER_PHONE, patient.phone, EXOPHONE, "trans", "false")
    (bridge,) = _bridges()
    assert p["StatusCallback"].endswith(f"/exotel/{SECRET}/status?b={bridge.id}")
    assert (bridge.status, bridge.provider, bridge.provider_sid, bridge.user_id) == ("ringing", "exotel", leg.sid,
                                                                                       bridge.user_id)
    assert db.session.scalar(db.select(AuditLog).where(AuditLog.action == "call.bridge")).entity_id == patient.id

    assert exotel.finish(leg, "completed", duration=95, recording_url="https://rec.example/1.mp3").status_code == 200
    (bridge,) = _bridges()
    assert (bridge.status, bridge.outcome, bridge.duration_seconds, bridge.recording_url) == (
        "completed", "connected", 95, "")  # recording is off by default
    ended_at = bridge.ended_at

    # the call screen pre-fills the outcome the provider saw, and says how long the call lasted
    page = client.get(url).get_data(as_text=True)
    assert re.search(r'value="connected"[^>]*checked|checked[^>]*value="connected"', page)
    assert "connected, 1 min 35 s" in page

    # saved: the attempt and the provider's record of the call are tied together
    fields = dict(re.findall(r'name="(csrf_token|submission_key)" type="hidden" value="([^"]+)"', page))
    assert client.post(url, data=dict(fields, outcome="connected", spo2="96")).status_code == 302
    (bridge,) = _bridges()
    attempt = db.session.get(CallAttempt, bridge.attempt_id)
    assert (attempt.patient_id, attempt.outcome, bridge.duration_seconds) == (patient.id, "connected", 95)

    # Exotel retries: a replayed or contradicting callback changes nothing
    exotel.replay_last_callback(leg)
    exotel.finish(leg, "no-answer", duration=0)
    (bridge,) = _bridges()
    assert (bridge.outcome, bridge.duration_seconds, bridge.ended_at) == ("connected", 95, ended_at)


def test_no_answer_is_pre_filled_and_a_callback_without_the_secret_changes_nothing(client, login, district, exotel):
    patient = make_patient(district)
    make_task(patient)
    login(_volunteer(district))
    url, page, _fields = take_call(client)
    _call(client, url, page, patient_id=patient.id)
    (leg,) = exotel.sent
    (bridge,) = _bridges()
    forged = client.post(f"/exotel/not-the-secret/status?b={bridge.id}",
                         data={"CallSid": leg.sid, "Status": "completed", "ConversationDuration": "600"})
    assert forged.status_code == 403 and _bridges()[0].ended_at is None
    exotel.finish(leg, "no-answer")
    assert _bridges()[0].outcome == "no_answer"
    page = client.get(url).get_data(as_text=True)
    assert re.search(r'value="no_answer"[^>]*checked|checked[^>]*value="no_answer"', page)


def test_recording_url_is_kept_only_when_recording_is_on(app, client, login, district, exotel):
    app.config["CALL_RECORDING"] = True
    patient = make_patient(district)
    make_task(patient)
    login(_volunteer(district))
    url, page, _fields = take_call(client)
    _call(client, url, page, patient_id=patient.id)
    (leg,) = exotel.sent
    assert leg.params["Record"] == "true"
    exotel.finish(leg, "completed", duration=30, recording_url="https://rec.example/2.mp3")
    assert _bridges()[0].recording_url == "https://rec.example/2.mp3"


def test_a_patient_of_another_district_cannot_be_called(client, login, district, exotel):
    other = make_patient(make_district("Durg"))
    patient = make_patient(district)
    make_task(patient)
    login(_volunteer(district))
    url, page, _fields = take_call(client)
    response = _call(client, url, page, patient_id=other.id)
    assert response.status_code == 404 and exotel.sent == [] and _bridges() == []


def test_a_user_without_a_phone_is_told_so(client, login, district, exotel):
    patient = make_patient(district)
    make_task(patient)
    login(_volunteer(district, phone=None))
    url, page, _fields = take_call(client)
    response = _call(client, url, page, patient_id=patient.id)
    assert response.status_code == 302 and exotel.sent == []
    assert "no mobile number" in client.get(url).get_data(as_text=True)


def test_without_click_to_call_the_number_is_a_tel_link(client, login, district):
    patient = make_patient(district)
    make_task(patient)
    login(_volunteer(district))
    _url, page, _fields = take_call(client)
    assert f"tel:{patient.phone}" in page and 'id="call-patient"' not in page


def test_the_console_simulates_the_bridge_for_the_demo(app, client, login, district):
    saved = dict(app.config)
    app.config["CLICK_TO_CALL_BACKEND"] = "console"
    try:
        patient = make_patient(district)
        make_task(patient)
        login(_volunteer(district))
        url, page, _fields = take_call(client)
        assert patient.phone not in page
        response = _call(client, url, page, patient_id=patient.id)
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "Demo: your phone would ring now" in page and "End the simulated call (answered)" in page
        (bridge,) = _bridges()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        client.post(f"/queue/bridge/{bridge.id}/end", data={"csrf_token": token, "answered": "1", "next": url})
        (bridge,) = _bridges()
        assert bridge.outcome == "connected" and bridge.duration_seconds >= 1
        assert re.search(r'value="connected"[^>]*checked|checked[^>]*value="connected"', client.get(url).get_data(
            as_text=True))
    finally:
        app.config.clear()
        app.config.update(saved)


def test_the_doctor_and_the_control_room_call_from_their_screens(client, login, district, exotel):
    from callcenter.rules.routing import Desk, Severity
    from callcenter.services.desks import escalations
    patient = make_patient(district)
    referral = escalations.raise_escalation(patient, "doctor", Desk.DOCTOR, Severity.ROUTINE, source="call")
    emergency = escalations.raise_escalation(patient, "ambulance", Desk.CONTROL_ROOM, Severity.EMERGENCY,
                                             source="call")
    db.session.commit()
    for role, url, escalation in (("doctor", f"/desk/referrals/doctor/patient/{patient.id}", referral),
                                  ("control_room", f"/desk/escalation/{emergency.id}", emergency)):
        user = make_user(role, district)
        user.phone = "+919826022222"
        db.session.commit()
        client.get("/logout")
        login(user)
        page = client.get(url).get_data(as_text=True)
        assert patient.phone not in page and 'id="call-patient"' in page, role
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        response = client.post("/queue/bridge", data={"csrf_token": token, "patient_id": patient.id,
                                                      "escalation_id": escalation.id, "next": url})
        assert response.status_code == 302 and response.headers["Location"] == url
    assert [(s.params["From"], s.params["To"]) for s in exotel.sent] == [("+919826022222", patient.phone)] * 2
    assert [b.escalation_id for b in _bridges()] == [referral.id, emergency.id]


def test_through_the_api_the_number_is_masked_and_the_call_goes_through_the_provider(app, client, district):
    from ..api.conftest import bearer
    patient, other = make_patient(district), make_patient(district)
    make_task(patient, priority=0)
    other_task = make_task(other, priority=3)
    volunteer = _volunteer(district)
    headers = bearer(volunteer)
    # Without click-to-call: the full number, and no bridge to ask for.
    claimed = client.post("/api/v1/tasks/claim", headers=headers, json={}).get_json()
    assert claimed["patient"]["call_phone"] == patient.call_phone
    assert client.post(f"/api/v1/tasks/{claimed['id']}/call", headers=headers).status_code == 409
    saved = dict(app.config)
    app.config["CLICK_TO_CALL_BACKEND"] = "console"
    try:
        claimed = client.post("/api/v1/tasks/claim", headers=headers, json={}).get_json()  # the one held
        assert claimed["patient"]["call_phone"] == mask_phone(patient.call_phone)
        response = client.post(f"/api/v1/tasks/{claimed['id']}/call", headers=headers)
        assert response.status_code == 201 and response.get_json()["status"] in ("requested", "ringing")
        (bridge,) = _bridges()
        assert (bridge.patient_id, bridge.task_id, bridge.user_id) == (patient.id, claimed["id"], volunteer.id)
        # A call the volunteer does not hold: refused, nothing asked of the provider.
        assert client.post(f"/api/v1/tasks/{other_task.id}/call", headers=headers).status_code == 403
        assert len(_bridges()) == 1
    finally:
        app.config.clear()
        app.config.update(saved)


def test_a_volunteer_rings_only_the_patient_of_the_call_they_hold(app, client, login, district):
    saved = dict(app.config)
    app.config["CLICK_TO_CALL_BACKEND"] = "console"
    try:
        patient, stranger = make_patient(district), make_patient(district)
        make_task(patient)
        login(_volunteer(district))
        url, page, _fields = take_call(client)
        assert _call(client, url, page, patient_id=stranger.id).status_code == 400  # not this call's patient
        response = _call(client, url, page, patient_id=stranger.id, task_id="")  # nor without a call
        assert response.status_code == 302 and _bridges() == []
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "You can call only the patient of the call you hold." in page
    finally:
        app.config.clear()
        app.config.update(saved)
