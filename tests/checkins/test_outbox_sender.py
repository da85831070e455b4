"""The sender: at most once to the provider, even across crashes; rate-limited; retried with back-off;
stopped for opt-outs, invalid numbers and patients no longer followed up."""
from datetime import timedelta

import pytest

from callcenter.extensions import db
from callcenter.gateway import OutcomeUnknown, PermanentError, RetryableError
from callcenter.gateway.twilio_backend import TwilioGateway
from callcenter.models import Escalation, Patient
from callcenter.services.checkins import links as checkin_links
from callcenter.services.outbox import messages as outbox_messages
from callcenter.services.outbox import sender as outbox_sender
from callcenter.services.outbox.enqueue import enqueue_daily_checkins, enqueue_sms
from callcenter.services.outbox.sender import TokenBucket, send_pending
from callcenter.services.outbox.status import resolve

from ..factories import make_district, make_patient, make_user
from ..gateway.test_twilio_backend import CONFIG as TWILIO_CONFIG
from ..gateway.test_twilio_backend import FakeHttp, error, ok
from ..gateway.test_twilio_backend import message as twilio_message
from .outbox_helpers import (  # noqa: F401  (config: a fixture)
    DAY,
    NOW,
    FakeClock,
    FakeGateway,
    at,
    config,
    messages,
)


class ProcessDied(Exception):
    """Stands in for the sender process being killed at a chosen line."""


def send(gateway, now_fn=at(), clock=None, **kwargs):
    return send_pending(gateway, clock=clock or FakeClock(), now_fn=now_fn, **kwargs)


def test_a_pass_sends_each_message_once(district):
    ivr = make_patient(district, checkin_channel="ivr")
    sms = make_patient(district)
    enqueue_daily_checkins(DAY, now=NOW)
    gateway = FakeGateway()

    counts = send(gateway)

    assert counts["sent"] == 2 and counts["handed"] == 2
    call, text = sorted(gateway.handed, key=lambda h: h.kind)
    by_patient = {m.patient_id: m for m in messages()}
    m_call, m_sms = by_patient[ivr.id], by_patient[sms.id]
    # the IVR flow and the status callback both name our message: a lost answer can still be matched
    assert call.content == f"http://127.0.0.1:5000/twilio/voice?m={m_call.id}"
    assert call.status_callback == f"http://127.0.0.1:5000/twilio/status?m={m_call.id}"
    assert text.content.startswith("Sampark") and text.status_callback.endswith(f"/twilio/status?m={m_sms.id}")
    for m, handed in ((m_call, call), (m_sms, text)):
        assert (m.status, m.provider, m.provider_sid, m.tries, m.sent_at, m.claimed_at) == (
            "sent", "fake", handed.sid, 1, NOW, NOW)
    assert send(gateway)["handed"] == 0  # nothing is sent twice
    assert len(gateway.handed) == 2


def test_a_link_token_is_made_only_when_sent_and_forgotten_then(district):
    patient = make_patient(district)
    enqueue_daily_checkins(DAY, now=NOW)
    token = checkin_links.seeded_token(messages()[0].params["seed"])
    gateway = FakeGateway()
    send(gateway)
    assert token in gateway.handed[0].content  # the provider gets the working link …
    m = messages()[0]
    assert token not in m.body and m.params == {}  # … our copy keeps the placeholder, the seed is gone
    assert checkin_links.find(token).patient_id == patient.id  # only its hash stays in the database


def test_the_console_shows_the_text_with_the_token_masked(district):
    make_patient(district)
    enqueue_daily_checkins(DAY, now=NOW)
    token = checkin_links.seeded_token(messages()[0].params["seed"])
    send_pending(clock=FakeClock(), now_fn=at())  # the configured (console) backend
    m = messages()[0]
    assert (m.status, m.provider) == ("sent", "console") and token not in m.body and "/c/…" in m.body


