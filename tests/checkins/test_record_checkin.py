"""services/checkins.record_checkin: the same rules as a volunteer's call, and today's queue moved."""
from datetime import timedelta

import pytest

from callcenter.clock import local_date
from callcenter.extensions import db
from callcenter.models import AuditLog, CallTask, CheckIn, Escalation, Need, TaskStatus
from callcenter.rules import priority
from callcenter.services.checkins import checkins
from callcenter.services.checkins.checkins import CHECKED_IN_OK, Report, record_checkin
from callcenter.services.core import settings
from callcenter.services.core.errors import Invalid

from ..factories import make_patient, make_task, make_user
from .inbound_helpers import NOW

TODAY = local_date(NOW)


@pytest.fixture
def patient(district):
    return make_patient(district)


def task_for(patient, priority=priority.ROUTINE, **extra):
    return make_task(patient, priority=priority, day=TODAY, due_at=NOW + timedelta(hours=1), **extra)


def escalations():
    return db.session.scalars(db.select(Escalation).order_by(Escalation.id)).all()


def test_a_warning_sign_raises_an_emergency_at_once(patient):
    task = task_for(patient)
    recorded = record_checkin(patient, "sms", Report(spo2=91, raw="SPO2 91"), now=NOW)
    [esc] = escalations()
    assert (esc.kind, esc.desk, esc.severity, esc.source, esc.status) == (
        "warning_sign", "control_room", "emergency", "checkin", "open")
    assert esc.reasons == [["spo2", 91]] and esc.respond_by is not None
    assert "SPO2 91" in esc.summary
    assert recorded.emergency and recorded.queue == "emergency"
    checkin = db.session.get(CheckIn, recorded.checkin.id)
    assert (checkin.channel, checkin.spo2, checkin.at, checkin.raw) == ("sms", 91, NOW, "SPO2 91")
    assert db.session.get(CallTask, task.id).priority == priority.EMERGENCY_FOLLOW_UP
    db.session.refresh(patient)
    assert patient.last_contact_at == NOW


def test_a_warning_symptom_too(patient):
    record_checkin(patient, "web", Report(feeling_ok=False, symptoms=("chest_pain",)), now=NOW)
    [esc] = escalations()
    assert (esc.kind, esc.severity, esc.reasons) == ("warning_sign", "emergency", [["symptom", "chest_pain"]])


def test_needs_raise_the_matching_escalations(patient):
    recorded = record_checkin(patient, "ivr", Report(needs=("medicine", "doctor", "counselling")), now=NOW)
    got = {(e.kind, e.desk, e.severity) for e in escalations()}
    assert got == {("medicine", "control_room", "routine"), ("doctor", "doctor", "routine"),
                   ("counselling", "counsellor", "routine")}
    needs = db.session.scalars(db.select(Need).where(Need.checkin_id == recorded.checkin.id)).all()
    assert {n.kind for n in needs} == {"medicine", "doctor", "counselling"}
    assert all(n.escalation_id is not None and n.attempt_id is None for n in needs)
    assert not recorded.emergency


def test_an_ambulance_is_an_emergency_with_the_warning_signs_as_reasons(patient):
    record_checkin(patient, "sms", Report(needs=("ambulance",), spo2=89), now=NOW)
    [esc] = escalations()
    assert (esc.kind, esc.severity) == ("ambulance", "emergency")
    assert esc.reasons == [["need", "ambulance"], ["spo2", 89]]


def test_a_second_report_adds_a_note_not_a_twin(patient):
    record_checkin(patient, "sms", Report(needs=("medicine",)), now=NOW)
    record_checkin(patient, "ivr", Report(needs=("medicine",)), now=NOW + timedelta(minutes=5))
    assert len(escalations()) == 1


def test_fine_with_normal_readings_goes_to_the_bottom_of_todays_queue(patient):
    task = task_for(patient, priority=priority.HIGH_RISK)
    recorded = record_checkin(patient, "sms", Report(feeling_ok=True, spo2=97, temperature_f=98.6), now=NOW)
    assert recorded.queue == "down" and escalations() == []
    assert db.session.get(CallTask, task.id).priority == CHECKED_IN_OK > priority.ROUTINE


