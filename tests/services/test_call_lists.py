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
from callcenter.rules.routing import Desk, Severity, warning_signs
from callcenter.services.calls import call_lists, queue
from callcenter.services.calls.call_lists import add_tasks_for_patients, build_call_list
from callcenter.services.checkins.checkins import Report
from callcenter.services.core import settings
from callcenter.services.desks import escalations

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


def test_the_build_goes_chunk_by_chunk_in_one_transaction(district, monkeypatch):
    """Patients in chunks of two ids: every chunk's tasks are made, with each chunk's own flags; a failure in a
    later chunk leaves no task of the earlier ones (one transaction), and the next build makes them all."""
    monkeypatch.setattr(call_lists, "CHUNK_PATIENT_IDS", 2)
    volunteer = make_user("volunteer", district)
    patients = [make_patient(district, age=30) for _ in range(5)]
    warned = patients[3]
    make_attempt(warned, volunteer, outcome="connected", spo2=90, at=YESTERDAY_NOON)
    make_task(patients[0], day=DAY - timedelta(days=1))  # open yesterday: closed as missed, so "unreached"
    db.session.commit()
    assert len(call_lists._chunks(None)) >= 3

    calls = []
    real_execute = db.session.execute

    def fail_on_the_third_insert(statement, *args, **kwargs):
        if getattr(statement, "is_insert", False) and statement.table.name == "call_task":
            calls.append(statement)
            if len(calls) == 3:
                raise RuntimeError("the server went away")
        return real_execute(statement, *args, **kwargs)

    monkeypatch.setattr(db.session, "execute", fail_on_the_third_insert)
    with pytest.raises(RuntimeError):
        build_call_list(DAY, now=NOW)
    monkeypatch.setattr(db.session, "execute", real_execute)
    assert [today(p) for p in patients] == [[]] * 5

    assert build_call_list(DAY, now=NOW) == {"created": 6, "missed": 1}  # the warned one is called twice
    assert [len(today(p)) for p in patients] == [1, 1, 1, 2, 1]
    assert today(patients[0])[0].priority == priority.UNWELL_OR_UNREACHED
    assert today(warned)[0].priority == priority.UNWELL_OR_UNREACHED
    assert {today(p)[0].priority for p in (patients[1], patients[2], patients[4])} == {priority.ROUTINE}
    assert build_call_list(DAY, now=NOW)["created"] == 0


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


# --- check-ins yesterday: the same rules as the check-in service ------------------------------------------

CHECKINS = {  # what a patient reported yesterday on a check-in: CheckIn fields
    "fine": {"feeling_ok": True, "spo2": 97},
    "not_well": {"feeling_ok": False},
    "cough": {"feeling_ok": True, "symptoms": "cough"},
    "breathless": {"feeling_ok": True, "symptoms": "cough,breathlessness"},
    "confused": {"symptoms": "confusion"},
    "low_spo2": {"feeling_ok": True, "spo2": 91},
    "fever": {"feeling_ok": True, "temperature_f": 101.0},
    "nothing_said": {},
}


def _checkin_day(setting, old, fields, thresholds):
    """PatientDay by the pure rules: rules.routing.warning_signs and the check-in service's Report.is_unwell."""
    symptoms = tuple(s for s in fields.get("symptoms", "").split(",") if s)
    warning = bool(warning_signs(symptoms, fields.get("spo2"), thresholds))
    report = Report(feeling_ok=fields.get("feeling_ok"), spo2=fields.get("spo2"),
                    temperature_f=fields.get("temperature_f"), symptoms=symptoms)
    return PatientDay(setting, high_risk=old, warning_yesterday=warning,
                      unwell_or_unreached_yesterday=warning or report.is_unwell(thresholds))


def test_sql_matches_the_pure_rules_for_checkins(district):
    """A check-in's warning sign (a warning symptom as well as a low SpO2) and any sign of being unwell count
    as they do for the check-in service."""
    thresholds = settings.thresholds()
    expected, cases = {}, {}
    for setting, old, (name, fields) in itertools.product(("home", "ccc"), (False, True), CHECKINS.items()):
        patient = make_patient(district, setting=setting, age=70 if old else 30)
        make_checkin(patient, YESTERDAY_NOON, **fields)
        day = _checkin_day(setting, old, fields, thresholds)
        expected[patient.id] = (calls_today(day), task_priority(day))
        cases[(setting, old, name)] = patient.id
    build_call_list(DAY, now=NOW)
    built = {}
    for task in db.session.scalars(db.select(CallTask).where(CallTask.task_date == DAY)):
        count, prio = built.get(task.patient_id, (0, task.priority))
        built[task.patient_id] = (count + 1, prio)
    assert built == expected
    # What the check-in's symptoms decide, for a young patient at home: a warning symptom, as a low SpO2,
    # means two calls today; any symptom moves the call up.
    young_at_home = {name: built[cases[("home", False, name)]] for name in CHECKINS}
    unwell = priority.UNWELL_OR_UNREACHED
    assert young_at_home == {"fine": (1, priority.ROUTINE), "not_well": (1, unwell), "cough": (1, unwell),
                             "breathless": (2, unwell), "confused": (2, unwell), "low_spo2": (2, unwell),
                             "fever": (1, unwell), "nothing_said": (1, priority.ROUTINE)}