def test_a_token_queued_before_seeds_is_sent_as_it_was_and_then_masked(district):
    patient = make_patient(district)
    token, _url = checkin_links.issue(patient, now=NOW)
    enqueue_sms("legacy", patient.phone, "checkin_link", "en", now=NOW, patient_id=patient.id, token=token)
    db.session.commit()
    gateway = FakeGateway()
    send(gateway)
    assert token in gateway.handed[0].content
    m = messages()[0]
    assert token not in m.body and m.params == {"token": "…"}


def test_crash_after_the_provider_took_it_never_sends_again(district, monkeypatch):
    make_patient(district)
    enqueue_daily_checkins(DAY, now=NOW)
    gateway = FakeGateway()

    def killed(*args, **kwargs):
        raise ProcessDied("killed after the provider answered, before the answer was saved")

    monkeypatch.setattr(outbox_messages, "record_result", killed)
    with pytest.raises(ProcessDied):
        send(gateway)
    monkeypatch.undo()
    assert len(gateway.handed) == 1
    assert messages()[0].status == "sending"

    # the next passes leave it alone while its sender might still be at work
    send(gateway, now_fn=at(minutes=5))
    assert len(gateway.handed) == 1 and messages()[0].status == "sending"

    # then it is looked up in the provider's records, found, and recorded as sent: never handed over twice
    counts = send(gateway, now_fn=at(minutes=11))
    assert (counts["stalled"], counts["found"], counts["handed"]) == (1, 1, 0)
    m = messages()[0]
    assert (m.status, m.provider_sid) == ("sent", gateway.handed[0].sid)
    send(gateway, now_fn=at(minutes=30))
    assert len(gateway.handed) == 1


def test_crash_before_the_provider_call_is_sent_once_the_provider_confirms_it_has_none(district, monkeypatch):
    make_patient(district)
    enqueue_daily_checkins(DAY, now=NOW)
    gateway = FakeGateway()

    def killed(*args, **kwargs):
        raise ProcessDied("killed after the claim, before the provider was called")

    monkeypatch.setattr(outbox_sender, "send_one", killed)
    with pytest.raises(ProcessDied):
        send(gateway)
    monkeypatch.undo()
    assert (messages()[0].status, gateway.handed) == ("sending", [])

    send(gateway, now_fn=at(minutes=5))
    assert gateway.handed == []  # not yet: its sender might still be calling the provider

    counts = send(gateway, now_fn=at(minutes=11))
    assert (counts["stalled"], counts["requeued"], counts["sent"]) == (1, 1, 1)
    assert len(gateway.handed) == 1
    m = messages()[0]
    assert (m.status, m.tries) == ("sent", 2)


def test_when_the_provider_cannot_tell_the_message_waits_for_a_person(district, monkeypatch, client, login):
    make_patient(district)
    enqueue_daily_checkins(DAY, now=NOW)
    gateway = FakeGateway()
    monkeypatch.setattr(outbox_sender, "send_one", lambda *a, **k: (_ for _ in ()).throw(ProcessDied()))
    with pytest.raises(ProcessDied):
        send(gateway)
    monkeypatch.undo()
    gateway.cannot_tell = True
    for minutes in (11, 20, 60, 120):
        counts = send(gateway, now_fn=at(minutes=minutes))
        assert counts["handed"] == 0
    m = messages()[0]
    assert m.status == "unknown" and "cannot tell" in m.last_error
    assert gateway.handed == []

    # the nodal officer checks the provider's console and sends it again
    nodal = make_user("nodal_officer", district)
    assert resolve(m.id, "resend", nodal, now=NOW + timedelta(hours=2)) is not None
    send(gateway, now_fn=at(minutes=121))
    assert len(gateway.handed) == 1 and messages()[0].status == "sent"


