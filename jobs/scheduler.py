"""APScheduler, done properly for Sampark.

- Jobs live in a persistent job store in the application's database, so a restart keeps their
  next run times; coalescing and a misfire grace time mean a scheduler that was down at 07:00 runs
  the missed job once when it comes back.
- On start, a catch-up runs any daily job whose time today has passed without a successful run
  (this also covers the very first start of a new deployment).
- Several scheduler processes may run (for availability): every run goes through jobs.runner, whose
  JobRun claim lets exactly one of them run each day's job.
"""
import logging
import signal
import threading
from datetime import time

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.pool import NullPool

from callcenter.clock import to_local, utcnow
from callcenter.services.core import job_runs

from . import runner

log = logging.getLogger(__name__)
_app = None  # the application the stored jobs run in (set by start())
JOB_TABLE = "apscheduler_jobs"


def fire(job):
    """What APScheduler calls (stored by reference as "jobs.scheduler:fire"): one run, in an app context."""
    with _started_app().app_context():
        runner.run(job, trigger="scheduled")


def tick(job):
    """What APScheduler calls for an interval job ("jobs.scheduler:tick"): one pass, not recorded."""
    with _started_app().app_context():
        runner.tick(job)


def _started_app():
    """The application start() was given. A job only fires in a scheduler that start() set up in this process,
    so the app is always there; jobs never build an app of their own (the app factory imports the commands,
    which import this module)."""
    if _app is None:
        raise RuntimeError("jobs.scheduler.start(app) has not run in this process")
    return _app


def job_time(app, module):
    return time.fromisoformat(app.config[module.CONFIG_TIME])


def trigger_for(app, module):
    t = job_time(app, module)
    return CronTrigger(hour=t.hour, minute=t.minute, timezone=app.config["TIMEZONE"])


def create(app):
    """A scheduler over the application's database (not started)."""
    # Its own engine: the job store disposes of it on shutdown, which must not touch the app's pool.
    # Unpooled: the scheduler reads it once per wake-up, and a shutdown that races a read leaves no
    # pooled connection behind.
    store = SQLAlchemyJobStore(url=app.config["SQLALCHEMY_DATABASE_URI"], tablename=JOB_TABLE,
                               engine_options={"poolclass": NullPool})
    return BackgroundScheduler(
        jobstores={"default": store},
        job_defaults={"coalesce": True, "max_instances": 1,
                      "misfire_grace_time": app.config["SCHEDULER_MISFIRE_GRACE_HOURS"] * 3600},
        timezone=app.config["TIMEZONE"])


def start(app, now=None):
    """Start the scheduler: register the jobs (keeping stored next run times), catch up, then run."""
    global _app
    _app = app
    scheduler = create(app)
    scheduler.start(paused=True)
    for name, module in runner.JOBS.items():
        trigger = trigger_for(app, module)
        stored = scheduler.get_job(name)
        if stored is None:
            scheduler.add_job("jobs.scheduler:fire", trigger=trigger, args=[name], id=name, name=name)
        elif str(stored.trigger) != str(trigger):
            scheduler.reschedule_job(name, trigger=trigger)
        # otherwise the stored job stands, with its next run time: if that passed while we were
        # down, APScheduler runs it once on resume (coalesced, within the misfire grace time).
    for name, module in runner.INTERVAL_JOBS.items():
        trigger = IntervalTrigger(seconds=app.config[module.CONFIG_INTERVAL], timezone=app.config["TIMEZONE"])
        stored = scheduler.get_job(name)
        if stored is None:
            scheduler.add_job("jobs.scheduler:tick", trigger=trigger, args=[name], id=name, name=name)
        elif str(stored.trigger) != str(trigger):
            scheduler.reschedule_job(name, trigger=trigger)
    catch_up(app, now)
    scheduler.resume()
    for job in scheduler.get_jobs():
        log.info("scheduled %s: next run %s", job.id, job.next_run_time)
    return scheduler


def catch_up(app, now=None):
    """Run each daily job whose time has passed today without a successful run."""
    now = now or utcnow()
    local_now = to_local(now)
    with app.app_context():
        for name, module in runner.JOBS.items():
            if local_now.time() >= job_time(app, module) and not job_runs.succeeded_today(name, now):
                log.info("catching up %s for %s", name, local_now.date())
                runner.run(name, trigger="catch_up", now=now)


def run_forever(app):
    """The `flask scheduler` process: start, then wait for SIGTERM/SIGINT and shut down cleanly."""
    scheduler = start(app)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    scheduler.shutdown()
