"""The daily check-ins go into the outbox: one per patient and day, by their channel, in their language."""
from datetime import timedelta

from callcenter.extensions import db
from callcenter.models import CheckinLink, JobRun
from callcenter.services.checkins import links as checkin_links
from callcenter.services.checkins import sms_templates
from callcenter.services.outbox.enqueue import enqueue_daily_checkins, enqueue_sms
from callcenter.services.outbox.messages import outgoing_text
from jobs import runner as job_runner

from ..factories import make_patient
from .outbox_helpers import DAY, NOW, config, make_patient_speaking, messages  # noqa: F401  (config: a fixture)


def test_each_channel_gets_its_message_in_the_patients_language(district, config):  # noqa: F811
    config["PUBLIC_URL"] = "https://sampark.example.gov.in"
    ivr = make_patient(district, checkin_channel="ivr")
    link = make_patient_speaking(district, "hi", checkin_channel="sms_link")
    reply = make_patient_speaking(district, "en", checkin_channel="sms_reply")
    make_patient(district, checkin_channel="none")

    counts = enqueue_daily_checkins(DAY, now=NOW)

    assert counts == {"ivr": 1, "sms_reply": 1, "sms_link": 1, "enqueued": 3}
    by_patient = {m.patient_id: m for m in messages()}
    assert set(by_patient) == {ivr.id, link.id, reply.id}
    for m in by_patient.values():
        assert m.idempotency_key == f"checkin:{m.patient_id}:2021-05-20"
        assert (m.status, m.tries, m.next_attempt_at, m.created_at) == ("queued", 0, NOW, NOW)

    call = by_patient[ivr.id]
    assert (call.kind, call.template, call.to_phone) == ("call", "checkin_ivr", ivr.phone)
    assert call.body == "https://sampark.example.gov.in/twilio/voice"

    sms = by_patient[reply.id]
    assert (sms.kind, sms.template, sms.language) == ("sms", "checkin_reply", "en")
    assert sms.body == sms_templates.render("checkin_reply", "en")

    linked = by_patient[link.id]
    assert (linked.kind, linked.template, linked.language) == ("sms", "checkin_link", "hi")
    # No working link is stored: the text has a placeholder, the token is made again from the seed when sent.
    token = checkin_links.seeded_token(linked.params["seed"])
    assert linked.params == {"seed": linked.params["seed"]} and token not in linked.body
    assert linked.body == sms_templates.render("checkin_link", "hi", token="…")
    assert "https://sampark.example.gov.in/c/" + token in outgoing_text(linked)
    found = checkin_links.find(token)  # the link the SMS carries opens this patient's form, today only
    assert found.patient_id == link.id and checkin_links.state(found, NOW) == "valid"
    assert checkin_links.state(found, NOW + timedelta(days=1)) == "expired"


def test_enqueue_is_idempotent(district):
    for channel in ("ivr", "sms_link", "sms_reply"):
        make_patient(district, checkin_channel=channel)
    first = enqueue_daily_checkins(DAY, now=NOW)
    again = enqueue_daily_checkins(DAY, now=NOW + timedelta(minutes=30))
    assert first["enqueued"] == 3 and again["enqueued"] == 0
    assert len(messages()) == 3
    assert db.session.scalar(db.select(db.func.count()).select_from(CheckinLink)) == 1  # no token made twice
    # the next day is a new check-in
    assert enqueue_daily_checkins(DAY + timedelta(days=1), now=NOW + timedelta(days=1))["enqueued"] == 3


def test_links_are_made_in_batches_each_with_its_own_token(district):
    patients = [make_patient(district) for _ in range(5)]  # sms_link is the default channel
    assert enqueue_daily_checkins(DAY, now=NOW, batch_size=2)["sms_link"] == 5
    tokens = [checkin_links.seeded_token(m.params["seed"]) for m in messages()]
    assert len(set(tokens)) == 5
    assert sorted(checkin_links.find(t).patient_id for t in tokens) == sorted(p.id for p in patients)


def test_who_is_not_asked(district):
    make_patient(district, status="recovered")
    make_patient(district, phone_invalid=True)
    make_patient(district, sms_opt_out=True)                       # SMS link: opted out
    make_patient(district, sms_opt_out=True, checkin_channel="sms_reply")
    called = make_patient(district, sms_opt_out=True, checkin_channel="ivr")  # STOP is about SMS: calls go on
    make_patient(district, checkin_channel="none")
    enqueue_daily_checkins(DAY, now=NOW)
    assert [m.patient_id for m in messages()] == [called.id]


def test_the_window_sets_when_they_go(district, config):  # noqa: F811
    make_patient(district)
    early = NOW - timedelta(hours=2)  # 07:00: wait for 09:00
    enqueue_daily_checkins(DAY, now=early)
    assert messages()[0].next_attempt_at == NOW


def test_nothing_is_enqueued_once_the_window_has_closed(district):
    make_patient(district)
    late = NOW + timedelta(hours=3)  # 12:00
    assert enqueue_daily_checkins(DAY, now=late) == {
        "ivr": 0, "sms_reply": 0, "sms_link": 0, "enqueued": 0, "window_closed": True}
    assert messages() == []


def test_webhook_base_url_is_where_the_ivr_flow_is(district, config):  # noqa: F811
    config["WEBHOOK_BASE_URL"] = "https://hooks.example.gov.in/"
    make_patient(district, checkin_channel="ivr")
    enqueue_daily_checkins(DAY, now=NOW)
    assert messages()[0].body == "https://hooks.example.gov.in/twilio/voice"


def test_the_daily_job_enqueues_once_a_day(district):
    make_patient(district)
    run = job_runner.run("checkins_enqueue", now=NOW)
    assert (run.status, run.rows, run.run_key) == ("succeeded", 1, "2021-05-20")
    assert run.details["day"] == "2021-05-20" and run.details["sms_link"] == 1
    assert job_runner.run("checkins_enqueue", now=NOW + timedelta(minutes=5)) is None
    assert db.session.scalar(db.select(db.func.count()).select_from(JobRun)) == 1


def test_one_sms_by_template(district):
    patient = make_patient(district)
    assert enqueue_sms("help:1", patient.phone, "checkin_reply", "en", now=NOW, patient_id=patient.id)
    assert not enqueue_sms("help:1", patient.phone, "checkin_reply", "en", now=NOW, patient_id=patient.id)
    db.session.commit()
    (m,) = messages()
    assert (m.template, m.language, m.status, m.body) == (
        "checkin_reply", "en", "queued", sms_templates.render("checkin_reply", "en"))


def test_a_rate_too_low_for_the_window_is_reported(district, config, caplog):  # noqa: F811
    config["OUTBOX_RATE_PER_SECOND"] = 0.0001  # one message every 2.8 hours; the window is 3 hours
    for _ in range(2):
        make_patient(district)
    counts = enqueue_daily_checkins(DAY, now=NOW)
    assert counts["hours_to_send"] == 5.6
    assert "longer than the window" in caplog.text
