"""Registering a patient: the rules, the duplicate check, history and today's call."""
from datetime import date, datetime, timedelta

import pytest

from callcenter.clock import local_date, local_to_utc
from callcenter.extensions import db
from callcenter.models import AuditLog, CallTask, Patient, Transfer
from callcenter.rules.priority import HIGH_RISK, ROUTINE
from callcenter.services.core.errors import Conflict, Forbidden, Invalid
from callcenter.services.records.patients import register_patient

from ..factories import facility, make_district, make_user, village


def data(district, **overrides):
    values = {"name": "Sunita Sahu", "age": 42, "sex": "female", "phone": "098260 12345", "setting": "home",
              "positive_date": local_date() - timedelta(days=1), "language": "hi",
              "village_id": village(district).id, "comorbidities": []}
    values.update(overrides)
    return values


MORNING = local_to_utc(datetime(2021, 5, 20, 10, 0))    # 10:00 in Raipur: the afternoon slot is ahead
EVENING = local_to_utc(datetime(2021, 5, 20, 16, 0))    # 16:00: it has begun


def calls_today():
    return db.session.scalars(db.select(CallTask).order_by(CallTask.slot)).all()


def test_registration_creates_patient_history_and_todays_calls(district):
    """A high-risk patient at home is called twice a day (the daily list's policy): the first call due now,
    the second in the afternoon slot."""
    nodal = make_user("nodal_officer", district)
    patient = register_patient(data(district, comorbidities=["diabetes"], positive_date=date(2021, 5, 19)), nodal,
                               now=MORNING)
    assert patient.phone == "+919826012345" and patient.district_id == district.id
    assert patient.isolation_start_date == patient.positive_date
    transfer = db.session.scalars(db.select(Transfer)).one()
    assert (transfer.from_setting, transfer.to_setting, transfer.reason) == (None, "home", "registered")
    first, second = calls_today()
    assert (first.patient_id, first.task_date, first.status, first.priority, first.reason) == (
        patient.id, date(2021, 5, 20), "pending", HIGH_RISK, "new_patient")
    assert (first.slot, first.due_at) == (1, MORNING)
    assert (second.slot, second.due_at) == (2, local_to_utc(datetime(2021, 5, 20, 15, 0)))
    logged = db.session.scalar(db.select(AuditLog).where(AuditLog.action == "patient.register"))
    assert (logged.entity_id, logged.details["calls_today"]) == (patient.id, 2)


def test_registered_after_the_afternoon_slot_began_one_call_due_now(district):
    register_patient(data(district, comorbidities=["diabetes"], positive_date=date(2021, 5, 19)),
                     make_user("nodal_officer", district), now=EVENING)
    [task] = calls_today()
    assert (task.slot, task.due_at, task.priority) == (2, EVENING, HIGH_RISK)


def test_low_risk_patient_gets_one_routine_call(district):
    register_patient(data(district, age=30, positive_date=date(2021, 5, 19)), make_user("nodal_officer", district),
                     now=MORNING)
    [task] = calls_today()
    assert (task.slot, task.due_at, task.priority) == (1, MORNING, ROUTINE)


def test_hospital_patient_is_called_once_whatever_the_risk(district):
    register_patient(data(district, age=75, setting="hospital", facility_id=facility(district, "hospital").id,
                          positive_date=date(2021, 5, 19)), make_user("nodal_officer", district), now=MORNING)
    assert len(calls_today()) == 1


@pytest.mark.parametrize("overrides, field", [
    ({"phone": "12345"}, "phone"),
    ({"phone": "+14155552671"}, "phone"),
    ({"attendant_phone": "not a phone"}, "attendant_phone"),
    ({"age": 130}, "age"),
    ({"age": -1}, "age"),
    ({"age": None}, "age"),
    ({"name": "   "}, "name"),
    ({"sex": "x"}, "sex"),
    ({"abha_number": "12-3456"}, "abha_number"),
    ({"setting": "hospital"}, "facility_id"),          # a hospital patient needs a hospital
    ({"setting": "spaceship"}, "setting"),
    ({"positive_date": date.today() + timedelta(days=3)}, "positive_date"),
    ({"positive_date": None}, "positive_date"),
    ({"comorbidities": ["vampirism"]}, "comorbidities"),
    ({"language": "fr"}, "language"),
])
def test_invalid_fields_are_named(district, overrides, field):
    with pytest.raises(Invalid) as exc:
        register_patient(data(district, **overrides), make_user("nodal_officer", district))
    assert field in exc.value.errors
    assert db.session.scalar(db.select(db.func.count()).select_from(Patient)) == 0


def test_facility_must_match_setting_and_district(district):
    other = make_district()
    nodal = make_user("nodal_officer", district)
    with pytest.raises(Invalid) as exc:
        register_patient(data(district, setting="hospital", facility_id=facility(district, "ccc").id), nodal)
    assert "facility_id" in exc.value.errors
    with pytest.raises(Invalid):
        register_patient(data(district, setting="hospital", facility_id=facility(other, "hospital").id), nodal)
    with pytest.raises(Invalid) as exc:
        register_patient(data(district, village_id=village(other).id), nodal)
    assert "village_id" in exc.value.errors
    patient = register_patient(data(district, setting="hospital", facility_id=facility(district, "hospital").id,
                                    attendant_phone="9826099999"), nodal)
    assert patient.call_phone == "+919826099999"  # hospital patients are reached through the attendant


def test_abha_is_stored_as_digits(district):
    patient = register_patient(data(district, abha_number="91-1234-5678-9012"), make_user("nodal_officer", district))
    assert patient.abha_number == "91123456789012" and patient.abha_display == "91-1234-5678-9012"


def test_duplicate_active_patient_refused_case_and_spacing_ignored(district):
    nodal = make_user("nodal_officer", district)
    register_patient(data(district), nodal)
    with pytest.raises(Conflict):
        register_patient(data(district, name="  sunita   SAHU", phone="+919826012345"), nodal)
    # same phone, different name: a family member sharing a phone is allowed
    register_patient(data(district, name="Ramesh Sahu"), nodal)
    assert db.session.scalar(db.select(db.func.count()).select_from(Patient)) == 2


def test_duplicate_rule_is_enforced_by_the_database(district):
    from sqlalchemy.exc import IntegrityError

    from ..factories import make_patient
    make_patient(district, name="Asha", phone_number="+919826012345")
    with pytest.raises(IntegrityError):
        make_patient(district, name="asha", phone_number="+919826012345")
    db.session.rollback()


def test_recovered_patient_can_be_registered_again(district):
    nodal = make_user("nodal_officer", district)
    first = register_patient(data(district), nodal)
    first.status = "recovered"
    db.session.commit()
    assert register_patient(data(district), nodal).id != first.id


@pytest.mark.parametrize("role", ["volunteer", "control_room", "doctor", "counsellor"])
def test_only_nodal_officer_and_admin_register(district, role):
    with pytest.raises(Forbidden):
        register_patient(data(district), make_user(role, district))


def test_district_user_registers_only_into_own_district(district):
    other = make_district()
    patient = register_patient(data(district, district_id=other.id), make_user("nodal_officer", district))
    assert patient.district_id == district.id


def test_state_level_admin_must_choose_district(district):
    admin = make_user("admin", None)
    with pytest.raises(Invalid) as exc:
        register_patient(data(district), admin)
    assert "district_id" in exc.value.errors
    assert register_patient(data(district, district_id=district.id), admin).district_id == district.id
