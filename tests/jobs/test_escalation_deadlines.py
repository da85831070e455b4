"""The escalation deadline job: overdue open escalations are flagged once, the district's duty officer is
texted through the outbox and re-alerted every `realert_minutes` until someone acknowledges; idempotent."""
from datetime import datetime, timedelta

from sqlalchemy import func, insert

from callcenter.clock import local_to_utc
from callcenter.extensions import db
from callcenter.models import AuditLog, Escalation, JobRun, OutboundMessage
from callcenter.rules.routing import Desk, Severity
from callcenter.services.core import settings
from callcenter.services.desks import deadlines, escalations
from callcenter.services.outbox.sender import send_pending
from jobs import escalation_deadlines
from jobs import runner as job_runner

from ..checkins.outbox_helpers import FakeClock, FakeGateway
from ..factories import make_district, make_patient, make_user
from ..helpers import run_in_threads

T = local_to_utc(datetime(2021, 5, 20, 10, 0))
DUTY = "+919826011111"


def minutes(n):
    return T + timedelta(minutes=n)


def district_with_phone(phone=DUTY, name=None):
    district = make_district(name=name)
    district.duty_phone = phone
    db.session.commit()
    return district


def raise_at(district, kind="ambulance", severity=Severity.EMERGENCY, desk=Desk.CONTROL_ROOM, at=T, patient=None):
    esc = escalations.raise_escalation(patient or make_patient(district), kind, desk, severity, source="call",
                                       now=at)
    db.session.commit()
    return esc.id


def esc(esc_id):
    return db.session.get(Escalation, esc_id, populate_existing=True)


def messages():
    db.session.expire_all()
    return db.session.scalars(db.select(OutboundMessage).order_by(OutboundMessage.id)).all()


def audits(action):
    return db.session.scalars(db.select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)).all()


def run(at):
    return escalation_deadlines.run(at)[1]


def test_not_yet_due_is_untouched():
    district = district_with_phone()
    ambulance = raise_at(district)                                   # respond by T+10
    doctor = raise_at(district, "doctor", Severity.ROUTINE, Desk.DOCTOR)  # respond by T+60
    assert run(minutes(10)) == {"breached": 0, "alerted": 0, "messages": 0, "no_duty_phone": 0}  # not past yet
    for e in (esc(ambulance), esc(doctor)):
        assert (e.breached_at, e.alert_count, e.last_alert_at) == (None, 0, None)
    assert messages() == [] and audits("escalation.breach") == []


def test_due_is_breached_and_the_duty_officer_gets_one_sms_and_an_audit():
    district = district_with_phone(name="Raipur")
    esc_id = raise_at(district)
    counts = run(minutes(25))
    assert counts == {"breached": 1, "alerted": 1, "messages": 1, "no_duty_phone": 0}
    e = esc(esc_id)
    assert (e.breached_at, e.alert_count, e.last_alert_at, e.status) == (minutes(25), 1, minutes(25), "open")
    [msg] = messages()
    assert (msg.to_phone, msg.template, msg.kind, msg.status, msg.patient_id) == (DUTY, "escalation_overdue", "sms",
                                                                                 "queued", None)
    assert msg.language == "hi" and msg.params == {"district": "Raipur", "count": 1, "kind": "एम्बुलेंस",
                                                   "late": 15}
    assert msg.body.startswith("संपर्क Raipur: 1 अनुरोध") and "15 मिनट देर" in msg.body
    [breach] = audits("escalation.breach")
    assert (breach.entity, breach.entity_id, breach.district_id, breach.at) == ("escalation", esc_id, district.id,
                                                                             minutes(25))
    assert breach.details["late_minutes"] == 15 and breach.details["kind"] == "ambulance"
    [alert] = audits("escalation.realert")
    assert alert.entity_id == esc_id and alert.details == {"alert": 1, "to": DUTY, "message_key": msg.idempotency_key}


