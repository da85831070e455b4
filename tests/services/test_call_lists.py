"""The daily list: who is called how often, in what order, built once whatever happens."""
import itertools
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from callcenter.clock import local_to_utc, start_of_local_day
from callcenter.extensions import db
from callcenter.models import CallTask, TaskStatus
from callcenter.rules import priority
from callcenter.rules.policy import PatientDay, calls_today, task_priority
from callcenter.rules.routing import Desk, Severity
from callcenter.services import escalations, queue, settings
from callcenter.services.call_lists import build_call_list

from ..factories import make_attempt, make_checkin, make_district, make_patient, make_task, make_user

DAY = date(2021, 5, 20)
NOW = local_to_utc(datetime(2021, 5, 20, 7, 0))          # 07:00 in Raipur
YESTERDAY_NOON = local_to_utc(datetime(2021, 5, 19, 12, 0))


def tasks(patient):
    return db.session.scalars(db.select(CallTask).where(CallTask.patient_id == patient.id)
                              .order_by(CallTask.task_date, CallTask.slot)).all()


def today(patient):
    return [t for t in tasks(patient) if t.task_date == DAY]


def test_one_call_for_everyone_two_for_high_risk_at_home(district):
    young_home = make_patient(district, age=30)
    old_home = make_patient(district, age=70)
    comorbid_home = make_patient(district, age=40, comorbidities="diabetes")
    old_ccc = make_patient(district, setting="ccc", age=70)
    old_hospital = make_patient(district, setting="hospital", age=70)
    recovered = make_patient(district, status="recovered")
    assert build_call_list(DAY, now=NOW) == {"created": 7, "missed": 0}
    assert [len(today(p)) for p in (young_home, old_home, comorbid_home, old_ccc, old_hospital, recovered)] == [
        1, 2, 2, 1, 1, 0]
    morning, afternoon = today(old_home)
    assert morning.due_at == local_to_utc(datetime(2021, 5, 20, 8, 0))
    assert afternoon.due_at == local_to_utc(datetime(2021, 5, 20, 15, 0))
    assert (morning.status, morning.setting, morning.reason) == ("pending", "home", "daily")


def test_running_twice_creates_nothing_more(district):
    for _ in range(5):
        make_patient(district, age=65)
    assert build_call_list(DAY, now=NOW)["created"] == 10
    assert build_call_list(DAY, now=NOW)["created"] == 0
    assert db.session.scalar(db.select(db.func.count()).select_from(CallTask)) == 10


def test_the_database_refuses_a_second_task_for_the_same_slot(district):
    patient = make_patient(district)
    make_task(patient, day=DAY, slot=1)
    with pytest.raises(IntegrityError):
        make_task(patient, day=DAY, slot=1)
    db.session.rollback()


def test_priorities(district):
    volunteer = make_user("volunteer", district)
    emergency = make_patient(district, age=30)
    escalations.raise_escalation(emergency, "oxygen", Desk.CONTROL_ROOM, Severity.EMERGENCY, source="call")
    db.session.commit()
    warned = make_patient(district, age=30)
    make_attempt(warned, volunteer, YESTERDAY_NOON, spo2=92)
    feverish = make_patient(district, age=30)
    make_attempt(feverish, volunteer, YESTERDAY_NOON, temperature_f=101.5)
    unreached = make_patient(district, age=30)
    make_task(unreached, day=DAY - timedelta(days=1), status=TaskStatus.UNREACHABLE)
    unwell_checkin = make_patient(district, age=30)
    make_checkin(unwell_checkin, YESTERDAY_NOON, feeling_ok=False)
    high_risk = make_patient(district, age=61)
    routine = make_patient(district, age=30)
    build_call_list(DAY, now=NOW)
    assert [today(p)[0].priority for p in (emergency, warned, feverish, unreached, unwell_checkin, high_risk,
                                           routine)] == [
        priority.EMERGENCY_FOLLOW_UP, priority.UNWELL_OR_UNREACHED, priority.UNWELL_OR_UNREACHED,
        priority.UNWELL_OR_UNREACHED, priority.UNWELL_OR_UNREACHED, priority.HIGH_RISK, priority.ROUTINE]
    assert len(today(warned)) == 2  # a warning sign yesterday: called twice today


