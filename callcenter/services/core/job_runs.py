"""The record of scheduled-job runs (JobRun), and how a process claims a run.

(job, run_key) is unique, and inserting the row is how a process claims a run: when several scheduler
processes fire the same 07:00 job, one inserts the row and runs it, the others see the row and stand down.

A claim is tied to the process holding it (JobRun.owner, see liveness.py): while the run lasts its process
refreshes heartbeat_at every JOB_HEARTBEAT_SECONDS (Heartbeat, PostgreSQL). A failed run, or a running one whose
process is dead, is taken over by the next attempt: dead means gone (same host: certain, at once) or silent for
JOB_STALE_SECONDS (another host). SQLite is one machine's database and its single writer lock would hold the
heartbeat back during a long build, so there the process check alone decides.
"""
import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ...clock import local_date, utcnow
from ...extensions import db
from ...models import JobRun, RunStatus, SchedulerBeat
from . import liveness
from .tx import is_postgres

log = logging.getLogger(__name__)
STOPPED = "stopped"  # the error of a run whose process ended mid-way (labels.RUN_ERRORS says it in words)


def daily_key(now):
    """A daily job's run key: the call centre's local date."""
    return local_date(now).isoformat()


def _stale_before(now):
    return now - timedelta(seconds=current_app.config["JOB_STALE_SECONDS"])


def is_dead(run, now):
    """Whether a 'running' run's process is no longer running it."""
    if liveness.on_this_host(run.owner):
        return not liveness.alive_here(run.owner)
    return run.heartbeat_at is None or run.heartbeat_at < _stale_before(now)


def claim(job, run_key, trigger, user, now):
    """The JobRun this process may run, or None if another process has (or had) it. Commits."""
    owner = liveness.this_process()
    try:
        run = JobRun(job=job, run_key=run_key, trigger=trigger, status=RunStatus.RUNNING, started_at=now,
                     user_id=getattr(user, "id", None), details={}, owner=owner, heartbeat_at=utcnow())
        db.session.add(run)
        db.session.commit()
        return run
    except IntegrityError:
        db.session.rollback()
    run = db.session.scalar(db.select(JobRun).where(JobRun.job == job, JobRun.run_key == run_key))
    if run is None or not (run.status == RunStatus.FAILED or (run.status == RunStatus.RUNNING and is_dead(run, now))):
        db.session.commit()
        return None
    # Compare-and-set on what was read: a heartbeat or another taker since then makes this match nothing.
    taken = db.session.execute(
        update(JobRun).where(JobRun.id == run.id, JobRun.status == run.status, JobRun.tries == run.tries,
                             JobRun.owner == run.owner, _same_heartbeat(run.heartbeat_at))
        .values(status=RunStatus.RUNNING, started_at=now, trigger=trigger, error="", tries=JobRun.tries + 1,
                owner=owner, heartbeat_at=utcnow(), finished_at=None)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if not taken:
        return None
    if run.status == RunStatus.RUNNING:
        log.warning("%s %s: taken over from a process that stopped", job, run_key)
    db.session.refresh(run)
    return run


def _same_heartbeat(value):
    return JobRun.heartbeat_at.is_(None) if value is None else JobRun.heartbeat_at == value


def finish(run_id, rows, details):
    run = db.session.get(JobRun, run_id)
    run.status, run.rows, run.details, run.finished_at = RunStatus.SUCCEEDED, rows, details, utcnow()
    db.session.commit()
    return run


def fail(run_id, error):
    db.session.rollback()
    run = db.session.get(JobRun, run_id)
    run.status, run.error, run.finished_at = RunStatus.FAILED, error[:2000], utcnow()
    db.session.commit()
    return run


class Heartbeat:
    """Refreshes a claimed run's heartbeat_at from a thread of its own, on a connection of its own, while the
    run's transaction goes on (PostgreSQL; see the module's docstring for SQLite). Use as a context manager."""

    def __init__(self, run_id):
        self.run_id, self.owner = run_id, liveness.this_process()
        self.engine = db.engine if is_postgres() else None
        self.beating = liveness.Beating(current_app.config["JOB_HEARTBEAT_SECONDS"], self._beat, f"heartbeat-{run_id}")

    def __enter__(self):
        if self.engine is not None:
            self.beating.__enter__()
        return self

    def __exit__(self, *exc):
        if self.engine is not None:
            self.beating.__exit__(*exc)

    def _beat(self):
        table = JobRun.__table__
        try:
            liveness.write_beat(self.engine, update(table).where(
                table.c.id == self.run_id, table.c.owner == self.owner,
                table.c.status == RunStatus.RUNNING).values(heartbeat_at=utcnow()))
        except SQLAlchemyError:  # a missed beat is retried at the next; the run itself goes on
            log.warning("job run #%s: heartbeat not written", self.run_id, exc_info=True)


def sweep(now=None):
    """Mark failed every 'running' run whose process is dead (a killed CLI build, a crashed manual run), so the
    Jobs page does not say 'running' for ever. Daily runs are retaken by the catch-up whatever their state.
    Returns how many were marked."""
    now = now or utcnow()
    marked = 0
    for run in db.session.scalars(db.select(JobRun).where(JobRun.status == RunStatus.RUNNING)).all():
        if is_dead(run, now):
            marked += db.session.execute(
                update(JobRun).where(JobRun.id == run.id, JobRun.status == RunStatus.RUNNING,
                                     JobRun.owner == run.owner, _same_heartbeat(run.heartbeat_at))
                .values(status=RunStatus.FAILED, error=STOPPED, finished_at=now)
                .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if marked:
        log.warning("%s job run(s) whose process stopped marked failed", marked)
    return marked


def due_today(job, now):
    """Whether a daily job still needs today's run: none succeeded, and any failed one has tries left."""
    run = db.session.scalar(db.select(JobRun).where(JobRun.job == job, JobRun.run_key == daily_key(now)))
    if run is None:
        return True
    if run.status == RunStatus.FAILED:
        return run.tries < current_app.config["JOB_MAX_TRIES"]
    return run.status == RunStatus.RUNNING and is_dead(run, now)


def recent(limit=50):
    return db.session.scalars(db.select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc())
                              .limit(limit)).all()


def beat_scheduler(started_at, now=None):
    """This scheduler process is alive: its heartbeat row, written; rows of schedulers gone a day, removed."""
    now = now or utcnow()
    owner = liveness.this_process()
    beat = db.session.get(SchedulerBeat, owner)
    if beat is None:
        db.session.add(SchedulerBeat(owner=owner, started_at=started_at, seen_at=now))
    else:
        beat.seen_at = now
    db.session.execute(delete(SchedulerBeat).where(SchedulerBeat.seen_at < now - timedelta(days=1)))
    db.session.commit()


def scheduler_stopped():
    db.session.execute(delete(SchedulerBeat).where(SchedulerBeat.owner == liveness.this_process()))
    db.session.commit()


def scheduler_quiet(now=None):
    """Whether no scheduler process has shown a sign of life for three of its passes (jobs will not run)."""
    now = now or utcnow()
    seen = scheduler_heartbeat()
    return seen is None or seen < now - timedelta(seconds=3 * current_app.config["CATCH_UP_INTERVAL_SECONDS"])


def scheduler_heartbeat():
    """When a scheduler process last showed a sign of life (any of them), or None if none ever did."""
    return db.session.scalar(db.select(db.func.max(SchedulerBeat.seen_at)))
