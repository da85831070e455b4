"""Claiming, timeouts, retries, unreachable patients and call-backs."""
from datetime import timedelta

import pytest

from callcenter.clock import utcnow
from callcenter.extensions import db
from callcenter.models import CallTask, Escalation, TaskStatus
from callcenter.services.calls import calls, queue
from callcenter.services.core import settings
from callcenter.services.core.errors import Conflict, NotFound

from ..factories import make_district, make_patient, make_task, make_user


def fresh(task):
    return db.session.get(CallTask, task.id, populate_existing=True)


def test_empty_queue_gives_none(district):
    assert queue.claim_next_task(make_user("volunteer", district)) is None


def test_volunteer_keeps_the_call_they_hold(district):
    volunteer = make_user("volunteer", district)
    first = make_task(make_patient(district), priority=2)
    make_task(make_patient(district), priority=3)
    assert queue.claim_next_task(volunteer).id == first.id
    assert queue.claim_next_task(volunteer).id == first.id  # not a second task


def test_two_volunteers_get_different_tasks(district):
    a, b = make_user("volunteer", district), make_user("volunteer", district)
    make_task(make_patient(district))
    make_task(make_patient(district))
    assert queue.claim_next_task(a).id != queue.claim_next_task(b).id
    assert queue.claim_next_task(make_user("volunteer", district)) is None


def test_other_districts_tasks_are_never_offered(district):
    make_task(make_patient(make_district()))
    assert queue.claim_next_task(make_user("volunteer", district)) is None


def test_state_level_officer_can_take_any_district(district):
    task = make_task(make_patient(district))
    assert queue.claim_next_task(make_user("nodal_officer", None)).id == task.id


def test_queue_per_setting(district):
    volunteer = make_user("volunteer", district)
    make_task(make_patient(district, setting="home"), priority=0)
    hospital = make_task(make_patient(district, setting="hospital"), priority=3)
    assert queue.claim_next_task(volunteer, setting="hospital").id == hospital.id
    assert queue.queue_counts(volunteer) == {"hospital": 0, "ccc": 0, "home": 1}


def test_abandoned_claim_returns_to_queue_after_timeout(district):
    a, b = make_user("volunteer", district), make_user("volunteer", district)
    task = make_task(make_patient(district))
    now = utcnow()
    queue.claim_next_task(a, now=now)
    timeout = settings.get("claim_timeout_minutes")
    assert queue.claim_next_task(b, now=now + timedelta(minutes=timeout - 1)) is None
    taken = queue.claim_next_task(b, now=now + timedelta(minutes=timeout + 1))
    assert taken.id == task.id and taken.claimed_by_id == b.id
    # the first volunteer's late submission is refused, not silently recorded on b's call
    with pytest.raises(Conflict):
        calls.log_attempt(task.id, a, {"outcome": "connected"}, "late", now=now + timedelta(minutes=timeout + 2))


def test_stale_claims_are_released_at_most_every_30_seconds_per_district(district):
    """A claim releases the district's stale claims first, but not again within 30 s (one UPDATE less on most
    claims); so a stale claim waits at most 30 s more, and another district's claims are not held back."""
    a, b, c = (make_user("volunteer", district) for _ in range(3))
    other = make_district("Bastar")
    elsewhere = make_user("volunteer", other)
    task, later = make_task(make_patient(district)), make_task(make_patient(district), priority=9)
    far = make_task(make_patient(other))
    now = utcnow()
    timeout = timedelta(minutes=settings.get("claim_timeout_minutes"))
    assert queue.claim_next_task(a, now=now).id == task.id
    assert queue.claim_next_task(elsewhere, now=now).id == far.id
    stale = now + timeout + timedelta(seconds=1)
    assert queue.claim_next_task(b, now=stale - timedelta(seconds=10)).id == later.id  # released here: none stale
    assert queue.claim_next_task(c, now=stale) is None  # 10 s later: not released again yet
    assert fresh(task).claimed_by_id == a.id
    assert queue.claim_next_task(c, now=stale + timedelta(seconds=21)).id == task.id  # 31 s later: released
    other_user = make_user("volunteer", other)
    assert queue.claim_next_task(other_user, now=stale).id == far.id  # Bastar's first release: at once


def test_release_puts_task_back(district):
    volunteer = make_user("volunteer", district)
    task = make_task(make_patient(district))
    queue.claim_next_task(volunteer)
    queue.release_task(task.id, volunteer)
    assert fresh(task).status == TaskStatus.PENDING and fresh(task).claimed_by_id is None
    with pytest.raises(Conflict):
        queue.release_task(task.id, volunteer)


def test_release_of_other_district_task_is_not_found(district):
    task = make_task(make_patient(make_district()))
    with pytest.raises(NotFound):
        queue.release_task(task.id, make_user("volunteer", district))