def test_an_answer_lost_in_transit_is_reconciled_not_resent(district):
    make_patient(district)
    enqueue_daily_checkins(DAY, now=NOW)
    gateway = FakeGateway()
    # the provider took it, but its answer never arrived (read timeout)
    real_take = gateway._take

    def took_then_lost(*args):
        real_take(*args)
        raise OutcomeUnknown("read timed out")

    gateway._take = took_then_lost
    assert send(gateway)["unknown"] == 1
    gateway._take = real_take
    assert messages()[0].status == "unknown"
    send(gateway, now_fn=at(seconds=30))  # too soon to look it up
    assert messages()[0].status == "unknown"
    counts = send(gateway, now_fn=at(seconds=61))
    assert counts["found"] == 1 and len(gateway.handed) == 1
    assert (messages()[0].status, messages()[0].provider_sid) == ("sent", gateway.handed[0].sid)


def test_an_unexpected_error_in_a_backend_is_treated_as_unknown(district):
    make_patient(district)
    enqueue_daily_checkins(DAY, now=NOW)
    gateway = FakeGateway()
    gateway.errors = [ValueError("a bug after the request went out, perhaps")]
    assert send(gateway)["unknown"] == 1
    assert messages()[0].status == "unknown"


def test_retryable_errors_back_off_then_fail_after_the_last_try(district, config):  # noqa: F811
    config["OUTBOX_MAX_TRIES"] = 3
    make_patient(district)
    enqueue_daily_checkins(DAY, now=NOW)
    gateway = FakeGateway()
    gateway.errors = [RetryableError("Twilio 20429: too many requests", 20429)] * 3

    assert send(gateway)["retried"] == 1
    m = messages()[0]
    assert (m.status, m.tries, m.next_attempt_at) == ("queued", 1, NOW + timedelta(seconds=60))
    assert "20429" in m.last_error
    assert send(gateway, now_fn=at(seconds=59))["handed"] == 0  # not before its time
    assert send(gateway, now_fn=at(seconds=60))["retried"] == 1
    assert messages()[0].next_attempt_at == NOW + timedelta(seconds=60 + 120)  # doubled
    assert send(gateway, now_fn=at(seconds=180))["failed"] == 1
    m = messages()[0]
    assert (m.status, m.tries) == ("failed", 3)
    assert gateway.handed == []


def test_a_retry_that_succeeds(district):
    make_patient(district)
    enqueue_daily_checkins(DAY, now=NOW)
    gateway = FakeGateway()
    gateway.errors = [RetryableError("503 service unavailable", 503)]
    send(gateway)
    send(gateway, now_fn=at(seconds=60))
    m = messages()[0]
    assert (m.status, m.tries, m.last_error) == ("sent", 2, "")
    assert len(gateway.handed) == 1


def test_an_invalid_number_fails_and_is_marked(district):
    patient = make_patient(district, checkin_channel="ivr")
    enqueue_daily_checkins(DAY, now=NOW)
    enqueue_sms("extra:1", patient.phone, "checkin_reply", "en", now=NOW, patient_id=patient.id)
    db.session.commit()
    gateway = FakeGateway()
    gateway.errors = [PermanentError("Twilio 21211: invalid 'To' number", 21211, reason="invalid_number")]

    counts = send(gateway)

    assert (counts["failed"], counts.get("sent", 0)) == (1, 0)
    first, second = messages()
    assert first.status == "failed" and "21211" in first.last_error
    assert (second.status, second.last_error) == ("cancelled", "phone number invalid")  # the next one stops
    assert db.session.get(Patient, patient.id).phone_invalid
    esc = db.session.scalar(db.select(Escalation))
    assert (esc.kind, esc.desk, esc.patient_id) == ("phone_check", "control_room", patient.id)