@pytest.mark.parametrize("report", [
    Report(feeling_ok=True, spo2=92),               # a warning sign
    Report(feeling_ok=True, temperature_f=101.0),   # fever
    Report(feeling_ok=True, needs=("medicine",)),
    Report(feeling_ok=None, spo2=97),               # did not say fine
])
def test_not_fine_is_not_moved_down(patient, report):
    task = task_for(patient)
    record_checkin(patient, "sms", report, now=NOW)
    assert db.session.get(CallTask, task.id).priority <= priority.ROUTINE


def test_unwell_moves_todays_call_up(patient):
    task = task_for(patient)
    recorded = record_checkin(patient, "web", Report(feeling_ok=False, temperature_f=100.8), now=NOW)
    assert recorded.queue == "up" and db.session.get(CallTask, task.id).priority == priority.UNWELL_OR_UNREACHED


def test_the_setting_turns_moving_down_off(patient, district):
    admin = make_user("admin")
    settings.update({"checkin_ok_deprioritises": 0}, admin)
    task = task_for(patient)
    assert record_checkin(patient, "sms", Report(feeling_ok=True), now=NOW).queue is None
    assert db.session.get(CallTask, task.id).priority == priority.ROUTINE
    with pytest.raises(Invalid):
        settings.update({"checkin_ok_deprioritises": 2}, admin)


def test_an_emergency_follow_up_call_is_never_moved_down(patient):
    task = task_for(patient, priority=priority.EMERGENCY_FOLLOW_UP)
    record_checkin(patient, "sms", Report(feeling_ok=True), now=NOW)
    assert db.session.get(CallTask, task.id).priority == priority.EMERGENCY_FOLLOW_UP


def test_a_shared_phone_moves_nobody_down(patient):
    task = task_for(patient)
    record_checkin(patient, "sms", Report(feeling_ok=True), now=NOW, shared_phone=True)
    assert db.session.get(CallTask, task.id).priority == priority.ROUTINE


def test_only_todays_waiting_tasks_move(patient):
    yesterday = make_task(patient, priority=3, day=TODAY - timedelta(days=1), status=TaskStatus.MISSED)
    claimed = task_for(patient, slot=2, status=TaskStatus.CLAIMED)
    record_checkin(patient, "sms", Report(spo2=90), now=NOW)
    assert db.session.get(CallTask, yesterday.id).priority == 3
    assert db.session.get(CallTask, claimed.id).priority == 3


def test_one_transaction_with_its_audit_record(patient):
    recorded = record_checkin(patient, "sms", Report(needs=("doctor",)), now=NOW)
    [row] = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "checkin.record")).all()
    assert (row.entity, row.entity_id, row.district_id, row.user_id) == (
        "check_in", recorded.checkin.id, patient.district_id, None)
    assert row.details["channel"] == "sms" and row.details["escalations"] == [escalations()[0].id]


@pytest.mark.parametrize("report", [Report(spo2=40), Report(temperature_f=120.0), Report(needs=("pizza",)),
                                    Report(symptoms=("hiccups",))])
def test_impossible_reports_are_refused_and_nothing_is_stored(patient, report):
    with pytest.raises(Invalid):
        record_checkin(patient, "sms", report, now=NOW)
    assert db.session.scalar(db.select(db.func.count(CheckIn.id))) == 0


def test_queue_volunteer_call_moves_todays_task_up_and_makes_it_due(patient):
    task = task_for(patient, priority=CHECKED_IN_OK)
    assert checkins.queue_volunteer_call(patient, "ivr_gave_up", NOW)
    db.session.commit()
    task = db.session.get(CallTask, task.id)
    assert (task.priority, task.due_at) == (priority.UNWELL_OR_UNREACHED, NOW)


def test_queue_volunteer_call_adds_a_task_when_there_is_none(patient):
    done = task_for(patient, status=TaskStatus.DONE)
    assert checkins.queue_volunteer_call(patient, "ivr_gave_up", NOW)
    db.session.commit()
    new = db.session.scalar(db.select(CallTask).where(CallTask.id != done.id))
    assert (new.task_date, new.slot, new.status, new.priority, new.due_at, new.reason) == (
        TODAY, 3, "pending", priority.UNWELL_OR_UNREACHED, NOW, "ivr_gave_up")  # after the daily slots


def test_queue_volunteer_call_leaves_a_patient_on_a_call_alone(patient):
    task_for(patient, status=TaskStatus.CLAIMED)
    assert not checkins.queue_volunteer_call(patient, "ivr_gave_up", NOW)
    assert db.session.scalar(db.select(db.func.count(CallTask.id))) == 1
