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
