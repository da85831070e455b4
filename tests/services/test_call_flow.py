"""The core loop through the services: claim, log, escalate, and the rules around it."""
from datetime import timedelta

import pytest

from callcenter.clock import utcnow
from callcenter.extensions import db
from callcenter.models import AuditLog, CallAttempt, Escalation, Need, TaskStatus
from callcenter.services.calls import calls, queue
from callcenter.services.core.errors import Conflict, Forbidden, Invalid

from ..factories import make_patient, make_task, make_user


def test_claim_gives_most_urgent_due_task(district):
    volunteer = make_user("volunteer", district)
    routine = make_task(make_patient(district), priority=3)
    urgent = make_task(make_patient(district), priority=1)
    make_task(make_patient(district), priority=0, due_at=utcnow() + timedelta(hours=1))  # not due yet
    task = queue.claim_next_task(volunteer)
    assert task.id == urgent.id
    assert task.status == TaskStatus.CLAIMED and task.claimed_by_id == volunteer.id
    assert routine.id != task.id


def test_connected_call_with_ambulance_raises_emergency(district):
    volunteer = make_user("volunteer", district)
    task = make_task(make_patient(district))
    queue.claim_next_task(volunteer)
    logged = calls.log_attempt(task.id, volunteer, {"outcome": "connected", "needs": ["ambulance"], "spo2": 90},
                               "key-1")
    assert logged.created
    esc = db.session.scalars(db.select(Escalation)).one()
    assert (esc.kind, esc.desk, esc.severity, esc.status) == ("ambulance", "control_room", "emergency", "open")
    assert esc.respond_by is not None
    assert db.session.get(type(task), task.id).status == TaskStatus.DONE
    assert db.session.scalars(db.select(Need)).one().escalation_id == esc.id
    assert db.session.scalar(db.select(AuditLog).where(AuditLog.action == "escalation.raise"))


def test_double_submission_records_one_attempt(district):
    volunteer = make_user("volunteer", district)
    task = make_task(make_patient(district))
    queue.claim_next_task(volunteer)
    first = calls.log_attempt(task.id, volunteer, {"outcome": "connected", "needs": ["medicine"]}, "same-key")
    second = calls.log_attempt(task.id, volunteer, {"outcome": "connected", "needs": ["medicine"]}, "same-key")
    assert first.created and not second.created
    assert second.attempt.id == first.attempt.id
    assert db.session.scalar(db.select(db.func.count()).select_from(CallAttempt)) == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(Escalation)) == 1


def test_out_of_range_vitals_refused(district):
    volunteer = make_user("volunteer", district)
    task = make_task(make_patient(district))
    queue.claim_next_task(volunteer)
    with pytest.raises(Invalid) as exc:
        calls.log_attempt(task.id, volunteer, {"outcome": "connected", "spo2": 150, "temperature_f": 120}, "k")
    assert set(exc.value.errors) == {"spo2", "temperature_f"}
    assert db.session.scalar(db.select(db.func.count()).select_from(CallAttempt)) == 0


def test_cannot_log_on_someone_elses_task(district):
    a, b = make_user("volunteer", district), make_user("volunteer", district)
    task = make_task(make_patient(district))
    queue.claim_next_task(a)
    with pytest.raises(Conflict):
        calls.log_attempt(task.id, b, {"outcome": "connected"}, "k")


def test_control_room_cannot_take_calls(district):
    with pytest.raises(Forbidden):
        queue.claim_next_task(make_user("control_room", district))