# --- patients arriving during the day ----------------------------------------------------------------------

MORNING_SLOT = local_to_utc(datetime(2021, 5, 20, 8, 0))
AFTERNOON_SLOT = local_to_utc(datetime(2021, 5, 20, 15, 0))


def at(hour, minute=0):
    return local_to_utc(datetime(2021, 5, 20, hour, minute))


def slots_due(patient):
    return [(t.slot, t.due_at, t.reason) for t in today(patient)]


@pytest.mark.parametrize("now, twice_a_day, once_a_day", [
    # Before the morning slot: the first call at once, the afternoon one at its time.
    (at(6, 30), [(1, at(6, 30)), (2, AFTERNOON_SLOT)], [(1, at(6, 30))]),
    # During the morning: the same (the morning call is the one due now).
    (at(10), [(1, at(10)), (2, AFTERNOON_SLOT)], [(1, at(10))]),
    # After the afternoon slot began: one call, due now, not two overdue ones.
    (at(17, 30), [(2, at(17, 30))], [(1, at(17, 30))]),
])
def test_a_patient_added_during_the_day_gets_the_slots_still_ahead(district, now, twice_a_day, once_a_day):
    high_risk_home = make_patient(district, age=70)
    normal = make_patient(district, age=30)
    ccc = make_patient(district, setting="ccc", age=70)
    made = add_tasks_for_patients([high_risk_home.id, normal.id, ccc.id], DAY, now, reason="line_list")
    db.session.commit()
    assert made == len(twice_a_day) + 2 * len(once_a_day)
    assert [(s, d) for s, d, _r in slots_due(high_risk_home)] == twice_a_day
    assert [(s, d) for s, d, _r in slots_due(normal)] == once_a_day
    assert [(s, d) for s, d, _r in slots_due(ccc)] == once_a_day
    assert {r for p in (high_risk_home, normal, ccc) for _s, _d, r in slots_due(p)} == {"line_list"}
    assert {t.priority for t in today(high_risk_home)} == {priority.HIGH_RISK}
    assert today(normal)[0].priority == priority.ROUTINE


def test_patients_added_during_the_day_get_nothing_twice(district):
    patient = make_patient(district, age=70)       # two calls a day at home
    other = make_patient(district, age=30)          # not in the list given
    ended = make_patient(district, age=70, status="recovered")
    make_task(patient, day=DAY, slot=1, due_at=MORNING_SLOT)
    assert add_tasks_for_patients([patient.id, ended.id], DAY, at(10)) == 1
    db.session.commit()
    assert [(s, d, r) for s, d, r in slots_due(patient)] == [(1, MORNING_SLOT, "daily"),
                                                               (2, AFTERNOON_SLOT, "new_patient")]
    assert today(other) == [] and today(ended) == []
    assert add_tasks_for_patients([patient.id], DAY, at(10)) == 0
    # The daily list built (again) afterwards adds nothing for them; a SELECT of ids works as well as a list.
    assert add_tasks_for_patients(db.select(CallTask.patient_id).where(CallTask.task_date == DAY), DAY,
                                  at(11)) == 0
    db.session.commit()
    assert build_call_list(DAY, now=at(11))["created"] == 1  # only `other`
    assert len(today(patient)) == 2


def test_a_patient_added_after_the_afternoon_slot_with_a_morning_call_gets_one_more_due_now(district):
    """High risk found out in the evening (an import updated the record): the second call of the day, due now."""
    patient = make_patient(district, age=70)
    make_task(patient, day=DAY, slot=1, due_at=MORNING_SLOT, status=TaskStatus.DONE)
    assert add_tasks_for_patients([patient.id], DAY, at(18)) == 1
    db.session.commit()
    assert [(s, d) for s, d, _r in slots_due(patient)] == [(1, MORNING_SLOT), (2, at(18))]