@pytest.mark.parametrize("outcome", ["no_answer", "busy", "switched_off"])
def test_failed_attempt_retries_then_unreachable_with_field_visit(district, outcome):
    volunteer = make_user("volunteer", district)
    task = make_task(make_patient(district))
    now = utcnow()
    interval = timedelta(minutes=settings.get("retry_interval_minutes"))
    for attempt in range(1, settings.get("max_attempts_per_day")):
        assert queue.claim_next_task(volunteer, now=now).id == task.id
        calls.log_attempt(task.id, volunteer, {"outcome": outcome}, f"k{attempt}", now=now)
        assert fresh(task).status == TaskStatus.PENDING
        assert fresh(task).due_at == now + interval
        assert queue.claim_next_task(volunteer, now=now + interval - timedelta(seconds=1)) is None  # not due yet
        now += interval
    queue.claim_next_task(volunteer, now=now)
    logged = calls.log_attempt(task.id, volunteer, {"outcome": outcome}, "last", now=now)
    assert fresh(task).status == TaskStatus.UNREACHABLE
    [esc] = logged.escalations
    assert (esc.kind, esc.desk, esc.severity) == ("field_visit", "control_room", "routine")
    assert esc.reasons == [["attempts", settings.get("max_attempts_per_day")]]


def test_call_back_later_makes_task_due_then(district):
    volunteer = make_user("volunteer", district)
    task = make_task(make_patient(district))
    now = utcnow()
    queue.claim_next_task(volunteer, now=now)
    later = now + timedelta(hours=3)
    calls.log_attempt(task.id, volunteer, {"outcome": "call_back_later", "callback_at": later}, "k", now=now)
    assert (fresh(task).status, fresh(task).due_at) == (TaskStatus.PENDING, later)


def test_callback_time_must_be_in_the_next_two_days(district):
    volunteer = make_user("volunteer", district)
    task = make_task(make_patient(district))
    queue.claim_next_task(volunteer)
    for when in (utcnow() - timedelta(minutes=5), utcnow() + timedelta(days=3)):
        with pytest.raises(calls.Invalid) as exc:
            calls.log_attempt(task.id, volunteer, {"outcome": "call_back_later", "callback_at": when}, "k")
        assert "callback_at" in exc.value.errors


def test_wrong_number_closes_task_and_asks_control_room_to_check(district):
    volunteer = make_user("volunteer", district)
    task = make_task(make_patient(district))
    queue.claim_next_task(volunteer)
    logged = calls.log_attempt(task.id, volunteer, {"outcome": "wrong_number"}, "k")
    assert fresh(task).status == TaskStatus.CANCELLED
    assert task.patient.phone_invalid
    assert [e.kind for e in logged.escalations] == ["phone_check"]


def test_needs_only_on_connected_calls(district):
    volunteer = make_user("volunteer", district)
    task = make_task(make_patient(district))
    queue.claim_next_task(volunteer)
    with pytest.raises(calls.Invalid):
        calls.log_attempt(task.id, volunteer, {"outcome": "no_answer", "needs": ["ambulance"]}, "k")
    assert db.session.scalar(db.select(db.func.count()).select_from(Escalation)) == 0


def test_connected_well_patient_completes_task_without_escalation(district):
    volunteer = make_user("volunteer", district)
    task = make_task(make_patient(district))
    queue.claim_next_task(volunteer)
    logged = calls.log_attempt(task.id, volunteer,
                               {"outcome": "connected", "spo2": 97, "temperature_f": 98.4, "symptoms": ["cough"]}, "k")
    assert fresh(task).status == TaskStatus.DONE and logged.escalations == []


def test_repeat_report_adds_to_the_open_escalation(district):
    volunteer = make_user("volunteer", district)
    patient = make_patient(district)
    first, second = make_task(patient, slot=1), make_task(patient, slot=2)
    queue.claim_next_task(volunteer)
    calls.log_attempt(first.id, volunteer, {"outcome": "connected", "needs": ["medicine"]}, "k1")
    queue.claim_next_task(volunteer)
    calls.log_attempt(second.id, volunteer, {"outcome": "connected", "needs": ["medicine"], "notes": "again"}, "k2")
    [esc] = db.session.scalars(db.select(Escalation)).all()
    assert [n.text for n in esc.notes] == ["again"]


def test_a_paused_queue_is_skipped(district):
    from callcenter.services.dashboard import actions as dashboard_actions
    volunteer = make_user("volunteer", district)
    home = make_task(make_patient(district, setting="home"), priority=0)
    ccc = make_task(make_patient(district, setting="ccc"), priority=3)
    dashboard_actions.pause_queue(make_user("nodal_officer", district), "home", reason="shift change")
    assert queue.claim_next_task(volunteer).id == ccc.id
    assert home.id != ccc.id
