"""The doctor's and counsellor's desks: consultations, follow-ups on the desk, need met, emergencies."""
from datetime import datetime, timedelta

import pytest

from callcenter.clock import local_date
from callcenter.extensions import db
from callcenter.models import AuditLog, CallTask, Consultation, Escalation, TaskStatus
from callcenter.rules.routing import Desk, Severity
from callcenter.services.calls import call_lists, queue
from callcenter.services.core.errors import Conflict, Forbidden, Invalid, NotFound
from callcenter.services.desks import consultations, escalations

from ..factories import make_district, make_patient, make_task, make_user

NOW = datetime(2024, 5, 10, 6, 0)  # 11:30 in Kolkata
TODAY = local_date(NOW)


def refer(patient, desk=Desk.DOCTOR, kind="doctor", severity=Severity.ROUTINE, now=NOW):
    esc = escalations.raise_escalation(patient, kind, desk, severity, source="call", now=now - timedelta(hours=1))
    db.session.commit()
    return esc


def report(outcome="connected", notes="Paracetamol 650 mg, steam inhalation", **extra):
    return {"outcome": outcome, "notes": notes, **extra}


def test_consultation_is_recorded_with_a_follow_up_on_the_doctors_desk(district):
    doctor = make_user("doctor", district)
    patient = make_patient(district, name="Kamla Verma")
    esc = refer(patient)
    day = TODAY + timedelta(days=2)
    recorded = consultations.record(patient.id, doctor, "doctor", report(follow_up_date=day), "key-1", now=NOW)

    assert recorded.created
    c = db.session.scalars(db.select(Consultation)).one()
    assert (c.patient_id, c.desk, c.user_id, c.outcome, c.escalation_id) == (
        patient.id, "doctor", doctor.id, "connected", esc.id)
    assert c.notes == "Paracetamol 650 mg, steam inhalation" and c.follow_up_date == day
    task = db.session.get(CallTask, c.follow_up_task_id)
    assert (task.desk, task.reason, task.slot, task.task_date, task.status) == (
        "doctor", "doctor_follow_up", 3, day, TaskStatus.PENDING)
    assert task.due_at == call_lists.slot_times(day)[0]  # that day's morning
    # Not met yet: the referral stays open.
    assert db.session.get(Escalation, esc.id).status == "open"
    assert db.session.get(type(patient), patient.id).last_contact_at == NOW
    audit = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "consultation.record")).one()
    assert audit.entity_id == c.id and audit.user_id == doctor.id
    assert audit.details["follow_up_task_id"] == task.id and audit.details["outcome"] == "connected"


def test_a_desk_follow_up_is_never_offered_to_volunteers_but_is_on_the_desk(district):
    doctor = make_user("doctor", district)
    volunteer = make_user("volunteer", district)
    patient = make_patient(district)
    day = TODAY + timedelta(days=1)
    consultations.record(patient.id, doctor, "doctor", report(follow_up_date=day), "key-1", now=NOW)
    that_morning = call_lists.slot_times(day)[0] + timedelta(hours=1)

    assert queue.claim_next_task(volunteer, now=that_morning) is None
    assert queue.queue_counts(volunteer, now=that_morning)["home"] == 0
    entries = consultations.referral_queue(doctor, "doctor", now=that_morning)
    assert [e.patient.id for e in entries] == [patient.id]
    assert [t.reason for t in entries[0].tasks] == ["doctor_follow_up"]
    # Before its day it is not due yet; the counsellor's desk never lists it.
    assert consultations.referral_queue(doctor, "doctor", now=NOW) == []
    counsellor = make_user("counsellor", district)
    assert consultations.referral_queue(counsellor, "counsellor", now=that_morning) == []


def test_overdue_desk_follow_ups_survive_the_next_days_list(district):
    """The daily list closes volunteers' unfinished calls of earlier days as missed, not a desk's follow-ups."""
    doctor = make_user("doctor", district)
    patient = make_patient(district)
    desk_task = make_task(patient, day=TODAY, slot=3, desk="doctor", reason="doctor_follow_up")
    daily = make_task(patient, day=TODAY, slot=1)
    tomorrow = TODAY + timedelta(days=1)
    call_lists.build_call_list(tomorrow, now=NOW + timedelta(days=1))
    assert db.session.get(CallTask, daily.id).status == TaskStatus.MISSED
    assert db.session.get(CallTask, desk_task.id).status == TaskStatus.PENDING
    entries = consultations.referral_queue(doctor, "doctor", now=NOW + timedelta(days=1))
    assert [t.id for t in entries[0].tasks] == [desk_task.id]


