"""The retention job is a daily job like the others (recorded in JobRun, once a day, at RETENTION_TIME), and
`flask retention [--dry-run]` counts or runs it from the shell."""
from datetime import timedelta

from callcenter.clock import utcnow
from callcenter.extensions import db
from callcenter.models import JobRun, Patient
from callcenter.services.records import retention
from jobs import retention as retention_job
from jobs import runner as job_runner
from jobs import scheduler

from ..factories import make_patient


def _closed(district, days_ago, phone):
    return make_patient(district, phone_number=phone, status="died", ended_at=utcnow() - timedelta(days=days_ago))


def test_the_job_is_scheduled_and_recorded(app, district):
    assert job_runner.JOBS["retention"] is retention_job
    assert app.config[retention_job.CONFIG_TIME] == "02:30"
    assert scheduler.job_time(app, retention_job).isoformat() == "02:30:00"
    gone, kept = _closed(district, 200, "+919826011001"), _closed(district, 100, "+919826011002")
    run = job_runner.run("retention", now=utcnow())
    assert (run.status, run.trigger, run.rows) == ("succeeded", "scheduled", 1)
    assert run.details["patients"] == 1 and run.details["days"] == 180
    assert db.session.get(Patient, gone.id).anonymised_at is not None
    assert db.session.get(Patient, kept.id).anonymised_at is None
    assert job_runner.run("retention", now=utcnow() + timedelta(minutes=1)) is None  # once a day


def test_the_dry_run_command_counts_and_changes_nothing(runner, district):
    _closed(district, 200, "+919826011003")
    result = runner.invoke(args=["retention", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Dry run, nothing changed" in result.output
    assert [line.split() for line in result.output.splitlines() if line.strip().startswith("patients")] == [
        ["patients", "1"]]
    assert db.session.scalar(db.select(db.func.count(JobRun.id))) == 0
    assert retention.plan()["patients"] == 1


def test_the_command_runs_the_job_once(runner, district):
    patient = _closed(district, 40, "+919826011004")
    result = runner.invoke(args=["retention", "--days", "30"])
    assert result.exit_code == 0, result.output
    assert "Retention (30 days)" in result.output
    run = db.session.scalar(db.select(JobRun))
    assert (run.job, run.trigger, run.status, run.details["patients"]) == ("retention", "cli", "succeeded", 1)
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).phone == ""
    again = runner.invoke(args=["retention", "--days", "30"])
    assert again.exit_code == 0 and db.session.scalars(db.select(JobRun.rows).order_by(JobRun.id)).all() == [1, 0]
