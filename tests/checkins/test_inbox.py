"""The inbox: what a volunteer must read, by district; mark handled; queue a call; the console's
"simulate reply" (the same path as /twilio/sms)."""
from datetime import datetime

import pytest

from callcenter.extensions import db
from callcenter.models import AuditLog, CallTask, CheckIn, Household, InboundMessage
from callcenter.services.checkins import inbound

from ..conftest import csrf_token
from ..factories import make_district, make_patient, make_user

PHONE = "+919826012345"


@pytest.fixture
def patient(district):
    return make_patient(district, name="Asha Verma", phone_number=PHONE)


def receive(body, phone=PHONE, sid=None):
    return inbound.receive_sms(sid or f"SM{body}{phone}", phone, "", body).message


def page(client, show=None):
    response = client.get("/inbox" + ("?show=all" if show else ""))
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize("role,status", [("volunteer", 200), ("nodal_officer", 200), ("admin", 200),
                                         ("control_room", 403), ("doctor", 403), ("counsellor", 403)])
def test_who_reads_the_inbox(client, login, district, role, status):
    login(make_user(role, district))
    assert client.get("/inbox").status_code == status


def test_anonymous_users_sign_in_first(client):
    response = client.get("/inbox")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_what_needs_a_look(client, login, district, patient):
    understood = receive("1")
    garbled = receive("kal baat karenge")
    stranger = receive("4 ambulance", phone="+919811111111")
    stop = receive("STOP")
    login(make_user("volunteer", district))
    html = page(client)
    assert f'id="message-{garbled.id}"' in html and f'id="message-{stranger.id}"' in html
    assert f'id="message-{understood.id}"' not in html and f'id="message-{stop.id}"' not in html
    assert "unknown number" in html and "Asha Verma" in html
    assert 'class="table-danger" id="message-%d"' % stranger.id in html  # an unknown sender asking for an ambulance
    login(make_user("nodal_officer", district))  # every message: officers only (tests/security)
    everything = page(client, show="all")
    assert all(f'id="message-{m.id}"' in everything for m in (understood, garbled, stranger, stop))


def test_a_district_sees_its_patients_and_every_unknown_sender(client, login, district, patient):
    other = make_district()
    theirs = make_patient(other, phone_number="+919822222222")
    mine = receive("???")
    not_mine = receive("???", phone=theirs.phone)
    stranger = receive("???", phone="+919811111111")
    login(make_user("volunteer", district))
    html = page(client)
    assert f'id="message-{mine.id}"' in html and f'id="message-{stranger.id}"' in html
    assert f'id="message-{not_mine.id}"' not in html
    token = csrf_token(client, "/inbox")
    assert client.post(f"/inbox/{not_mine.id}/handled", data={"csrf_token": token}).status_code == 404


def test_mark_handled(client, login, district, patient):
    message = receive("kal baat karenge")
    volunteer = make_user("volunteer", district)
    login(volunteer)
    response = client.post(f"/inbox/{message.id}/handled", data={"csrf_token": csrf_token(client, "/inbox")})
    assert response.status_code == 302
    message = db.session.get(InboundMessage, message.id)
    assert (message.status, message.handled_by_id) == ("read", volunteer.id) and message.handled_at is not None
    assert message.parsed["status_before"] == "not_understood"
    assert db.session.scalar(db.select(AuditLog.user_id).where(AuditLog.action == "sms.handled")) == volunteer.id
    assert f'id="message-{message.id}"' not in page(client)
    # without the form's CSRF token nothing happens
    other = receive("???", sid="SM-other")
    client.post(f"/inbox/{other.id}/handled")
    assert db.session.get(InboundMessage, other.id).handled_at is None


def test_a_households_message_stays_until_someone_checks_who(client, login, district):
    household = Household(district_id=district.id, phone=PHONE, created_at=datetime(2021, 5, 1))
    db.session.add(household)
    db.session.commit()
    make_patient(district, name="A", phone_number=PHONE, household_id=household.id)
    make_patient(district, name="B", phone_number=PHONE, household_id=household.id)
    message = receive("1")
    assert message.status == "checked_in"
    login(make_user("volunteer", district))
    assert "shared household phone: check who" in page(client)
    inbound.mark_handled(message.id, make_user("nodal_officer", district))
    assert f'id="message-{message.id}"' not in page(client)


def test_queue_a_call_for_the_sender(client, login, district, patient):
    message = receive("kal baat karenge")
    login(make_user("volunteer", district))
    client.post(f"/inbox/{message.id}/call", data={"csrf_token": csrf_token(client, "/inbox")})
    [task] = db.session.scalars(db.select(CallTask)).all()
    assert (task.patient_id, task.status, task.reason) == (patient.id, "pending", "inbox")


def test_simulate_a_reply_goes_through_the_same_parser_and_service(client, login, district, patient):
    login(make_user("nodal_officer", district))
    html = page(client)
    assert "Simulate a reply" in html
    response = client.post("/inbox/simulate", data={"csrf_token": csrf_token(client, "/inbox"),
                                                    "from_phone": "98260 12345", "body": "2 spo2 96"},
                           follow_redirects=True)
    assert "Reply: Sampark: thank you. We have passed on your request (medicine)" in response.get_data(as_text=True)
    [checkin] = db.session.scalars(db.select(CheckIn)).all()
    assert (checkin.patient_id, checkin.channel, checkin.spo2) == (patient.id, "sms", 96)
    message = db.session.scalar(db.select(InboundMessage))
    assert message.provider_sid.startswith("SIM") and message.from_phone == PHONE


def test_only_officers_simulate_and_only_with_the_console_backend(client, login, app, district, patient, monkeypatch):
    login(make_user("volunteer", district))
    assert "Simulate a reply" not in page(client)
    token = csrf_token(client, "/inbox")
    simulated = client.post("/inbox/simulate", data={"csrf_token": token, "from_phone": PHONE, "body": "1"})
    assert simulated.status_code == 403
    client.post("/logout", data={"csrf_token": token})
    login(make_user("admin"))
    monkeypatch.setitem(app.config, "MESSAGING_BACKEND", "twilio")
    assert "Simulate a reply" not in page(client)
    client.post("/inbox/simulate", data={"csrf_token": csrf_token(client, "/inbox"), "from_phone": PHONE,
                                         "body": "1"})
    assert db.session.scalars(db.select(InboundMessage)).all() == []


@pytest.mark.parametrize("language", ["en", "hi"])
def test_the_inbox_renders_in_both_languages(client, login, district, patient, language):
    receive("kal baat karenge")
    receive("SPO2 40", sid="SM2")
    login(make_user("nodal_officer", district, language=language))
    assert f'<html lang="{language}">' in page(client, show="all")
