"""POST /twilio/sms end to end: real signatures, TwiML replies, STOP/START/HELP, unknown and shared numbers,
and Twilio's retries (one MessageSid, one record)."""
import threading
from datetime import datetime

import pytest

from callcenter import create_app
from callcenter.extensions import db
from callcenter.models import AuditLog, CheckIn, Escalation, Household, InboundMessage, Patient
from callcenter.services.checkins import inbound

from ..factories import make_patient
from .inbound_helpers import BASE, TOKEN, sign, signed_post, sms_params, twilio_token, xml  # noqa: F401

pytestmark = pytest.mark.usefixtures("twilio_token")  # a configured auth token, for every test
PHONE = "+919826012345"


@pytest.fixture
def patient(district):
    return make_patient(district, name="Asha Verma", phone_number=PHONE)


def reply_text(response):
    root = xml(response)
    assert root.tag == "Response"
    messages = root.findall("Message")
    assert len(messages) <= 1
    return messages[0].text if messages else None


def messages():
    return db.session.scalars(db.select(InboundMessage).order_by(InboundMessage.id)).all()


def checkins():
    return db.session.scalars(db.select(CheckIn)).all()


# --- signatures ------------------------------------------------------------------------------------

def test_a_signed_request_is_answered(client, patient):
    response = signed_post(client, "/twilio/sms", sms_params("1", PHONE))
    assert reply_text(response) == "Sampark: thank you, your check-in is recorded. Take care."
    [checkin] = checkins()
    assert (checkin.patient_id, checkin.channel, checkin.feeling_ok, checkin.raw) == (patient.id, "sms", True, "1")


def test_a_forged_signature_is_refused(client, patient):
    params = sms_params("4", PHONE)
    response = client.post("/twilio/sms", data=params,
                           headers={"X-Twilio-Signature": sign(BASE + "/twilio/sms", params, token="not-the-token")})
    assert response.status_code == 403
    assert messages() == [] and db.session.scalars(db.select(Escalation)).all() == []


def test_a_missing_signature_is_refused(client, patient):
    assert client.post("/twilio/sms", data=sms_params("4", PHONE)).status_code == 403
    assert messages() == []


def test_a_signature_for_another_url_is_refused(client, patient):
    params = sms_params("4", PHONE)
    for url in ("https://localhost/twilio/sms", "http://localhost/twilio/voice", "http://evil.example/twilio/sms"):
        assert signed_post(client, "/twilio/sms", params, url=url).status_code == 403, url
    assert messages() == []


def test_changed_parameters_break_the_signature(client, patient):
    params = sms_params("1", PHONE)
    signature = sign(BASE + "/twilio/sms", params)
    tampered = dict(params, Body="4")
    response = client.post("/twilio/sms", data=tampered, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403


def test_without_an_auth_token_every_webhook_is_refused(client, app, monkeypatch, patient):
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", "")
    params = sms_params("1", PHONE)
    for token in ("", TOKEN):
        response = client.post("/twilio/sms", data=params,
                               headers={"X-Twilio-Signature": sign(BASE + "/twilio/sms", params, token=token)})
        assert response.status_code == 403
    assert messages() == []


PUBLIC = "https://sampark.example.gov.in"
FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "sampark.example.gov.in", "X-Forwarded-For": "1.2.3.4"}