def test_through_the_twilio_backend(district):
    """The real Twilio client (its requests answered by a fake HTTP client): one sent, one invalid number."""
    good = make_patient(district, checkin_channel="sms_reply")
    bad = make_patient(district, checkin_channel="sms_reply")
    enqueue_daily_checkins(DAY, now=NOW)
    replies = {good.phone: ok(twilio_message(sid="SM" + "7" * 32)), bad.phone: error(400, 21211, "Invalid 'To'")}

    class ByNumber(FakeHttp):
        def request(self, method, uri, params=None, data=None, **kwargs):
            self.responses = [replies[data["To"]]]
            return super().request(method, uri, params, data, **kwargs)

    http = ByNumber()
    gateway = TwilioGateway(TWILIO_CONFIG, http_client=http)
    counts = send(gateway)
    assert (counts["sent"], counts["failed"]) == (1, 1)
    by_patient = {m.patient_id: m for m in messages()}
    assert (by_patient[good.id].status, by_patient[good.id].provider_sid) == ("sent", "SM" + "7" * 32)
    assert by_patient[bad.id].status == "failed" and "21211" in by_patient[bad.id].last_error
    assert db.session.get(Patient, bad.id).phone_invalid and not db.session.get(Patient, good.id).phone_invalid
    assert {r["data"]["StatusCallback"] for r in http.requests} == {
        f"http://127.0.0.1:5000/twilio/status?m={m.id}" for m in by_patient.values()}


def test_a_provider_opt_out_is_recorded(district):
    patient = make_patient(district)
    enqueue_daily_checkins(DAY, now=NOW)
    gateway = FakeGateway()
    gateway.errors = [PermanentError("Twilio 21610: unsubscribed recipient", 21610, reason="opted_out")]
    assert send(gateway)["failed"] == 1
    assert db.session.get(Patient, patient.id).sms_opt_out


def test_opted_out_invalid_and_ended_patients_are_not_sent_what_was_queued(district):
    opted = make_patient(district)
    invalid = make_patient(district)
    recovered = make_patient(district)
    called = make_patient(district, checkin_channel="ivr")
    enqueue_daily_checkins(DAY, now=NOW)
    # after the morning's enqueue, before the sender got to them
    db.session.get(Patient, opted.id).sms_opt_out = True
    db.session.get(Patient, invalid.id).phone_invalid = True
    db.session.get(Patient, recovered.id).status = "recovered"
    db.session.get(Patient, called.id).sms_opt_out = True  # SMS STOP: the IVR call still goes
    db.session.commit()
    gateway = FakeGateway()

    send(gateway)

    by_patient = {m.patient_id: m for m in messages()}
    assert [(h.kind, h.to) for h in gateway.handed] == [("call", called.phone)]
    assert (by_patient[opted.id].status, by_patient[opted.id].last_error) == ("cancelled", "opted out of SMS")
    assert by_patient[invalid.id].last_error == "phone number invalid"
    assert by_patient[recovered.id].last_error == "patient no longer followed up"
    assert by_patient[called.id].status == "sent"


def test_check_ins_not_sent_by_the_end_of_the_window_are_dropped(district):
    make_patient(district)
    other = make_patient(district)
    enqueue_daily_checkins(DAY, now=NOW)
    enqueue_sms("not-a-checkin", other.phone, "checkin_reply", "en", now=NOW, patient_id=other.id)
    db.session.commit()
    gateway = FakeGateway()
    gateway.errors = [RetryableError("down", 503)] * 3
    send(gateway, now_fn=at(minutes=179))  # 11:59: still in the window
    assert [m.status for m in messages()] == ["queued", "queued", "queued"]
    counts = send(gateway, now_fn=at(minutes=180 + 10))  # 12:10
    statuses = {m.idempotency_key.split(":")[0]: (m.status, m.last_error) for m in messages()}
    assert counts["expired"] == 2
    assert statuses["checkin"] == ("cancelled", "check-in window closed")
    assert statuses["not-a-checkin"][0] == "sent"  # other messages are not bound to the window


def test_rate_limit_spaces_the_messages(district, config):  # noqa: F811
    config["OUTBOX_RATE_PER_SECOND"] = 4
    for _ in range(9):
        make_patient(district)
    enqueue_daily_checkins(DAY, now=NOW)
    clock = FakeClock()
    gateway = FakeGateway(clock)

    assert send(gateway, clock=clock)["sent"] == 9

    assert [h.at for h in gateway.handed] == [i * 0.25 for i in range(9)]  # 4 a second, none early
    assert sum(clock.sleeps) == pytest.approx(2.0)


