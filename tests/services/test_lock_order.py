"""A volunteer's call and a change to the same patient at the same moment, on PostgreSQL.

Logging a call locks the task, then writes the patient (last contact), then an escalation (a need raised
again adds a note to the open one). Whatever else changes a patient — a transfer, an "admitted" outcome,
the end of the follow-up — must take its locks in that same order (tasks, patient, escalation), or the two
deadlock: PostgreSQL then aborts one of them after a second, and a volunteer or an operator gets an error
page at 2 a.m. Here a second connection plays the call step by step while the service runs in a thread.
"""
import threading
import time

import pytest
from sqlalchemy import text

from callcenter.clock import local_date, utcnow
from callcenter.extensions import db
from callcenter.models import DischargeReview, Escalation, Patient, TaskStatus, User
from callcenter.services.desks import discharge, escalations, field_visits
from callcenter.services.records import transfers

from ..factories import facility, make_patient, make_task, make_user

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _postgres_only(is_postgres):
    if not is_postgres:
        pytest.skip("row locks and deadlocks are PostgreSQL's; SQLite serialises writers")


def _call_meanwhile(app, task_id, patient_id, esc_id, change):
    """Lock the task (the volunteer's call is open), start `change` in a thread, wait until it waits for a
    lock, then do what logging the call does next: write the patient and note the open escalation. Returns
    the errors of both sides."""
    errors = []

    def run():
        with app.app_context():
            try:
                change()
            except Exception as exc:  # reported below
                errors.append(("change", exc))
            finally:
                db.session.remove()

    thread = threading.Thread(target=run)
    with db.engine.connect() as call:
        try:
            call.execute(text("SET LOCAL lock_timeout = '10s'"))
            call.execute(text("SELECT id FROM call_task WHERE id = :id FOR UPDATE"), {"id": task_id})
            thread.start()
            _wait_until_someone_waits_for_a_lock(call)
            call.execute(text("UPDATE patient SET last_contact_at = :now WHERE id = :id"),
                         {"now": utcnow(), "id": patient_id})
            call.execute(text("INSERT INTO escalation_note (escalation_id, at, text) VALUES (:esc, :now, '')"),
                         {"esc": esc_id, "now": utcnow()})
            call.execute(text("UPDATE call_task SET status = 'done', claimed_by_id = NULL WHERE id = :id"),
                         {"id": task_id})
            call.commit()
        except Exception as exc:
            errors.append(("call", exc))
            call.rollback()
    thread.join(timeout=30)
    assert not thread.is_alive()
    return errors


def _wait_until_someone_waits_for_a_lock(conn):
    for _ in range(300):
        # pg_stat_activity is read once per transaction unless the snapshot is cleared.
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        waiting = conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )).scalar()
        if waiting:
            return
        time.sleep(0.05)
    raise AssertionError("the change never waited for the call's lock")


@pytest.fixture
def scene(district):
    patient = make_patient(district, age=70)
    task = make_task(patient, status=TaskStatus.CLAIMED)
    esc = escalations.raise_escalation(patient, "ambulance", "control_room", "emergency", "call")
    db.session.commit()
    operator, officer = make_user("control_room", district), make_user("nodal_officer", district)
    escalations.acknowledge(esc.id, operator)
    hospital = facility(district, "hospital")
    return {"patient": patient.id, "task": task.id, "esc": esc.id, "operator": operator.id,
            "officer": officer.id, "hospital": hospital.id}


def _as(user_id):
    return db.session.get(User, user_id)


def test_admitted_while_a_volunteer_logs_the_call(app, scene):
    def admit():
        escalations.resolve(scene["esc"], _as(scene["operator"]), "Admitted at the district hospital",
                            outcome="admitted", facility_id=scene["hospital"])

    assert _call_meanwhile(app, scene["task"], scene["patient"], scene["esc"], admit) == []
    db.session.expire_all()
    assert db.session.get(Escalation, scene["esc"]).status == "resolved"
    assert db.session.get(Patient, scene["patient"]).setting == "hospital"


def test_transfer_while_a_volunteer_logs_the_call(app, scene):
    def move():
        transfers.transfer(scene["patient"], _as(scene["officer"]), "hospital", scene["hospital"], "Oxygen")

    assert _call_meanwhile(app, scene["task"], scene["patient"], scene["esc"], move) == []
    db.session.expire_all()
    assert db.session.get(Patient, scene["patient"]).setting == "hospital"


def test_follow_up_ended_while_a_volunteer_logs_the_call(app, scene):
    def end():
        transfers.end(scene["patient"], _as(scene["officer"]), "moved_out", "Went to Nagpur")

    assert _call_meanwhile(app, scene["task"], scene["patient"], scene["esc"], end) == []
    db.session.expire_all()
    assert db.session.get(Patient, scene["patient"]).status == "moved_out"
    assert db.session.get(Escalation, scene["esc"]).status == "cancelled"


def test_field_visit_result_while_a_volunteer_logs_the_call(app, scene):
    patient = db.session.get(Patient, scene["patient"])
    visit = escalations.raise_escalation(patient, field_visits.KIND, "control_room", "routine", "call")
    db.session.commit()

    def record():
        field_visits.record(visit.id, _as(scene["operator"]), "died", note="Died at home last night")

    assert _call_meanwhile(app, scene["task"], scene["patient"], visit.id, record) == []
    db.session.expire_all()
    assert db.session.get(Patient, scene["patient"]).status == "died"
    assert db.session.get(Escalation, visit.id).outcome == "died"


def test_discharge_while_a_volunteer_logs_the_call(app, scene, district):
    review = DischargeReview(patient_id=scene["patient"], district_id=district.id, flagged_on=local_date(),
                             flagged_at=utcnow())
    db.session.add(review)
    db.session.commit()
    doctor = make_user("doctor", district).id

    def decide():
        discharge.decide(review.id, _as(doctor), discharge=True, note="Ten days, no fever")

    assert _call_meanwhile(app, scene["task"], scene["patient"], scene["esc"], decide) == []
    db.session.expire_all()
    assert db.session.get(Patient, scene["patient"]).status == "recovered"