def test_need_met_resolves_the_referral_through_the_escalation_service(district):
    doctor = make_user("doctor", district)
    patient = make_patient(district)
    esc = refer(patient)
    recorded = consultations.record(patient.id, doctor, "doctor", report(need_met=True), "key-1", now=NOW)
    esc = db.session.get(Escalation, esc.id)
    assert [e.id for e in recorded.resolved] == [esc.id]
    assert (esc.status, esc.outcome, esc.closed_by_id, esc.closed_at) == ("resolved", "advice_given", doctor.id, NOW)
    assert esc.resolution == "Paracetamol 650 mg, steam inhalation"
    actions = db.session.scalars(db.select(AuditLog.action).where(AuditLog.entity == "escalation",
                                                                  AuditLog.entity_id == esc.id)).all()
    assert "escalation.resolved" in actions
    assert consultations.referral_queue(doctor, "doctor", now=NOW) == []


def test_a_failure_after_the_referral_is_resolved_undoes_the_whole_consultation(district, monkeypatch):
    doctor = make_user("doctor", district)
    patient = make_patient(district)
    esc = refer(patient)

    def broken(*args):
        raise RuntimeError("the follow-up could not be scheduled")
    monkeypatch.setattr(consultations, "schedule_follow_up", broken)
    with pytest.raises(RuntimeError):
        consultations.record(patient.id, doctor, "doctor", report(need_met=True, follow_up_date=TODAY + timedelta(1)),
                             "key-1", now=NOW)
    db.session.expire_all()
    # One transaction: the resolve inside it was not committed on its own.
    assert db.session.get(Escalation, esc.id).status == "open"
    assert db.session.scalar(db.select(db.func.count()).select_from(Consultation)) == 0


def test_need_met_needs_a_connected_call_and_nothing_is_saved_otherwise(district):
    doctor = make_user("doctor", district)
    patient = make_patient(district)
    esc = refer(patient)
    with pytest.raises(Invalid) as exc:
        consultations.record(patient.id, doctor, "doctor", report("no_answer", need_met=True), "key-1", now=NOW)
    assert "need_met" in exc.value.errors
    assert db.session.scalar(db.select(db.func.count()).select_from(Consultation)) == 0
    assert db.session.get(Escalation, esc.id).status == "open"


def test_connected_call_needs_notes_and_a_known_outcome(district):
    doctor = make_user("doctor", district)
    patient = make_patient(district)
    with pytest.raises(Invalid) as exc:
        consultations.record(patient.id, doctor, "doctor", report(notes="  "), "key-1", now=NOW)
    assert "notes" in exc.value.errors
    with pytest.raises(Invalid) as exc:
        consultations.record(patient.id, doctor, "doctor", report("shouted"), "key-2", now=NOW)
    assert "outcome" in exc.value.errors


@pytest.mark.parametrize("days", [0, -1, 31])
def test_follow_up_date_must_be_after_today_and_within_30_days(district, days):
    doctor = make_user("doctor", district)
    patient = make_patient(district)
    with pytest.raises(Invalid) as exc:
        consultations.record(patient.id, doctor, "doctor", report(follow_up_date=TODAY + timedelta(days=days)),
                             "key-1", now=NOW)
    assert "follow_up_date" in exc.value.errors
    assert db.session.scalar(db.select(db.func.count()).select_from(CallTask)) == 0


def test_double_submission_records_one_consultation(district):
    doctor = make_user("doctor", district)
    patient = make_patient(district)
    refer(patient)
    data = report(need_met=True, follow_up_date=TODAY + timedelta(days=3))
    first = consultations.record(patient.id, doctor, "doctor", data, "same-key", now=NOW)
    second = consultations.record(patient.id, doctor, "doctor", data, "same-key", now=NOW + timedelta(seconds=2))
    assert first.created and not second.created
    assert second.consultation.id == first.consultation.id
    assert db.session.scalar(db.select(db.func.count()).select_from(Consultation)) == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(CallTask)) == 1
    # The key belongs to that call: someone else's form with it is refused.
    other = make_user("doctor", district)
    with pytest.raises(Conflict):
        consultations.record(patient.id, other, "doctor", data, "same-key", now=NOW)


def test_due_follow_ups_are_done_when_the_patient_is_reached(district):
    doctor = make_user("doctor", district)
    patient = make_patient(district)
    task = make_task(patient, day=TODAY, slot=3, desk="doctor", reason="doctor_follow_up")
    consultations.record(patient.id, doctor, "doctor", report("no_answer", notes=""), "key-1", now=NOW)
    task = db.session.get(CallTask, task.id)
    assert (task.status, task.attempts, task.last_outcome) == (TaskStatus.PENDING, 1, "no_answer")
    consultations.record(patient.id, doctor, "doctor", report(), "key-2", now=NOW + timedelta(minutes=30))
    task = db.session.get(CallTask, task.id)
    assert (task.status, task.attempts, task.closed_at) == (TaskStatus.DONE, 2, NOW + timedelta(minutes=30))


