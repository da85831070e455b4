"""The IVR check-in through Exotel (the same questions and escalations as the Twilio IVR, from one definition) and
the missed-call check-in, end to end over real HTTP with the fake Exotel running the flow."""
from datetime import timedelta

from callcenter.checkins import texts
from callcenter.extensions import db
from callcenter.models import CheckIn, Escalation, InboundMessage, IvrCall, OutboundMessage
from callcenter.services.outbox.enqueue import enqueue_daily_checkins
from callcenter.services.outbox.sender import send_pending

from ..checkins.outbox_helpers import DAY, NOW, FakeClock, at, messages
from ..exotel_fake import APP_ID, EXOPHONE, SID
from ..factories import make_patient


def _send(now_fn=at()):
    return send_pending(clock=FakeClock(), now_fn=now_fn)


def _ivr_call(district, exotel):
    patient = make_patient(district, checkin_channel="ivr")
    enqueue_daily_checkins(DAY, now=NOW)
    assert _send()["sent"] == 1
    (call,) = exotel.sent
    return patient, call


def test_the_outbox_starts_the_ivr_flow_with_the_patient(district, exotel):
    patient, call = _ivr_call(district, exotel)
    m = messages()[0]
    p = call.params
    assert (p["From"], p["CallerId"], p["CustomField"]) == (patient.phone, EXOPHONE, f"m={m.id}")
    assert p["Url"] == f"http://my.exotel.com/{SID}/exoml/start_voice/{APP_ID}"
    assert (m.status, m.provider, m.provider_sid) == ("sent", "exotel", call.sid)


def test_a_low_spo2_pressed_on_an_exotel_call_raises_the_same_emergency_as_the_twilio_ivr(district, exotel):
    patient, call = _ivr_call(district, exotel)
    spoken = exotel.run_flow(call, ["2", "88"])
    en = texts.IVR["en"]
    assert spoken == [f"{en['greeting']} {en['feeling']}", en["spo2"], en["emergency"]]
    [esc] = db.session.scalars(db.select(Escalation)).all()
    assert (esc.kind, esc.severity, esc.reasons, esc.source) == ("warning_sign", "emergency", [["spo2", 88]], "checkin")
    checkin = db.session.scalar(db.select(CheckIn))
    assert (checkin.patient_id, checkin.spo2, checkin.feeling_ok, checkin.channel) == (patient.id, 88, False, "ivr")
    assert db.session.scalar(db.select(IvrCall)).message_id == messages()[0].id
    exotel.finish(call, "completed", duration=40)
    assert messages()[0].status == "delivered"


def test_every_answer_of_a_full_check_in(district, exotel):
    _patient, call = _ivr_call(district, exotel)
    spoken = exotel.run_flow(call, ["1", "97", "986#", "0"])
    assert spoken[-1] == texts.IVR["en"]["thanks"]
    checkin = db.session.scalar(db.select(CheckIn))
    assert (checkin.feeling_ok, checkin.spo2, checkin.temperature_f) == (True, 97, 98.6)


def test_a_retried_answer_is_not_read_as_the_next_question_s(district, exotel):
    _patient, call = _ivr_call(district, exotel)
    exotel._applet("gather", call.sid, call.params["From"], custom=call.params["CustomField"])
    for _ in range(2):  # Exotel retries the Passthru it got no answer to in time
        answer = exotel._applet("answer", call.sid, call.params["From"], {"digits": '"2"'},
                                custom=call.params["CustomField"])
        assert answer.status_code == 200
    db.session.expire_all()
    ivr_call = db.session.scalar(db.select(IvrCall))
    assert (ivr_call.step, ivr_call.retries, ivr_call.answers["feeling"]) == ("spo2", 0, False)


def test_the_flow_refuses_a_request_without_the_secret(client, district, exotel):
    _patient, call = _ivr_call(district, exotel)
    response = client.get("/exotel/wrong/ivr/gather", query_string={"CallSid": call.sid})
    assert response.status_code == 403 and db.session.scalar(db.select(IvrCall)) is None


def _call_backs():
    db.session.expire_all()
    return db.session.scalars(db.select(OutboundMessage).where(OutboundMessage.idempotency_key.like("missed:%"))
                              .order_by(OutboundMessage.id)).all()


def test_a_missed_call_from_a_patient_is_returned_once_an_hour(district, exotel):
    patient = make_patient(district)  # checks in by SMS link: a missed call asks for a call all the same
    assert exotel.missed_call(patient.phone).status_code == 200
    (back,) = _call_backs()
    assert (back.patient_id, back.kind, back.to_phone, back.status) == (patient.id, "call", patient.phone, "queued")
    # the outbox calls within its next pass (every 30 s), into the same IVR flow
    send_pending(clock=FakeClock(), now_fn=lambda: back.next_attempt_at + timedelta(seconds=1))
    (call,) = exotel.sent
    assert (call.params["From"], call.params["CustomField"]) == (patient.phone, f"m={back.id}")
    # more missed calls within the hour: no second call back
    exotel.missed_call(patient.phone)
    exotel.missed_call(patient.phone)
    assert len(_call_backs()) == 1


def test_a_missed_call_from_an_unknown_number_is_kept_for_the_control_room(client, login, district, exotel):
    from ..factories import make_user
    response = exotel.missed_call("+919812300000")
    assert response.status_code == 200 and _call_backs() == []
    (kept,) = db.session.scalars(db.select(InboundMessage)).all()
    assert (kept.status, kept.patient_id, kept.parsed) == ("unknown_sender", None, {"missed_call": True})
    login(make_user("volunteer", district))  # the inbox, where an SMS from an unknown number waits too
    page = client.get("/inbox").get_data(as_text=True)
    assert "Missed call" in page


def test_a_missed_call_without_the_secret_changes_nothing(client, district, exotel):
    patient = make_patient(district)
    response = client.get("/exotel/wrong/missed", query_string={"CallSid": "x1", "CallFrom": patient.phone})
    assert response.status_code == 403 and _call_backs() == []


def test_the_rate_limit_is_an_hour_per_patient(district):
    from callcenter.services.checkins import missed_calls
    a, b = make_patient(district), make_patient(district)
    assert missed_calls.receive("c1", a.phone, now=NOW) == "called_back"
    assert missed_calls.receive("c2", b.phone, now=NOW) == "called_back"  # another patient: their own hour
    assert missed_calls.receive("c3", a.phone, now=NOW + timedelta(minutes=59)) == "rate_limited"
    assert missed_calls.receive("c4", a.phone, now=NOW + timedelta(minutes=61)) == "called_back"
    assert len(_call_backs()) == 3