def test_the_sms_goes_out_in_english_when_configured(app):
    district = district_with_phone(name="Durg")
    raise_at(district, "counselling", Severity.ROUTINE, Desk.COUNSELLOR)
    app.config["DUTY_SMS_LANGUAGE"] = "en"
    try:
        run(minutes(245))
    finally:
        app.config["DUTY_SMS_LANGUAGE"] = "hi"
    [msg] = messages()
    assert msg.body == ("Sampark Durg: 1 request(s) not acknowledged in time. Most overdue: counselling, 5 min late. "
                        "Please act in the control room now.")


def test_running_twice_at_the_same_time_sends_nothing_twice():
    district = district_with_phone()
    esc_id = raise_at(district)
    run(minutes(11))
    assert run(minutes(11)) == {"breached": 0, "alerted": 0, "messages": 0, "no_duty_phone": 0}
    assert len(messages()) == 1 and esc(esc_id).alert_count == 1
    assert len(audits("escalation.breach")) == 1 and len(audits("escalation.realert")) == 1


def test_re_alerts_every_interval_while_unacknowledged_then_stop_but_the_breach_is_kept():
    district = district_with_phone()
    operator = make_user("control_room", district)
    esc_id = raise_at(district)
    run(minutes(11))
    assert run(minutes(20))["alerted"] == 0                          # 9 minutes later: not yet
    assert run(minutes(21)) == {"breached": 0, "alerted": 1, "messages": 1, "no_duty_phone": 0}
    e = esc(esc_id)
    assert (e.breached_at, e.alert_count, e.last_alert_at) == (minutes(11), 2, minutes(21))
    assert [m.params["late"] for m in messages()] == [1, 11]
    assert [a.details["alert"] for a in audits("escalation.realert")] == [1, 2]

    escalations.acknowledge(esc_id, operator, now=minutes(22))
    assert run(minutes(40)) == {"breached": 0, "alerted": 0, "messages": 0, "no_duty_phone": 0}
    e = esc(esc_id)
    assert (e.status, e.breached_at, e.alert_count) == ("acknowledged", minutes(11), 2)
    assert len(messages()) == 2


def test_the_re_alert_interval_is_a_setting():
    district = district_with_phone()
    settings.update({"realert_minutes": 3}, make_user("admin"), now=T)
    esc_id = raise_at(district)
    run(minutes(11))
    run(minutes(14))
    assert esc(esc_id).alert_count == 2


def test_resolved_or_cancelled_without_acknowledgement_stop_too():
    district = district_with_phone()
    operator = make_user("control_room", district)
    esc_id = raise_at(district)
    run(minutes(11))
    escalations.cancel(esc_id, operator, "duplicate", now=minutes(12))
    assert run(minutes(30))["alerted"] == 0 and esc(esc_id).breached_at == minutes(11)


def test_one_sms_per_district_for_many_breaches():
    raipur, durg = district_with_phone("+919826011111"), district_with_phone("+919826022222")
    for _ in range(3):
        raise_at(raipur, "medicine", Severity.ROUTINE)
    raise_at(raipur, "ambulance", at=minutes(5))  # raised last, but its deadline (T+15) passed first
    raise_at(durg, "oxygen")
    counts = run(minutes(200))
    assert counts == {"breached": 5, "alerted": 5, "messages": 2, "no_duty_phone": 0}
    by_phone = {m.to_phone: m.params for m in messages()}
    assert by_phone["+919826011111"] == {"district": raipur.name, "count": 4, "kind": "एम्बुलेंस", "late": 185}
    assert by_phone["+919826022222"] == {"district": durg.name, "count": 1, "kind": "ऑक्सीजन", "late": 185}


def test_a_district_without_a_duty_phone_still_gets_its_breaches_flagged():
    district = make_district()
    esc_id = raise_at(district)
    assert run(minutes(11)) == {"breached": 1, "alerted": 0, "messages": 0, "no_duty_phone": 1}
    e = esc(esc_id)
    assert (e.breached_at, e.alert_count, e.last_alert_at) == (minutes(11), 0, None)
    assert len(audits("escalation.breach")) == 1 and messages() == []
    assert run(minutes(12)) == {"breached": 0, "alerted": 0, "messages": 0, "no_duty_phone": 1}  # flagged once
    # a phone is set: the next pass alerts at once
    deadlines.set_duty_phone(district.id, DUTY, make_user("admin", district))
    assert run(minutes(13)) == {"breached": 0, "alerted": 1, "messages": 1, "no_duty_phone": 0}
    assert esc(esc_id).breached_at == minutes(11)


