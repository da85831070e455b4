"""The scheduler: persistent jobs, a missed 07:00 run made up once, catch-up on a first start."""
import time as clock
from datetime import datetime, time, timedelta, timezone

import pytest
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import text

from callcenter.clock import local_date, local_to_utc, utcnow
from callcenter.extensions import db
from callcenter.models import CallTask, JobRun
from jobs import runner, scheduler

from ..factories import make_patient


@pytest.fixture
def clean_job_store(app):
    yield
    scheduler._app = None
    with db.engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {scheduler.JOB_TABLE}"))


def local_today_at(hour, minute=0):
    return local_to_utc(datetime.combine(local_date(), time(hour, minute)))


def wait_for_runs(count, seconds=20):
    deadline = clock.monotonic() + seconds
    while clock.monotonic() < deadline:
        db.session.expire_all()
        found = db.session.scalars(db.select(JobRun)).all()
        if len(found) >= count and all(r.status != "running" for r in found):  # finished, not just begun
            return found
        clock.sleep(0.1)
    return db.session.scalars(db.select(JobRun)).all()


def test_first_start_after_the_hour_builds_todays_list(app, district, clean_job_store):
    make_patient(district)
    running = scheduler.start(app, now=local_today_at(9, 30))
    try:
        # every daily job whose time has passed (07:00 list, 07:15 reviews, 09:00 check-ins …)
        due = {name for name, module in runner.JOBS.items() if scheduler.job_time(app, module) <= time(9, 30)}
        assert {"daily_call_list", "release_reviews", "checkins_enqueue"} <= due
        assert {(r.job, r.trigger, r.status) for r in db.session.scalars(db.select(JobRun))} == {
            (name, "catch_up", "succeeded") for name in due}
        assert {j.id for j in running.get_jobs()} == set(runner.JOBS) | {"outbox_sender", "escalation_deadlines",
                                                                      "import_queue", "dashboard_snapshots"}
        next_run = running.get_job("daily_call_list").next_run_time
        assert (next_run.hour, next_run.minute, next_run.utcoffset()) == (7, 0, timedelta(hours=5, minutes=30))
        # the outbox sender runs every few seconds, its passes not recorded as job runs
        sender = running.get_job("outbox_sender")
        assert sender.trigger.interval == timedelta(seconds=app.config["OUTBOX_SEND_INTERVAL_SECONDS"])
        assert sender.func_ref == "jobs.scheduler:tick"
    finally:
        running.shutdown()


def test_start_before_the_hour_waits_for_it(app, district, clean_job_store):
    make_patient(district)
    running = scheduler.start(app, now=local_today_at(6, 0))
    running.shutdown()
    assert db.session.scalars(db.select(JobRun)).all() == []


def test_a_missed_run_is_made_up_once_when_the_scheduler_comes_back(app, district, clean_job_store):
    make_patient(district)
    # The scheduler stored its 07:00 job, then the server was down when it was due. (The stand-in for
    # the dead process must not run the job itself: APScheduler would try while shutting down.)
    down = scheduler.create(app)
    down._process_jobs = lambda: None
    down.start(paused=True)
    down.add_job("jobs.scheduler:fire", trigger=CronTrigger(hour=7, minute=0, timezone=app.config["TIMEZONE"]),
                 args=["daily_call_list"], id="daily_call_list", name="daily_call_list",
                 next_run_time=datetime.now(timezone.utc) - timedelta(hours=1))
    down.shutdown()

    # Back up (at a time when the catch-up would not fire, so this is APScheduler's misfire handling).
    running = scheduler.start(app, now=local_today_at(6, 0))
    try:
        runs = wait_for_runs(1)
        assert [(r.job, r.trigger, r.status) for r in runs] == [("daily_call_list", "scheduled", "succeeded")]
        assert running.get_job("daily_call_list").next_run_time > datetime.now(timezone.utc)
    finally:
        running.shutdown()
    assert db.session.scalar(db.select(db.func.count()).select_from(CallTask)) == 1

    # A second restart the same day does not build it again.
    again = scheduler.start(app, now=utcnow())
    again.shutdown()
    daily = db.session.scalars(db.select(JobRun).where(JobRun.job == "daily_call_list")).all()
    assert len(daily) == 1


def test_an_interval_pass_is_not_recorded(app, district, clean_job_store):
    from callcenter.models import OutboundMessage
    from callcenter.services.outbox import outbox

    patient = make_patient(district)
    outbox.enqueue_sms("tick:1", patient.phone, "checkin_reply", "en", patient_id=patient.id)
    db.session.commit()
    scheduler._app = app
    scheduler.tick("outbox_sender")  # what APScheduler calls every OUTBOX_SEND_INTERVAL_SECONDS
    db.session.expire_all()
    assert db.session.scalar(db.select(OutboundMessage.status)) == "sent"
    assert db.session.scalars(db.select(JobRun)).all() == []