def test_a_pass_stops_after_its_time(district, config):  # noqa: F811
    config["OUTBOX_RATE_PER_SECOND"] = 1
    for _ in range(5):
        make_patient(district)
    enqueue_daily_checkins(DAY, now=NOW)
    clock = FakeClock()
    counts = send(FakeGateway(clock), clock=clock, max_seconds=2)
    assert counts["sent"] == 3  # at 0, 1 and 2 seconds
    assert [m.status for m in messages()].count("queued") == 2  # the next pass takes them


def test_token_bucket():
    clock = FakeClock()
    bucket = TokenBucket(10, clock, burst=3)
    for _ in range(3):
        bucket.acquire()
    assert clock.sleeps == []  # a burst of three
    bucket.acquire()
    assert clock.sleeps == [pytest.approx(0.1)]
    clock.t += 5  # idle: the bucket refills up to its burst only
    for _ in range(4):
        bucket.acquire()
    assert len(clock.sleeps) == 2
    with pytest.raises(ValueError):
        TokenBucket(0, clock)


def test_a_person_can_cancel_a_queued_message(district):
    make_patient(district)
    enqueue_daily_checkins(DAY, now=NOW)
    m = messages()[0]
    elsewhere = make_user("nodal_officer", make_district())
    assert resolve(m.id, "cancel", elsewhere) is None  # not their district's patient
    nodal = make_user("nodal_officer", district)
    assert resolve(m.id, "resend", nodal) is None  # queued: nothing to resend
    assert resolve(m.id, "cancel", nodal).status == "cancelled"
    assert send(FakeGateway())["handed"] == 0


def test_the_send_outbox_command(runner, district):
    patient = make_patient(district)
    enqueue_sms("cli:1", patient.phone, "checkin_reply", "hi", patient_id=patient.id)
    db.session.commit()
    result = runner.invoke(args=["send-outbox"])
    assert result.exit_code == 0, result.output
    assert "Outbox: 1 handed to the provider (expired 0, sent 1)." in result.output
    assert messages()[0].status == "sent"


def test_help_on_the_way_overtakes_the_days_check_ins(district):
    """A state's morning check-ins fill the outbox for hours at the configured rate: an ambulance's SMS (and the
    duty officer's alert) queued after them is still handed over first (OutboxPriority)."""
    for n in range(40):
        make_patient(district, checkin_channel="ivr" if n % 4 == 0 else "sms_link" if n % 4 == 1 else "sms_reply")
    enqueue_daily_checkins(DAY, now=NOW)
    patient = db.session.scalars(db.select(Patient)).first()
    later = NOW + timedelta(minutes=5)
    enqueue_sms("dispatch:test", patient.phone, "help_ambulance", "hi", now=later, patient_id=patient.id,
                vehicle="CG04AB1234", eta="09:30", driver="+919826012345")
    enqueue_sms("overdue:test", "+919826000001", "escalation_overdue", "hi", now=later + timedelta(minutes=1),
                district="Raipur", count=2, kind="Ambulance", late=4)
    db.session.commit()
    priorities = {m.template: m.priority for m in messages()}
    assert priorities == {"checkin_ivr": 2, "checkin_link": 2, "checkin_reply": 2, "help_ambulance": 0,
                          "escalation_overdue": 0}
    gateway = FakeGateway()
    send(gateway, now_fn=at(minutes=7), limit=3)
    handed = [h.content for h in gateway.handed]
    assert "CG04AB1234" in handed[0] and "Raipur" in handed[1]  # the urgent two first, in the order queued
    assert all("CG04AB1234" not in h and "Raipur" not in h for h in handed[2:])
    send(gateway, now_fn=at(minutes=8))
    assert len(gateway.handed) == 42  # and then every check-in, each once
