"""The jobs page (runs shown, run now) and the discharge-review desk, over HTTP."""
from datetime import timedelta

from callcenter.clock import local_date
from callcenter.extensions import db
from callcenter.models import CallTask, DischargeReview, JobRun, Patient
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
    response = client.post(f"/desk/reviews/{review.id}", data={"csrf_token": token, "decision": "discharge",
                                                               "note": "No fever, SpO2 98"}, follow_redirects=True)
    assert "Usha Markam is discharged" in response.get_data(as_text=True)
    assert db.session.get(Patient, patient.id).status == "recovered"
    assert "No one is waiting for a review." in client.get("/desk/reviews").get_data(as_text=True)


def test_review_desk_roles(client, login, district):
    for role, status in (("volunteer", 403), ("control_room", 403), ("counsellor", 403), ("doctor", 200),
                         ("nodal_officer", 200)):
        login(make_user(role, district))
        assert client.get("/desk/reviews").status_code == status, role
        client.post("/logout", data={"csrf_token": csrf_token(client)})