def test_yesterday_is_the_local_day(district):
    """Readings at 23:59 and 00:01 Raipur time fall on either side of midnight, whatever UTC says."""
    volunteer = make_user("volunteer", district)
    late_yesterday = make_patient(district, age=30)
    make_attempt(late_yesterday, volunteer, local_to_utc(datetime(2021, 5, 19, 23, 59)), spo2=90)
    early_today = make_patient(district, age=30)
    make_attempt(early_today, volunteer, local_to_utc(datetime(2021, 5, 20, 0, 1)), spo2=90)
    day_before = make_patient(district, age=30)
    make_attempt(day_before, volunteer, local_to_utc(datetime(2021, 5, 18, 23, 59)), spo2=90)
    build_call_list(DAY, now=NOW)
    assert today(late_yesterday)[0].priority == priority.UNWELL_OR_UNREACHED
    assert today(early_today)[0].priority == priority.ROUTINE
    assert today(day_before)[0].priority == priority.ROUTINE
    assert start_of_local_day(DAY) == datetime(2021, 5, 19, 18, 30)  # IST is UTC+05:30


def test_earlier_days_open_tasks_are_closed_as_missed(district):
    patient = make_patient(district)
    old = make_task(patient, day=DAY - timedelta(days=1))
    assert build_call_list(DAY, now=NOW) == {"created": 1, "missed": 1}
    assert db.session.get(CallTask, old.id, populate_existing=True).status == TaskStatus.MISSED
    assert today(patient)[0].priority == priority.UNWELL_OR_UNREACHED  # missed yesterday: unreached


def test_longest_since_last_contact_is_called_first(district):
    volunteer = make_user("volunteer", district)
    recent = make_patient(district, age=30, last_contact_at=NOW - timedelta(hours=20))
    long_ago = make_patient(district, age=30, last_contact_at=NOW - timedelta(days=3))
    build_call_list(DAY, now=NOW)
    after_slot = local_to_utc(datetime(2021, 5, 20, 9, 0))
    first = queue.claim_next_task(volunteer, now=after_slot)
    assert first.patient_id == long_ago.id and recent.id != long_ago.id


def test_policy_is_an_administrators_setting(district):
    admin = make_user("admin", None)
    ccc = make_patient(district, setting="ccc", age=30)
    settings.update({"calls_per_day.ccc.normal": 2}, admin)
    build_call_list(DAY, now=NOW)
    assert len(today(ccc)) == 2


def test_district_filter(district):
    other = make_district()
    mine, theirs = make_patient(district), make_patient(other)
    build_call_list(DAY, now=NOW, district_id=district.id)
    assert len(today(mine)) == 1 and today(theirs) == []


def test_sql_matches_the_pure_rules(district):
    """Every combination of setting, risk and yesterday's events: the SQL build agrees with rules.policy."""
    volunteer = make_user("volunteer", district)
    expected = {}
    for setting, old, warned, unreached, emergency in itertools.product(
            ("home", "ccc", "hospital"), (False, True), (False, True), (False, True), (False, True)):
        patient = make_patient(district, setting=setting, age=70 if old else 30)
        if warned:
            make_attempt(patient, volunteer, YESTERDAY_NOON, symptoms="cough,chest_pain")
        if unreached:
            make_task(patient, day=DAY - timedelta(days=1), slot=5, status=TaskStatus.UNREACHABLE)
        if emergency:
            escalations.raise_escalation(patient, "ambulance", Desk.CONTROL_ROOM, Severity.EMERGENCY, "call")
            db.session.commit()
        day = PatientDay(setting, high_risk=old, warning_yesterday=warned,
                         unwell_or_unreached_yesterday=warned or unreached, open_emergency=emergency)
        expected[patient.id] = (calls_today(day), task_priority(day))
    build_call_list(DAY, now=NOW)
    built = {}
    for task in db.session.scalars(db.select(CallTask).where(CallTask.task_date == DAY)):
        count, prio = built.get(task.patient_id, (0, task.priority))
        built[task.patient_id] = (count + 1, prio)
    assert built == expected
