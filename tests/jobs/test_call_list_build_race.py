"""Two writers of the same day's list at the same moment, on PostgreSQL: the advisory lock runs them one
after the other (the second creates nothing), and a task that got past the lock fails the build instead of
doubling a call (the unique constraint)."""
import threading
import time
from datetime import datetime

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError

from callcenter.clock import local_to_utc
from callcenter.extensions import db
from callcenter.models import CallTask
from callcenter.services.calls import call_lists

from ..factories import make_patient

NOW = local_to_utc(datetime(2021, 5, 20, 7, 0))
DAY = NOW.date()
pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _postgres_only(is_postgres):
    if not is_postgres:
        pytest.skip("the advisory lock and concurrent writers are PostgreSQL's; SQLite serialises writers")


def _in_threads(app, works):
    """Run each work() in a thread of its own (its own app context, session and connection)."""
    results, errors = [None] * len(works), []

    def run(i):
        with app.app_context():
            try:
                results[i] = works[i]()
            except Exception as exc:  # reported to the test
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(works))]
    for t in threads:
        t.start()
    return threads, results, errors


def _wait_until(conn, sql, expected, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if conn.execute(text(sql)).scalar() == expected:
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {sql!r} to be {expected}")


def _count(day=DAY):
    return db.session.scalar(db.select(db.func.count()).select_from(CallTask).where(CallTask.task_date == day))


def test_two_builds_at_once_run_one_after_the_other(app, district):
    for age in (30, 70, 30, 70):
        make_patient(district, age=age)  # 1 + 2 + 1 + 2 calls
    waiting = ("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
               f"AND classid::bigint = {call_lists.CALL_LIST_LOCK} AND objid::bigint = {DAY.toordinal()}")
    with db.engine.connect() as holder, db.engine.connect() as watcher:
        holder.execute(text("SELECT pg_advisory_xact_lock(:lock, :day)"),
                       {"lock": call_lists.CALL_LIST_LOCK, "day": DAY.toordinal()})
        build = lambda: call_lists.build_call_list(DAY, now=NOW)  # noqa: E731
        threads, results, errors = _in_threads(app, [build, build])
        _wait_until(watcher, waiting, 2)  # both builds are at the lock, neither has read anything yet
        holder.commit()  # let them go
        for t in threads:
            t.join(timeout=60)
    assert errors == []
    assert sorted(r["created"] for r in results) == [0, 6]
    assert _count() == 6


def test_an_import_waits_for_the_build_and_adds_only_what_is_missing(app, district):
    """add_tasks_for_patients (a line-list import) takes the same lock: no unique violation, nothing twice."""
    patients = [make_patient(district, age=70) for _ in range(3)]
    ids = [p.id for p in patients]
    waiting = ("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
               f"AND classid::bigint = {call_lists.CALL_LIST_LOCK}")
    with db.engine.connect() as holder, db.engine.connect() as watcher:
        holder.execute(text("SELECT pg_advisory_xact_lock(:lock, :day)"),
                       {"lock": call_lists.CALL_LIST_LOCK, "day": DAY.toordinal()})

        def add():
            made = call_lists.add_tasks_for_patients(ids, DAY, NOW)
            db.session.commit()
            return made

        threads, results, errors = _in_threads(app, [lambda: call_lists.build_call_list(DAY, now=NOW), add])
        _wait_until(watcher, waiting, 2)
        holder.commit()
        for t in threads:
            t.join(timeout=60)
    assert errors == []
    assert sorted([results[0]["created"], results[1]]) == [0, 6]
    assert _count() == 6


def test_a_task_made_past_the_lock_fails_the_build_instead_of_doubling_a_call(app, district):
    patient = make_patient(district)
    blocked = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
    with db.engine.connect() as rogue, db.engine.connect() as watcher:
        # Another writer that ignores the lock: today's slot 1 for the patient, not committed yet.
        rogue.execute(insert(CallTask).values(
            patient_id=patient.id, district_id=district.id, setting="home", task_date=DAY, slot=1, due_at=NOW,
            priority=3, status="pending", attempts=0, reason="rogue", created_at=NOW))
        threads, results, errors = _in_threads(app, [lambda: call_lists.build_call_list(DAY, now=NOW)])
        _wait_until(watcher, blocked, 1)  # the build's insert waits on the rogue row's unique key
        rogue.commit()
        threads[0].join(timeout=60)
    assert len(errors) == 1 and isinstance(errors[0], IntegrityError), errors
    assert "uq_call_task_patient_day_slot" in str(errors[0])
    assert [t.reason for t in db.session.scalars(db.select(CallTask).where(CallTask.task_date == DAY))] == ["rogue"]