def test_behind_a_reverse_proxy_with_trusted_hops(app, patient):
    """Twilio signed the public https URL; the proxy passes the request on over http with X-Forwarded-*."""
    proxied = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                         TRUST_PROXY_HOPS=1, TWILIO_AUTH_TOKEN=TOKEN)
    try:
        params = sms_params("1", PHONE)
        signature = sign(PUBLIC + "/twilio/sms", params)
        headers = {"X-Twilio-Signature": signature, **FORWARDED}
        response = proxied.test_client().post("/twilio/sms", data=params, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert len(checkins()) == 1
        # Without the trusted hop, the same request looks like http://localhost and fails the check.
        unproxied = app.test_client().post("/twilio/sms", data=dict(params, MessageSid="SM2"),
                                           headers={"X-Twilio-Signature": sign(PUBLIC + "/twilio/sms",
                                                                               dict(params, MessageSid="SM2")),
                                                    **FORWARDED})
        assert unproxied.status_code == 403
    finally:
        with proxied.app_context():
            db.engine.dispose()


def test_behind_a_reverse_proxy_with_webhook_base_url(client, app, monkeypatch, patient):
    monkeypatch.setitem(app.config, "WEBHOOK_BASE_URL", PUBLIC + "/")
    params = sms_params("1", PHONE)
    assert signed_post(client, "/twilio/sms", params, url=PUBLIC + "/twilio/sms").status_code == 200
    # what the app sees locally is not what Twilio signed
    assert signed_post(client, "/twilio/sms", dict(params, MessageSid="SM2")).status_code == 403


def test_webhooks_need_no_csrf_token_but_other_posts_do(client, patient):
    assert signed_post(client, "/twilio/sms", sms_params("1", PHONE)).status_code == 200


# --- replies ---------------------------------------------------------------------------------------

def test_a_need_is_passed_on_and_said_so(client, patient):
    text = reply_text(signed_post(client, "/twilio/sms", sms_params("2 spo2 96", PHONE)))
    assert text == "Sampark: thank you. We have passed on your request (medicine); you will get a call."
    [esc] = db.session.scalars(db.select(Escalation)).all()
    assert (esc.kind, esc.desk, esc.severity) == ("medicine", "control_room", "routine")
    [message] = messages()
    assert (message.status, message.patient_id, message.checkin_id) == ("checked_in", patient.id, checkins()[0].id)


def test_a_warning_sign_by_sms_is_an_emergency(client, patient):
    text = reply_text(signed_post(client, "/twilio/sms", sms_params("SPO2 91", PHONE)))
    assert "emergency control room" in text and "108" in text
    [esc] = db.session.scalars(db.select(Escalation)).all()
    assert (esc.kind, esc.severity, esc.reasons) == ("warning_sign", "emergency", [["spo2", 91]])


def test_replies_are_in_the_patients_language(client, district):
    hindi = make_patient(district, phone_number=PHONE)
    hindi.language = "hi"
    db.session.commit()
    assert reply_text(signed_post(client, "/twilio/sms", sms_params("ठीक हूँ", PHONE))) == \
        "संपर्क: धन्यवाद, आपकी जानकारी दर्ज हो गई है। अपना ध्यान रखें।"
    text = reply_text(signed_post(client, "/twilio/sms", sms_params("blah", PHONE, sid="SM2")))
    assert text.startswith("संपर्क: क्षमा करें") and "1 ठीक हूँ" in text


def test_not_understood_gets_help_and_is_kept_for_a_volunteer(client, patient):
    text = reply_text(signed_post(client, "/twilio/sms", sms_params("kal baat karenge", PHONE)))
    assert text.startswith("Sampark: sorry, we did not understand.") and "Reply 1 fine, 2 medicine" in text
    [message] = messages()
    assert (message.status, message.patient_id, message.checkin_id) == ("not_understood", patient.id, None)
    assert checkins() == []
    assert message in inbound.inbox(make_nodal(patient))


def test_an_out_of_range_reading_says_the_range(client, patient):
    text = reply_text(signed_post(client, "/twilio/sms", sms_params("SPO2 40", PHONE)))
    assert "SpO2 must be 50-100, temperature 93-108 F." in text
    assert checkins() == [] and messages()[0].parsed["rejected"] == [["spo2", 40]]


def test_partly_understood_is_recorded_and_also_kept(client, patient):
    text = reply_text(signed_post(client, "/twilio/sms", sms_params("ambulance please my father", PHONE)))
    assert text.endswith("A volunteer will also read your message.")
    [message] = messages()
    assert message.status == "not_understood" and message.checkin_id is not None
    assert db.session.scalar(db.select(Escalation.kind)) == "ambulance"


# --- STOP / START / HELP ----------------------------------------------------------------------------

def test_stop_start_help(client, patient):
    text = reply_text(signed_post(client, "/twilio/sms", sms_params("STOP", PHONE, sid="SM1")))
    assert text == "Sampark: you will get no more SMS from us. Send START to get them again."
    assert db.session.get(Patient, patient.id).sms_opt_out is True
    # an opted-out patient's check-in is still recorded, but gets no SMS back
    assert reply_text(signed_post(client, "/twilio/sms", sms_params("1", PHONE, sid="SM2"))) is None
    assert len(checkins()) == 1
    assert "Reply 1 fine" in reply_text(signed_post(client, "/twilio/sms", sms_params("help", PHONE, sid="SM3")))
    text = reply_text(signed_post(client, "/twilio/sms", sms_params("शुरू", PHONE, sid="SM4")))
    assert text == "Sampark: your SMS are on again. Send HELP for the menu."
    assert db.session.get(Patient, patient.id).sms_opt_out is False
    assert [m.status for m in messages()] == ["keyword", "checked_in", "keyword", "keyword"]
    actions = db.session.scalars(db.select(AuditLog.action).where(AuditLog.entity == "patient")).all()
    assert actions == ["patient.sms_opt_out", "patient.sms_opt_in"]


def test_stop_applies_to_everyone_on_the_number(client, district):
    one = make_patient(district, name="A", phone_number=PHONE)
    two = make_patient(district, name="B", phone_number=PHONE)
    signed_post(client, "/twilio/sms", sms_params("stop", PHONE))
    assert db.session.get(Patient, one.id).sms_opt_out and db.session.get(Patient, two.id).sms_opt_out


# --- who sent it ------------------------------------------------------------------------------------

def test_an_unknown_number_is_kept_and_never_attached(client, patient):
    text = reply_text(signed_post(client, "/twilio/sms", sms_params("4 ambulance", "+919811111111")))
    assert "could not find your number" in text and "108" in text
    [message] = messages()
    assert (message.status, message.patient_id, message.checkin_id) == ("unknown_sender", None, None)
    assert message.parsed["needs"] == ["ambulance"]
    assert checkins() == [] and db.session.scalars(db.select(Escalation)).all() == []
    assert message in inbound.inbox(make_nodal(patient))


def test_a_foreign_unknown_number_is_kept_too(client, patient):
    reply_text(signed_post(client, "/twilio/sms", sms_params("hello", "+15005550006")))
    assert messages()[0].from_phone == "+15005550006"


def test_a_number_shared_by_unrelated_patients_is_not_guessed(client, district):
    one = make_patient(district, name="A", phone_number=PHONE)
    two = make_patient(district, name="B", phone_number=PHONE)
    reply_text(signed_post(client, "/twilio/sms", sms_params("SPO2 90", PHONE)))
    [message] = messages()
    assert (message.status, message.patient_id) == ("unknown_sender", None)
    assert message.parsed["matches"] == [one.id, two.id]
    assert checkins() == []


def test_a_households_shared_phone_is_recorded_against_the_household(client, district):
    household = Household(district_id=district.id, phone=PHONE, created_at=datetime(2021, 5, 1))
    db.session.add(household)
    db.session.commit()
    first = make_patient(district, name="A", phone_number=PHONE, household_id=household.id)
    make_patient(district, name="B", phone_number=PHONE, household_id=household.id)
    text = reply_text(signed_post(client, "/twilio/sms", sms_params("4", PHONE)))
    assert "emergency control room" in text
    [message] = messages()
    assert (message.status, message.patient_id) == ("checked_in", first.id)
    assert message.parsed["shared_phone"] is True and message.parsed["household_id"] == household.id
    assert db.session.scalar(db.select(Escalation.patient_id)) == first.id
    # still in the inbox, for a volunteer to confirm who it was about
    assert message in inbound.inbox(make_nodal(first))


def test_an_attendants_phone_is_kept_as_unknown(client, district):
    make_patient(district, setting="hospital", attendant_phone=PHONE)  # check-in SMS go to the patient's phone
    signed_post(client, "/twilio/sms", sms_params("2", PHONE))
    assert messages()[0].status == "unknown_sender" and checkins() == []


def test_a_patient_no_longer_followed_is_unknown(client, district):
    make_patient(district, phone_number=PHONE, status="recovered")
    signed_post(client, "/twilio/sms", sms_params("1", PHONE))
    assert messages()[0].status == "unknown_sender"


# --- Twilio retries ---------------------------------------------------------------------------------

def test_the_same_message_sid_twice_records_once(client, patient):
    first = reply_text(signed_post(client, "/twilio/sms", sms_params("3", PHONE)))
    again = reply_text(signed_post(client, "/twilio/sms", sms_params("3", PHONE)))
    assert first == again
    assert len(messages()) == 1 and len(checkins()) == 1
    assert len(db.session.scalars(db.select(Escalation)).all()) == 1


def test_a_twin_that_slips_past_the_check_is_caught_by_the_unique_index(client, patient, monkeypatch):
    reply_text(signed_post(client, "/twilio/sms", sms_params("3", PHONE)))
    real_find, calls = inbound.message_for, []

    def missed_once(sid):  # the twin request's first look happens before the first one commits
        calls.append(sid)
        return None if len(calls) == 1 else real_find(sid)

    monkeypatch.setattr(inbound, "message_for", missed_once)
    assert reply_text(signed_post(client, "/twilio/sms", sms_params("3", PHONE))).startswith("Sampark: thank you.")
    assert len(calls) == 2  # it went on, hit the unique index, and answered from the stored message
    assert len(messages()) == 1 and len(checkins()) == 1


def test_simultaneous_twins_record_once(app, patient, is_postgres):
    if not is_postgres:
        pytest.skip("needs PostgreSQL: SQLite serialises every writer")
    n, results, errors = 8, [], []
    barrier = threading.Barrier(n)

    def twin():
        with app.app_context():
            try:
                barrier.wait()
                results.append(inbound.receive_sms("SMtwin", PHONE, "", "4 spo2 90").created)
            except Exception as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=twin) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == [] and sorted(results) == [False] * (n - 1) + [True]
    assert len(messages()) == 1 and len(checkins()) == 1
    assert len(db.session.scalars(db.select(Escalation)).all()) == 1


def make_nodal(patient):
    from ..factories import make_user
    return make_user("nodal_officer", patient.district)


def test_a_message_without_a_sid_is_a_bad_request(client):
    params = {"From": PHONE, "Body": "1"}
    assert signed_post(client, "/twilio/sms", params).status_code == 400
