"""APScheduler, done properly for Sampark.

- Each scheduler process keeps its jobs in memory (APScheduler's job stores must never be shared by several
  schedulers). What survives a restart and what several processes agree on is the database's JobRun claim
  (jobs.runner): every run goes through it, so exactly one process runs each day's job.
- On start, and again every CATCH_UP_INTERVAL_SECONDS, a catch-up runs any daily job whose time today has
  passed without a successful run: a scheduler that was down at 07:00 builds the list when it comes back, and a
  run whose process was killed mid-build is taken over (job_runs.claim) by whichever scheduler checks next.
- The same pass writes this scheduler's heartbeat (read by /readyz) and marks failed the runs whose process
  died (a killed `flask make-call-lists`), so none stays 'running'.
- Several scheduler processes may run (for availability); each schedules every job, and the claim decides.
"""
import logging
import signal
import threading
from datetime import time

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from callcenter.clock import to_local, utcnow
from callcenter.services.core import job_runs

from . import runner

log = logging.getLogger(__name__)


def fire(app, job):
    """A daily job's time: one run, recorded and claimed (jobs.runner), in an app context."""
    with app.app_context():
        runner.run(job, trigger="scheduled")


def tick(app, job):
    """An interval job's time: one pass, not recorded."""
    with app.app_context():
        runner.tick(job)


def housekeeping(app, started_at):
    """Every CATCH_UP_INTERVAL_SECONDS: heartbeat, catch-up, and runs left by dead processes closed."""
    with app.app_context():
        try:
            job_runs.beat_scheduler(started_at)
            catch_up(app)
            job_runs.sweep()
        except Exception:  # the database may be down for a moment: the next pass tries again
            log.exception("scheduler housekeeping failed")


def job_time(app, module):
    return time.fromisoformat(app.config[module.CONFIG_TIME])


def trigger_for(app, module):
    t = job_time(app, module)
    return CronTrigger(hour=t.hour, minute=t.minute, timezone=app.config["TIMEZONE"])


def create(app):
    """A scheduler for this process (not started), its jobs in memory."""
    return BackgroundScheduler(
        job_defaults={"coalesce": True, "max_instances": 1,
                      "misfire_grace_time": app.config["SCHEDULER_MISFIRE_GRACE_HOURS"] * 3600},
        timezone=app.config["TIMEZONE"])


def start(app, now=None):
    """Start the scheduler: add the jobs, catch up on today's, then run."""
    scheduler = create(app)
    for name, module in runner.JOBS.items():
        scheduler.add_job(fire, trigger=trigger_for(app, module), args=[app, name], id=name, name=name)
    for name, module in runner.INTERVAL_JOBS.items():
        trigger = IntervalTrigger(seconds=app.config[module.CONFIG_INTERVAL], timezone=app.config["TIMEZONE"])
        scheduler.add_job(tick, trigger=trigger, args=[app, name], id=name, name=name)
    started_at = utcnow()
    with app.app_context():
        job_runs.beat_scheduler(started_at)
    catch_up(app, now)
    scheduler.add_job(housekeeping, trigger=IntervalTrigger(seconds=app.config["CATCH_UP_INTERVAL_SECONDS"],
                                                             timezone=app.config["TIMEZONE"]),
                      args=[app, started_at], id="housekeeping", name="housekeeping")
    scheduler.start()
    for job in scheduler.get_jobs():
        log.info("scheduled %s: next run %s", job.id, job.next_run_time)
    return scheduler


def catch_up(app, now=None):
    """Run each daily job whose time has passed today without a successful run."""
    now = now or utcnow()
    local_now = to_local(now)
    with app.app_context():
        for name, module in runner.JOBS.items():
            if local_now.time() >= job_time(app, module) and job_runs.due_today(name, now):
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
    with app.app_context():
        job_runs.scheduler_stopped()
