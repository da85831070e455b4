"""Taking calls and recording attempts through the API."""
from datetime import datetime, timedelta, timezone

from callcenter.clock import to_local, utcnow
from callcenter.extensions import db
from callcenter.models import AuditLog, CallAttempt, CallTask, Escalation, TaskStatus

from ..factories import make_district, make_patient, make_task, make_user


def claim(api, user, **body):
    return api("POST", "/api/v1/tasks/claim", user=user, json=body)


def test_claim_then_log_an_emergency_then_retry(api, district):
    volunteer = make_user("volunteer", district)
    patient = make_patient(district, setting="hospital", attendant_phone="+919826099999", comorbidities="diabetes")
    task = make_task(patient)

    claimed = claim(api, volunteer)
    assert claimed.status_code == 200, claimed.get_json()
    body = claimed.get_json()
    assert (body["id"], body["status"], body["setting"]) == (task.id, "claimed", "hospital")
    assert body["patient"] == {
        "id": patient.id, "name": patient.name, "age": 35, "sex": "female", "call_phone": "+919826099999",
        "language": "en", "setting": "hospital", "facility_id": patient.facility_id, "village_id": None,
        "comorbidities": ["diabetes"], "positive_date": patient.positive_date.isoformat(), "symptom_onset_date": None}
    assert db.session.scalar(db.select(AuditLog).where(AuditLog.action == "patient.view")).details == {
        "purpose": "call"}

    report = {"submission_key": "k-1", "outcome": "connected", "needs": ["ambulance"], "spo2": 90,
              "temperature_f": 101.2, "symptoms": ["breathlessness"], "notes": " Gasping "}
    logged = api("POST", f"/api/v1/tasks/{task.id}/attempts", user=volunteer, json=report)
    assert logged.status_code == 201, logged.get_json()
    first = logged.get_json()
    esc = db.session.scalars(db.select(Escalation)).one()
    assert first["created"] is True
    assert first["task"]["status"] == "done"
    assert {k: first["attempt"][k] for k in ("task_id", "user_id", "outcome", "spo2", "needs", "symptoms", "notes")} \
        == {"task_id": task.id, "user_id": volunteer.id, "outcome": "connected", "spo2": 90, "needs": ["ambulance"],
            "symptoms": ["breathlessness"], "notes": "Gasping"}
    assert first["escalations"] == [{"id": esc.id, "kind": "ambulance", "desk": "control_room",
                                     "severity": "emergency", "status": "open", "version": 1,
                                     "respond_by": esc.respond_by.replace(tzinfo=timezone.utc).isoformat()}]

    again = api("POST", f"/api/v1/tasks/{task.id}/attempts", user=volunteer, json=report)
    assert again.status_code == 200
    assert again.get_json() == dict(first, created=False)  # the first answer, word for word
    assert db.session.scalar(db.select(db.func.count()).select_from(CallAttempt)) == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(Escalation)) == 1


def test_claim_on_an_empty_queue_is_204(api, district):
    volunteer = make_user("volunteer", district)
    make_task(make_patient(district), due_at=utcnow() + timedelta(hours=2))  # not due yet
    make_task(make_patient(make_district()))  # another district's
    response = claim(api, volunteer)
    assert response.status_code == 204 and response.data == b""
    assert api("POST", "/api/v1/tasks/claim", user=volunteer).status_code == 204  # no body at all


def test_claim_by_setting(api, district):
    volunteer = make_user("volunteer", district)
    task = make_task(make_patient(district, setting="home"))
    assert claim(api, volunteer, setting="ccc").status_code == 204
    assert claim(api, volunteer, setting="home").get_json()["id"] == task.id
    bad = claim(api, volunteer, setting="moon")
    assert bad.status_code == 422
    assert bad.get_json()["errors"] == {"setting": "Must be one of: hospital, ccc, home."}


def test_roles_that_do_not_call_get_403(api, district):
    task = make_task(make_patient(district))
    operator = make_user("control_room", district)
    assert claim(api, operator).status_code == 403
    response = api("POST", f"/api/v1/tasks/{task.id}/attempts", user=operator,
                   json={"submission_key": "k", "outcome": "busy"})
    assert response.status_code == 403
    assert db.session.get(CallTask, task.id).status == TaskStatus.PENDING


def test_invalid_report_is_422_and_records_nothing(api, district):
    volunteer = make_user("volunteer", district)
    task = make_task(make_patient(district))
    claim(api, volunteer)
    response = api("POST", f"/api/v1/tasks/{task.id}/attempts", user=volunteer,
                   json={"submission_key": "k", "outcome": "connected", "spo2": 150, "needs": ["pizza"]})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"spo2": "SpO2 must be between 50 and 100 %.", "needs": "Unknown need."}
    long_key = api("POST", f"/api/v1/tasks/{task.id}/attempts", user=volunteer,
                   json={"submission_key": "x" * 65, "outcome": "busy"})
    assert long_key.get_json()["errors"] == {"submission_key": "Between 1 and 64 characters."}
    assert db.session.scalar(db.select(db.func.count()).select_from(CallAttempt)) == 0


def test_callback_time_without_offset_is_india_time(api, district):
    volunteer = make_user("volunteer", district)
    task = make_task(make_patient(district))
    claim(api, volunteer)
    local = (to_local(utcnow()) + timedelta(hours=2)).replace(tzinfo=None, second=0, microsecond=0)
    response = api("POST", f"/api/v1/tasks/{task.id}/attempts", user=volunteer,
                   json={"submission_key": "cb", "outcome": "call_back_later", "callback_at": local.isoformat()})
    assert response.status_code == 201, response.get_json()
    stored = db.session.get(CallTask, task.id)
    assert stored.status == TaskStatus.PENDING
    assert stored.due_at == local - timedelta(hours=5, minutes=30)
    assert datetime.fromisoformat(response.get_json()["task"]["due_at"]) == \
        local.replace(tzinfo=timezone(timedelta(hours=5, minutes=30)))


def test_callback_time_with_offset_is_converted_to_utc(api, district):
    volunteer = make_user("volunteer", district)
    task = make_task(make_patient(district))
    claim(api, volunteer)
    when = (datetime.now(timezone.utc) + timedelta(hours=3)).replace(microsecond=0)
    response = api("POST", f"/api/v1/tasks/{task.id}/attempts", user=volunteer,
                   json={"submission_key": "cb2", "outcome": "call_back_later",
                         "callback_at": when.astimezone(timezone(timedelta(hours=-4))).isoformat()})
    assert response.status_code == 201
    assert db.session.get(CallAttempt, response.get_json()["attempt"]["id"]).callback_at == when.replace(tzinfo=None)


def test_logging_on_a_call_not_held_is_409(api, district):
    mine, theirs = make_user("volunteer", district), make_user("volunteer", district)
    task = make_task(make_patient(district))
    claim(api, theirs)
    response = api("POST", f"/api/v1/tasks/{task.id}/attempts", user=mine,
                   json={"submission_key": "k", "outcome": "busy"})
    assert response.status_code == 409
    assert response.get_json()["message"].startswith("This call is no longer assigned to you")


def test_task_of_another_district_is_404(api, district):
    task = make_task(make_patient(make_district()))
    response = api("POST", f"/api/v1/tasks/{task.id}/attempts", user=make_user("volunteer", district),
                   json={"submission_key": "k", "outcome": "busy"})
    assert response.status_code == 404


def test_a_body_that_is_not_an_object_is_422(api, district):
    response = api("POST", "/api/v1/tasks/claim", user=make_user("volunteer", district), json=["home"])
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"_body": "Send a JSON object."}
