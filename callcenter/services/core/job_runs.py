"""The record of scheduled-job runs (JobRun), and how a process claims a run.

(job, run_key) is unique, and inserting the row is how a process claims a run: when several
scheduler processes fire the same 07:00 job, one inserts the row and runs it, the others see the
row and stand down. A failed run, or one whose process died (still 'running' after STALE_AFTER),
may be taken over by the next attempt.
"""
from datetime import timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError

from ...clock import local_date, utcnow
from ...extensions import db
from ...models import JobRun, RunStatus

STALE_AFTER = timedelta(minutes=30)


def daily_key(now):
    """A daily job's run key: the call centre's local date."""
    return local_date(now).isoformat()


def claim(job, run_key, trigger, user, now):
    """The JobRun this process may run, or None if another process has (or had) it. Commits."""
    try:
        run = JobRun(job=job, run_key=run_key, trigger=trigger, status=RunStatus.RUNNING, started_at=now,
                     user_id=getattr(user, "id", None), details={})
        db.session.add(run)
        db.session.commit()
        return run
    except IntegrityError:
        db.session.rollback()
    taken = db.session.execute(
        update(JobRun).where(JobRun.job == job, JobRun.run_key == run_key, or_(
            JobRun.status == RunStatus.FAILED,
            (JobRun.status == RunStatus.RUNNING) & (JobRun.started_at < now - STALE_AFTER)))
        .values(status=RunStatus.RUNNING, started_at=now, trigger=trigger, error="", tries=JobRun.tries + 1)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if not taken:
        return None
    return db.session.scalar(db.select(JobRun).where(JobRun.job == job, JobRun.run_key == run_key))


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


def succeeded_today(job, now):
    return db.session.scalar(db.select(JobRun.id).where(
        JobRun.job == job, JobRun.run_key == daily_key(now), JobRun.status == RunStatus.SUCCEEDED)) is not None


def recent(limit=50):
    return db.session.scalars(db.select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc())
                              .limit(limit)).all()

