"""Job runs: recorded, once per day, taken over after a failure, and safe with two processes."""
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from callcenter.clock import local_to_utc
from callcenter.extensions import db
from callcenter.models import CallTask, JobRun
from callcenter.services.core import job_runs
from jobs import daily_call_list
from jobs import runner as job_runner

from ..factories import make_patient, make_user

NOW = local_to_utc(datetime(2021, 5, 20, 7, 0))
ROOT = Path(__file__).resolve().parents[2]


def runs():
    return db.session.scalars(db.select(JobRun).order_by(JobRun.id)).all()


def test_a_run_is_recorded(district):
    for _ in range(3):
        make_patient(district)
    run = job_runner.run("daily_call_list", now=NOW)
    assert (run.status, run.rows, run.run_key, run.trigger) == ("succeeded", 3, "2021-05-20", "scheduled")
    assert run.details == {"day": "2021-05-20", "created": 3, "missed": 0}
    assert run.started_at == NOW and run.finished_at is not None


def test_the_same_day_runs_once(district):
    make_patient(district)
    assert job_runner.run("daily_call_list", now=NOW) is not None
    assert job_runner.run("daily_call_list", now=NOW + timedelta(minutes=5)) is None
    assert job_runner.run("daily_call_list", trigger="catch_up", now=NOW + timedelta(hours=2)) is None
    assert len(runs()) == 1
    # a manual run always runs (the build itself is idempotent) and is recorded with who asked
    nodal = make_user("nodal_officer", district)
    manual = job_runner.run("daily_call_list", trigger="manual", user=nodal, now=NOW)
    assert (manual.status, manual.rows, manual.user_id) == ("succeeded", 0, nodal.id)


def test_a_failed_run_is_recorded_and_the_next_attempt_retries(district, monkeypatch):
    make_patient(district)

    def broken(now, user=None, day=None):
        raise RuntimeError("database went away")

    monkeypatch.setattr(daily_call_list, "run", broken)
    failed = job_runner.run("daily_call_list", now=NOW)
    assert failed.status == "failed" and "database went away" in failed.error
    assert db.session.scalar(db.select(db.func.count()).select_from(CallTask)) == 0
    monkeypatch.undo()
    retried = job_runner.run("daily_call_list", now=NOW + timedelta(minutes=10))
    assert (retried.id, retried.status, retried.tries, retried.rows) == (failed.id, "succeeded", 2, 1)


def test_a_run_held_by_a_live_process_is_left_to_it(district):
    make_patient(district)
    job_runs.claim("daily_call_list", "2021-05-20", "scheduled", None, NOW)  # this process: alive, still building
    assert job_runner.run("daily_call_list", now=NOW + timedelta(hours=3)) is None
    assert [(r.status, r.tries) for r in runs()] == [("running", 1)]


def test_make_call_lists_command(runner, district):
    make_patient(district)
    result = runner.invoke(args=["make-call-lists", "--date", "2021-05-20"])
    assert result.exit_code == 0, result.output
    assert "Call list for 2021-05-20: 1 tasks created" in result.output
    again = runner.invoke(args=["make-call-lists", "--date", "2021-05-20"])
    assert "0 tasks created" in again.output
    assert runner.invoke(args=["make-call-lists", "--date", "20-05-2021"]).exit_code != 0


@pytest.mark.postgres
def test_two_processes_at_once_build_the_list_once(district, is_postgres):
    """Two scheduler processes fire the same 07:00 job at the same moment, on PostgreSQL."""
    if not is_postgres:
        pytest.skip("needs PostgreSQL: two processes sharing one SQLite file is not a production set-up")
    for age in (30, 70, 30, 70):
        make_patient(district, age=age)
    script = (
        "from datetime import datetime\n"
        "from callcenter import create_app\n"
        "from callcenter.clock import local_to_utc\n"
        "from jobs import runner\n"
        "app = create_app('config.TestConfig')\n"
        "with app.app_context():\n"
        "    run = runner.run('daily_call_list', now=local_to_utc(datetime(2021, 5, 20, 7, 0)))\n"
        "    print('ran' if run else 'stood down')\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert sorted(out.strip() for out, _err in outputs) == ["ran", "stood down"]
    assert db.session.scalar(db.select(db.func.count()).select_from(CallTask)) == 6
    assert [(r.status, r.rows) for r in runs()] == [("succeeded", 6)]
