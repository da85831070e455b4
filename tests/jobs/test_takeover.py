"""A run whose process died is taken over within a minute, by any scheduler; none is left 'running'.

The killed processes here are real: a child process claims the run (the real claim, on the test's database)
and is killed with SIGKILL or SIGTERM while its job is under way.
"""
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from callcenter.clock import local_to_utc, utcnow
from callcenter.extensions import db
from callcenter.models import CallTask, JobRun, SchedulerBeat
from callcenter.services.core import job_runs, liveness
from jobs import runner, scheduler

from ..factories import make_patient

ROOT = Path(__file__).resolve().parents[2]
NOW = local_to_utc(datetime(2021, 5, 20, 9, 0))
# A child that runs a job whose build pauses (so it can be killed mid-way), saying when it is under way.
CHILD = """
import sys, time
from datetime import datetime
from callcenter import create_app
from callcenter.clock import local_to_utc
from jobs import daily_call_list, runner
real = daily_call_list.run
def paused(now, user=None, day=None):
    print("building", flush=True)
    time.sleep(60)
    return real(now, user=user, day=day)
daily_call_list.run = paused
app = create_app("config.TestConfig")
with app.app_context():
    if sys.argv[1] == "cli":
        from callcenter.commands import interrupt_on_sigterm
        interrupt_on_sigterm()
    runner.run("daily_call_list", trigger=sys.argv[1], now=local_to_utc(datetime(2021, 5, 20, 9, 0)))
"""


def start_child(app, trigger="scheduled"):
    env = dict(os.environ, PYTHONPATH=str(ROOT), SAMPARK_TEST_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               JOB_HEARTBEAT_SECONDS="1")
    child = subprocess.Popen([sys.executable, "-c", CHILD, trigger], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    line = child.stdout.readline()
    assert line.strip() == "building", child.stderr.read()
    return child


def stop(child, sig):
    child.send_signal(sig)
    child.communicate(timeout=10)  # reaps it and closes its pipes


def the_run():
    db.session.expire_all()
    return db.session.scalar(db.select(JobRun))


def test_a_build_killed_mid_way_is_taken_over_at_once_by_the_next_scheduler(app, district):
    for _ in range(3):
        make_patient(district)
    child = start_child(app)
    held = the_run()
    assert (held.status, held.owner.split(":")[1]) == ("running", str(child.pid))
    assert runner.run("daily_call_list", now=NOW) is None  # alive: left to it
    stop(child, signal.SIGKILL)
    # Before, the row stayed 'running' and nothing took it for 30 minutes: no call list that day.
    taken = runner.run("daily_call_list", now=NOW + timedelta(seconds=1))
    assert (taken.id, taken.status, taken.tries, taken.rows) == (held.id, "succeeded", 2, 3)
    assert taken.owner == liveness.this_process()
    assert db.session.scalar(db.select(db.func.count()).select_from(CallTask)) == 3


def test_the_scheduler_checks_again_without_being_restarted(app, district, monkeypatch):
    """A scheduler already running (for availability) takes over at its next housekeeping pass."""
    make_patient(district)
    monkeypatch.setitem(app.config, "CATCH_UP_INTERVAL_SECONDS", 1)
    monkeypatch.setitem(app.config, "CALL_LIST_TIME", "00:00")
    for name in runner.JOBS:  # only the call list is due in this test
        if name != "daily_call_list":
            monkeypatch.setitem(app.config, runner.JOBS[name].CONFIG_TIME, "23:59")
    child = start_child(app)
    # the child's run is keyed by 2021-05-20; this scheduler works on today: give the child today's key
    db.session.execute(update(JobRun).values(run_key=job_runs.daily_key(utcnow())))
    db.session.commit()
    running = scheduler.start(app)  # its catch-up at start finds the child alive and stands down
    try:
        assert [(r.status, r.tries) for r in db.session.scalars(db.select(JobRun))] == [("running", 1)]
        stop(child, signal.SIGKILL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and the_run().status != "succeeded":
            time.sleep(0.2)
        run = the_run()
        assert (run.status, run.tries, run.trigger, run.rows) == ("succeeded", 2, "catch_up", 1)
        assert db.session.scalar(db.select(SchedulerBeat.owner)) == liveness.this_process()
    finally:
        running.shutdown()


def test_a_run_on_another_machine_is_taken_over_when_its_heartbeat_is_stale(app, district):
    make_patient(district)
    stale = app.config["JOB_STALE_SECONDS"]
    db.session.add(JobRun(job="daily_call_list", run_key="2021-05-20", trigger="scheduled", status="running",
                          started_at=NOW, owner="another-host:4242:1", heartbeat_at=NOW - timedelta(seconds=5),
                          details={}))
    db.session.commit()
    assert runner.run("daily_call_list", now=NOW) is None  # it beat 5 s ago: alive
    taken = runner.run("daily_call_list", now=NOW + timedelta(seconds=stale + 1))
    assert (taken.status, taken.tries, taken.rows) == ("succeeded", 2, 1)
    assert stale <= 30  # "taken over within a minute", with a catch-up pass at most CATCH_UP_INTERVAL later
    assert stale + app.config["CATCH_UP_INTERVAL_SECONDS"] < 60


def test_a_killed_cli_build_is_not_left_running(app, district):
    make_patient(district)
    child = start_child(app, trigger="cli")
    stop(child, signal.SIGKILL)
    assert the_run().status == "running"  # nothing could write otherwise as it died …
    assert job_runs.sweep() == 1           # … so the scheduler's next pass says so
    run = the_run()
    assert (run.status, run.error) == ("failed", job_runs.STOPPED) and run.finished_at is not None


def test_a_cli_build_stopped_with_sigterm_says_so_itself(app, district):
    make_patient(district)
    child = start_child(app, trigger="cli")
    stop(child, signal.SIGTERM)
    run = the_run()
    assert (run.status, run.error) == ("failed", job_runs.STOPPED)
    assert db.session.scalar(db.select(db.func.count()).select_from(CallTask)) == 0


def test_a_failing_job_is_retried_a_few_times_then_left_for_an_officer(app, district, monkeypatch):
    from jobs import daily_call_list

    make_patient(district)
    monkeypatch.setattr(daily_call_list, "run", lambda now, user=None, day=None: 1 / 0)
    tries = app.config["JOB_MAX_TRIES"]
    for _ in range(tries + 2):
        if job_runs.due_today("daily_call_list", NOW):
            runner.run("daily_call_list", trigger="catch_up", now=NOW)
    run = the_run()
    assert (run.status, run.tries) == ("failed", tries)


@pytest.mark.postgres
def test_the_heartbeat_is_refreshed_while_the_job_runs(app, district, is_postgres, monkeypatch):
    if not is_postgres:
        pytest.skip("on SQLite the process check decides (one machine's database; its writer lock holds beats)")
    from jobs import daily_call_list

    make_patient(district)
    monkeypatch.setitem(app.config, "JOB_HEARTBEAT_SECONDS", 0.2)
    seen = []

    def slow(now, user=None, day=None):
        for _ in range(2):
            time.sleep(0.5)
            with db.engine.connect() as other:  # what another scheduler reads meanwhile
                seen.append(other.scalar(db.select(JobRun.heartbeat_at)))
        return 0, {}

    monkeypatch.setattr(daily_call_list, "run", slow)
    started = utcnow()
    runner.run("daily_call_list", now=NOW)
    assert seen[0] > started and seen[1] > seen[0]