def test_thousands_of_breaches_in_one_pass():
    a, b = district_with_phone("+919826011111"), district_with_phone("+919826022222")
    patients = [make_patient(a), make_patient(b)]
    rows = [{"patient_id": p.id, "district_id": p.district_id, "kind": "medicine", "desk": "control_room",
             "severity": "routine", "status": "open", "summary": "", "reasons": [], "source": "call",
             "created_at": T, "respond_by": minutes(1 + i % 50), "resolution": "", "alert_count": 0, "version": 1}
            for i in range(3000) for p in patients[i % 2:i % 2 + 1]]
    db.session.execute(insert(Escalation), rows)
    db.session.commit()
    counts = run(minutes(60))
    assert counts == {"breached": 3000, "alerted": 3000, "messages": 2, "no_duty_phone": 0}
    assert db.session.scalar(db.select(func.count()).select_from(Escalation).where(
        Escalation.breached_at == minutes(60), Escalation.alert_count == 1)) == 3000
    assert db.session.scalar(db.select(func.count()).select_from(AuditLog).where(
        AuditLog.action == "escalation.realert")) == 3000
    assert sorted(m.params["count"] for m in messages()) == [1500, 1500]
    assert run(minutes(60))["alerted"] == 0


def test_manual_runs_are_recorded_and_the_scheduler_ticks_it(district):
    district.duty_phone = DUTY
    db.session.commit()
    raise_at(district)
    nodal = make_user("nodal_officer", district)
    record = job_runner.run("escalation_deadlines", trigger="manual", user=nodal, now=minutes(11))
    assert (record.status, record.rows, record.user_id) == ("succeeded", 2, nodal.id)  # 1 breach + 1 alert
    assert record.details == {"breached": 1, "alerted": 1, "messages": 1, "no_duty_phone": 0}
    assert job_runner.tick("escalation_deadlines", now=minutes(12)) == (0, {"breached": 0, "alerted": 0,
                                                                             "messages": 0, "no_duty_phone": 0})
    assert db.session.scalar(db.select(func.count()).select_from(JobRun)) == 1  # ticks are not recorded
    breach = audits("escalation.breach")[0]
    assert breach.user_id == nodal.id


def test_the_duty_officers_sms_is_sent_by_the_outbox():
    district = district_with_phone()
    raise_at(district)
    run(minutes(11))
    gateway = FakeGateway()
    counts = send_pending(gateway, clock=FakeClock(), now_fn=lambda: minutes(11))
    assert counts["sent"] == 1
    [handed] = gateway.handed
    assert handed.to == DUTY and "अनुरोध" in handed.content
    assert messages()[0].status == "sent"


def test_passes_at_once_alert_each_escalation_once(app):
    district = district_with_phone()
    patient = make_patient(district)
    db.session.execute(insert(Escalation), [
        {"patient_id": patient.id, "district_id": district.id, "kind": "ambulance", "desk": "control_room",
         "severity": "emergency", "status": "open", "summary": "", "reasons": [], "source": "call",
         "created_at": T, "respond_by": minutes(10), "resolution": "", "alert_count": 0, "version": 1}
        for _ in range(500)])
    db.session.commit()

    def one_pass(i):
        return deadlines.check(now=minutes(11) + timedelta(seconds=i))

    results, errors = run_in_threads(app, 4, one_pass)
    assert not errors, errors
    assert sum(r["breached"] for r in results) == 500 and sum(r["alerted"] for r in results) == 500
    assert len(messages()) == 1
    assert set(db.session.scalars(db.select(Escalation.alert_count))) == {1}
    assert len(audits("escalation.realert")) == 500 and len(audits("escalation.breach")) == 500