def test_follow_ups_of_two_desks_on_one_day_take_separate_slots(district):
    doctor, counsellor = make_user("doctor", district), make_user("counsellor", district)
    patient = make_patient(district)
    day = TODAY + timedelta(days=1)
    make_task(patient, day=day, slot=1)
    make_task(patient, day=day, slot=2)
    c1 = consultations.record(patient.id, counsellor, "counsellor", report(follow_up_date=day), "k1", now=NOW)
    c2 = consultations.record(patient.id, doctor, "doctor", report(follow_up_date=day), "k2", now=NOW)
    c3 = consultations.record(patient.id, doctor, "doctor", report(follow_up_date=day), "k3", now=NOW)
    assert (c1.follow_up.slot, c1.follow_up.reason) == (3, "counsellor_follow_up")
    assert (c2.follow_up.slot, c2.follow_up.desk) == (4, "doctor")
    assert c3.follow_up.id == c2.follow_up.id  # the desk's open follow-up of that day, not a twin


def test_scoping_and_desks(district):
    patient = make_patient(district)
    elsewhere = make_user("doctor", make_district())
    with pytest.raises(NotFound):
        consultations.record(patient.id, elsewhere, "doctor", report(), "key-1", now=NOW)
    with pytest.raises(NotFound):
        consultations.call_context(elsewhere, "doctor", patient.id)
    counsellor = make_user("counsellor", district)
    with pytest.raises(Forbidden):
        consultations.record(patient.id, counsellor, "doctor", report(), "key-2", now=NOW)
    with pytest.raises(Forbidden):
        consultations.referral_queue(make_user("volunteer", district), "doctor")
    with pytest.raises(Forbidden):  # the control room is not a referral desk
        consultations.referral_queue(make_user("nodal_officer", district), "control_room")
    assert consultations.referral_desks(make_user("admin", district)) == [Desk.DOCTOR, Desk.COUNSELLOR]
    assert db.session.scalar(db.select(db.func.count()).select_from(Consultation)) == 0


def test_wrong_number_flags_the_phone_for_the_control_room(district):
    counsellor = make_user("counsellor", district)
    patient = make_patient(district)
    recorded = consultations.record(patient.id, counsellor, "counsellor", report("wrong_number", notes=""), "k",
                                    now=NOW)
    assert recorded.consultation.desk == "counsellor"
    assert db.session.get(type(patient), patient.id).phone_invalid
    check = db.session.scalars(db.select(Escalation).where(Escalation.kind == "phone_check")).one()
    assert (check.desk, check.source) == ("control_room", "desk")


def test_referral_queue_orders_emergencies_first_then_longest_waiting(district):
    doctor = make_user("doctor", district)
    old, new, urgent = (make_patient(district) for _ in range(3))
    refer(old, now=NOW - timedelta(hours=5))
    refer(new, now=NOW)
    refer(urgent, kind="warning_sign", severity=Severity.EMERGENCY, now=NOW)
    make_patient(make_district())  # another district's referral is not listed
    assert [e.patient.id for e in consultations.referral_queue(doctor, "doctor", now=NOW)] == [
        urgent.id, old.id, new.id]


def test_a_doctor_raises_an_emergency_for_the_control_room(district):
    doctor = make_user("doctor", district)
    patient = make_patient(district)
    esc = consultations.raise_emergency(patient.id, doctor, "doctor", "oxygen", "SpO2 88 on the call", now=NOW)
    esc = db.session.get(Escalation, esc.id)
    assert (esc.desk, esc.severity, esc.source, esc.kind, esc.created_by_id) == (
        "control_room", "emergency", "desk", "oxygen", doctor.id)
    assert esc.respond_by is not None and esc.summary == "SpO2 88 on the call"
    assert esc.reasons == [["desk", "doctor"]]
    assert db.session.scalars(db.select(AuditLog.action).where(AuditLog.entity_id == esc.id,
                                                               AuditLog.entity == "escalation")).all() == [
        "escalation.raise"]
    with pytest.raises(Invalid) as exc:
        consultations.raise_emergency(patient.id, doctor, "doctor", "food", "", now=NOW)
    assert set(exc.value.errors) == {"kind", "note"}
    with pytest.raises(Forbidden):
        consultations.raise_emergency(patient.id, make_user("control_room", district), "doctor", "oxygen", "x")


def test_a_form_sent_many_times_at_once_records_one_consultation(app, district):
    from ..helpers import run_in_threads

    doctor_id = make_user("doctor", district).id
    patient_id = make_patient(district).id
    data = report(follow_up_date=TODAY + timedelta(days=1))

    def send(_i):
        from callcenter.models import User
        return consultations.record(patient_id, db.session.get(User, doctor_id), "doctor", data, "one-key",
                                    now=NOW).created

    results, errors = run_in_threads(app, 6, send)
    assert errors == []
    assert sorted(results) == [False] * 5 + [True]
    assert db.session.scalar(db.select(db.func.count()).select_from(Consultation)) == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(CallTask)) == 1
