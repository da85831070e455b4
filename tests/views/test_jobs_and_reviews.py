"""The jobs page (runs shown, run now) and the discharge-review desk, over HTTP."""
import re
from datetime import datetime, time, timedelta

import pytest

import jobs.runner
from callcenter.clock import local_date, local_to_utc
from callcenter.extensions import db
from callcenter.models import CallTask, CheckIn, DischargeReview, JobRun, Patient
from callcenter.services.desks import discharge

from ..conftest import csrf_token
from ..factories import make_patient, make_user


def test_a_state_administrator_sees_runs_and_can_run_a_job_now(client, login, district):
    make_patient(district)
    nodal = make_user("admin")  # the jobs work for the whole state (district officers: tests/security)
    login(nodal)
    token = csrf_token(client, "/dashboard/jobs")
    response = client.post("/dashboard/jobs/run", data={"csrf_token": token, "job": "daily_call_list"},
                           follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Done: 1 rows." in html and "Daily call list" in html and "run now" in html
    run = db.session.scalars(db.select(JobRun)).one()
    assert (run.trigger, run.user_id, run.rows) == ("manual", nodal.id, 1)
    assert db.session.scalar(db.select(db.func.count()).select_from(CallTask)) == 1
    assert client.post("/dashboard/jobs/run", data={"csrf_token": token, "job": "rm -rf"}).status_code == 400


def test_jobs_page_says_when_no_scheduler_runs_and_which_runs_stopped(client, login, district):
    from callcenter.clock import utcnow
    from callcenter.services.core import job_runs

    now = utcnow()
    # a CLI build on this host whose process is gone (pid 0 is never a job's), and one on another machine, silent
    db.session.add_all([
        JobRun(job="daily_call_list", run_key="cli-1", trigger="cli", status="running", started_at=now,
               owner=f"{__import__('socket').gethostname()}:999999999:1", heartbeat_at=now, details={}),
        JobRun(job="daily_figures", run_key="cli-2", trigger="cli", status="running", started_at=now,
               owner="elsewhere:12:1", heartbeat_at=now - timedelta(minutes=5), details={})])
    db.session.commit()
    login(make_user("admin"))
    html = client.get("/dashboard/jobs").get_data(as_text=True)
    assert 'id="scheduler-quiet"' in html and "No scheduler is running" in html
    assert html.count("Stopped: its process ended") == 2
    job_runs.beat_scheduler(now)
    html = client.get("/dashboard/jobs").get_data(as_text=True)
    assert 'id="scheduler-alive"' in html and 'id="scheduler-quiet"' not in html
    job_runs.sweep()  # what the scheduler's next pass does: they are failed, with the reason in words
    html = client.get("/dashboard/jobs").get_data(as_text=True)
    assert html.count("Failed") == 2 and html.count("The process running it stopped before it finished") == 2
    assert all(r.status == "failed" for r in db.session.scalars(db.select(JobRun)))


def test_jobs_page_is_for_officers_only(client, login, district):
    login(make_user("volunteer", district))
    assert client.get("/dashboard/jobs").status_code == 403


def test_doctor_discharges_from_the_review_desk(client, login, district):
    patient = make_patient(district, name="Usha Markam", symptom_onset_date=local_date() - timedelta(days=12))
    discharge.flag_release_reviews(local_date())
    login(make_user("doctor", district))
    page = client.get("/desk/reviews").get_data(as_text=True)
    assert "Usha Markam" in page
    review = db.session.scalars(db.select(DischargeReview)).one()
    token = csrf_token(client, "/desk/reviews")
    response = client.post(f"/desk/reviews/{review.id}", data={"csrf_token": token, "decision": "continue"},
                           follow_redirects=True)
    assert "Say why isolation continues." in response.get_data(as_text=True)
    # Discharge asks to confirm first (issue 17): nothing is decided by the first click.
    response = client.post(f"/desk/reviews/{review.id}", data={"csrf_token": token, "decision": "discharge",
                                                               "note": "No fever, SpO2 98"}, follow_redirects=True)
    assert "Discharge Usha Markam?" in response.get_data(as_text=True)
    assert db.session.get(Patient, patient.id, populate_existing=True).status == "active"
    response = client.post(f"/desk/reviews/{review.id}", data={"csrf_token": token, "decision": "discharge",
                                                               "note": "No fever, SpO2 98", "confirmed": "yes"},
                           follow_redirects=True)
    assert "Usha Markam is discharged" in response.get_data(as_text=True)
    assert db.session.get(Patient, patient.id).status == "recovered"
    assert "No one is waiting for a review." in client.get("/desk/reviews").get_data(as_text=True)


def test_review_desk_roles(client, login, district):
    for role, status in (("volunteer", 403), ("control_room", 403), ("counsellor", 403), ("doctor", 200),
                         ("nodal_officer", 200)):
        login(make_user(role, district))
        assert client.get("/desk/reviews").status_code == status, role
        client.post("/logout", data={"csrf_token": csrf_token(client)})


def _run_now(client, job):
    token = csrf_token(client, "/dashboard/jobs")
    return client.post("/dashboard/jobs/run", data={"csrf_token": token, "job": job},
                       follow_redirects=True).get_data(as_text=True)


def test_run_now_outside_the_checkin_window_says_why_nothing_was_done(app, client, login, district, monkeypatch):
    """Issue 17: "Done: 0 rows" with no reason; the check-in job run after its window says so, with the window."""
    make_patient(district)
    monkeypatch.setitem(app.config, "CHECKIN_WINDOW_START", "09:00")
    monkeypatch.setitem(app.config, "CHECKIN_WINDOW_END", "11:30")
    afternoon = local_to_utc(datetime.combine(local_date(), time(15)))
    monkeypatch.setattr(jobs.runner, "utcnow", lambda: afternoon)
    admin = make_user("admin")
    login(admin)
    html = _run_now(client, "checkins_enqueue")
    assert "Done: 0 rows." not in html
    assert "Done, nothing to do: Today&#39;s check-in window (09:00–11:30) is over" in html
    assert "They go out again tomorrow from 09:00." in html
    # The runs table keeps the reason beside the run.
    row = re.search(r'<table class="table table-sm" id="job-runs">.*?</table>', html, re.S).group(0)
    assert "Error or note" in row and "check-in window (09:00–11:30) is over" in row
    admin.language = "hi"
    db.session.commit()
    html = _run_now(client, "checkins_enqueue")
    assert "आज की चेक-इन अवधि (09:00–11:30) खत्म हो चुकी है" in html


@pytest.mark.parametrize("job", sorted(jobs.runner.JOBS))
def test_every_job_that_does_nothing_says_why(client, login, job):
    """Each Run now button, on an empty database: never a bare "Done: 0 rows"."""
    login(make_user("admin"))
    html = _run_now(client, job)
    assert "Done: 0 rows." not in html
    assert "Done, nothing to do:" in html or re.search(r"Done: [1-9]\d* rows?\.", html), job


# ── Issue 17: the review list's latest readings, and the confirmation before a discharge ─────────────────

def _reviews(district, n):
    patients = [make_patient(district, name=f"Review Patient {i}", symptom_onset_date=local_date() - timedelta(days=12))
                for i in range(n)]
    discharge.flag_release_reviews(local_date())
    return patients


def test_the_review_list_shows_each_patients_latest_spo2_and_temperature(client, login, district):
    from callcenter.clock import utcnow
    from callcenter.templating import local_datetime

    from ..factories import make_attempt
    volunteer = make_user("volunteer", district)
    first, second = _reviews(district, 2)
    now = utcnow().replace(microsecond=0)
    make_attempt(first, volunteer, now - timedelta(hours=5), spo2=93, temperature_f=99.9)
    make_attempt(first, volunteer, now - timedelta(hours=2), spo2=97)  # the latest SpO2; temperature stays
    db.session.add(CheckIn(patient_id=first.id, channel="sms", at=now - timedelta(hours=1), temperature_f=98.4,
                           feeling_ok=True))
    db.session.commit()
    login(make_user("doctor", district))
    page = client.get("/desk/reviews").get_data(as_text=True)
    row = page.split(f'data-review="{_review_of(first).id}"', 1)[1].split("</tr>", 1)[0]
    assert "SpO2 <span" in row and "97%" in row and "93%" not in row
    assert "98.4 °F" in row and "99.9" not in row
    assert local_datetime(now - timedelta(hours=1)) in row
    other = page.split(f'data-review="{_review_of(second).id}"', 1)[1].split("</tr>", 1)[0]
    assert "No readings recorded" in other


def _review_of(patient):
    return db.session.scalars(db.select(DischargeReview).where(DischargeReview.patient_id == patient.id)).one()


def test_the_review_list_reads_readings_in_a_fixed_number_of_queries(client, login, district):
    from sqlalchemy import event

    from ..factories import make_attempt
    volunteer = make_user("volunteer", district)
    login(make_user("doctor", district))

    def statements():
        seen = []
        listener = lambda *args, **kwargs: seen.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get("/desk/reviews").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    from callcenter.clock import utcnow
    for patient in _reviews(district, 2):
        make_attempt(patient, volunteer, utcnow() - timedelta(hours=1), spo2=96, temperature_f=98.6)
    few = statements()
    db.session.execute(db.delete(DischargeReview))
    db.session.commit()
    for patient in _reviews(district, 6):
        make_attempt(patient, volunteer, utcnow() - timedelta(hours=1), spo2=96, temperature_f=98.6)
    assert statements() == few


def test_the_confirmation_shows_the_readings_and_no_means_nothing_changes(client, login, district):
    from callcenter.clock import utcnow

    from ..factories import make_attempt
    [patient] = _reviews(district, 1)
    make_attempt(patient, make_user("volunteer", district), utcnow() - timedelta(hours=1), spo2=92)
    login(make_user("doctor", district, language="hi"))
    token = csrf_token(client, "/desk/reviews")
    review = _review_of(patient)
    html = client.post(f"/desk/reviews/{review.id}", data={"csrf_token": token, "decision": "discharge"}
                       ).get_data(as_text=True)
    assert f"{patient.name} को डिस्चार्ज करें?" in html
    assert 'id="confirm-readings"' in html and "92%" in html and "vital-warn" in html
    assert 'name="confirmed" value="yes"' in html and 'href="/desk/reviews"' in html
    assert db.session.get(DischargeReview, review.id, populate_existing=True).status == "pending"
