"""Running a job once, recorded in a JobRun (see callcenter/services/core/job_runs.py for the claim)."""
import logging
import uuid

from callcenter.clock import utcnow
from callcenter.ops import metrics
from callcenter.services.core import job_runs

from . import (
    checkins_enqueue,
    checkins_window_end,
    daily_call_list,
    daily_figures,
    dashboard_snapshots,
    escalation_deadlines,
    import_queue,
    outbox_sender,
    release_reviews,
    retention,
)

# Daily, at CONFIG_TIME.
JOBS = {m.NAME: m for m in (daily_call_list, release_reviews, checkins_enqueue, checkins_window_end, daily_figures,
                            retention)}
# Every CONFIG_INTERVAL seconds; scheduled passes are not recorded (see tick), manual and shell runs are.
INTERVAL_JOBS = {m.NAME: m for m in (outbox_sender, escalation_deadlines, import_queue, dashboard_snapshots)}
log = logging.getLogger(__name__)


def run(job, trigger="scheduled", run_key=None, user=None, now=None, **kwargs):
    """Run `job` once for `run_key` (default: today's date; manual runs get a key of their own).

    Returns the JobRun, or None when another process already ran or is running it.
    """
    module = JOBS.get(job) or INTERVAL_JOBS[job]
    now = now or utcnow()
    if run_key is None:
        daily = trigger in ("scheduled", "catch_up")
        run_key = job_runs.daily_key(now) if daily else f"{trigger}-{uuid.uuid4().hex[:12]}"
    record = job_runs.claim(job, run_key, trigger, user, now)
    if record is None:
        log.info("%s %s: already run or running elsewhere", job, run_key)
        return None
    try:
        with job_runs.Heartbeat(record.id):
            rows, details = metrics.timed(job, module.run, now, user=user, **kwargs)
    except Exception as exc:  # recorded and shown to the nodal officer; the next attempt may retry
        log.exception("%s %s failed", job, run_key)
        return job_runs.fail(record.id, f"{type(exc).__name__}: {exc}")
    except BaseException:  # Ctrl+C or SIGTERM (a CLI run, a scheduler stopping): not left 'running'
        job_runs.fail(record.id, job_runs.STOPPED)
        raise
    log.info("%s %s: %s rows", job, run_key, rows)
    return job_runs.finish(record.id, rows, details)


def tick(job, now=None):
    """One scheduled pass of an interval job, without a JobRun (the job keeps itself to one at a time).
    Returns (rows, details), or None if it failed (logged; the next pass tries again)."""
    try:
        return metrics.timed(job, INTERVAL_JOBS[job].run, now or utcnow())
    except Exception:
        log.exception("%s pass failed", job)
        return None
