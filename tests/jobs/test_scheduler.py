"""The scheduler: jobs in memory per process, a missed 07:00 run made up once, catch-up on a first start."""
import time as clock
from datetime import datetime, time, timedelta

from callcenter.clock import local_date, local_to_utc
from callcenter.extensions import db
from callcenter.models import CallTask, JobRun
from jobs import runner, scheduler

from ..factories import make_patient


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


def test_first_start_after_the_hour_builds_todays_list(app, district):
    make_patient(district)
    running = scheduler.start(app, now=local_today_at(9, 30))
    try:
        # every daily job whose time has passed (07:00 list, 07:15 reviews, 09:00 check-ins …)
        due = {name for name, module in runner.JOBS.items() if scheduler.job_time(app, module) <= time(9, 30)}
        assert {"daily_call_list", "release_reviews", "checkins_enqueue"} <= due
        assert {(r.job, r.trigger, r.status) for r in db.session.scalars(db.select(JobRun))} == {
            (name, "catch_up", "succeeded") for name in due}
        assert {j.id for j in running.get_jobs()} == set(runner.JOBS) | {"outbox_sender", "escalation_deadlines",
                                                                      "import_queue", "dashboard_snapshots",
                                                                      "housekeeping"}
        next_run = running.get_job("daily_call_list").next_run_time
        assert (next_run.hour, next_run.minute, next_run.utcoffset()) == (7, 0, timedelta(hours=5, minutes=30))
        # the outbox sender runs every few seconds, its passes not recorded as job runs
        sender = running.get_job("outbox_sender")
        assert sender.trigger.interval == timedelta(seconds=app.config["OUTBOX_SEND_INTERVAL_SECONDS"])
        assert (sender.func, sender.args) == (scheduler.tick, (app, "outbox_sender"))
    finally:
        running.shutdown()


def test_start_before_the_hour_waits_for_it(app, district):
    make_patient(district)
    running = scheduler.start(app, now=local_today_at(6, 0))
    running.shutdown()
    # Only the night's jobs (retention, 02:30) are due at 06:00; the morning's wait for their hour.
    night = {name for name, module in runner.JOBS.items() if scheduler.job_time(app, module) <= time(6, 0)}
    assert night == {"retention"}
    assert {r.job for r in db.session.scalars(db.select(JobRun))} == night
    assert db.session.scalar(db.select(db.func.count()).select_from(CallTask)) == 0


def test_a_missed_run_is_made_up_once_when_the_scheduler_comes_back(app, district):
    make_patient(district)
    # The scheduler was down at 07:00 and comes back at 09:30: it builds today's list once …
    running = scheduler.start(app, now=local_today_at(9, 30))
    running.shutdown()
    daily = db.session.scalars(db.select(JobRun).where(JobRun.job == "daily_call_list")).all()
    assert [(r.trigger, r.status) for r in daily] == [("catch_up", "succeeded")]
    assert db.session.scalar(db.select(db.func.count()).select_from(CallTask)) == 1

    # … and a second restart the same day does not build it again (the JobRun record is what lasts).
    again = scheduler.start(app, now=local_today_at(10, 0))
    again.shutdown()
    daily = db.session.scalars(db.select(JobRun).where(JobRun.job == "daily_call_list")).all()
    assert len(daily) == 1


def test_two_schedulers_keep_their_own_jobs(app):
    """Each process's scheduler holds its jobs in memory: no job store is shared between processes."""
    first, second = scheduler.create(app), scheduler.create(app)
    for one in (first, second):
        one.start(paused=True)
    try:
        first.add_job(scheduler.tick, "interval", seconds=60, args=[app, "outbox_sender"], id="outbox_sender")
        assert second.get_job("outbox_sender") is None
    finally:
        first.shutdown()
        second.shutdown()


def test_an_interval_pass_is_not_recorded(app, district):
    from callcenter.models import OutboundMessage
    from callcenter.services.outbox.enqueue import enqueue_sms

    patient = make_patient(district)
    enqueue_sms("tick:1", patient.phone, "checkin_reply", "en", patient_id=patient.id)
    db.session.commit()
    scheduler.tick(app, "outbox_sender")  # what APScheduler calls every OUTBOX_SEND_INTERVAL_SECONDS
    db.session.expire_all()
    assert db.session.scalar(db.select(OutboundMessage.status)) == "sent"
    assert db.session.scalars(db.select(JobRun)).all() == []
