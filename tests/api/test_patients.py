"""Registering, reading and finding patients through the API."""
import json
from datetime import timedelta

from callcenter.clock import local_date
from callcenter.extensions import db
from callcenter.models import AuditLog, CallTask, Patient, Transfer

from ..factories import facility, make_district, make_patient, make_task, make_user, village


def registration(district, **overrides):
    today = local_date()
    body = {
        "name": "  Sunita   Sahu ", "age": 64, "sex": "female", "phone": "098260 12345", "language": "hi",
        "village_id": village(district).id, "address": "Ward 4", "setting": "ccc",
        "facility_id": facility(district, "ccc").id, "positive_date": (today - timedelta(days=1)).isoformat(),
        "symptom_onset_date": (today - timedelta(days=3)).isoformat(), "comorbidities": ["diabetes"],
        "abha_number": "91-1234-5678-9012", "lab_id": "RPR-77",
    }
    body.update(overrides)
    return body


def test_register_patient_201(api, district):
    officer = make_user("nodal_officer", district)
    response = api("POST", "/api/v1/patients", user=officer, json=registration(district))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert {k: body[k] for k in ("name", "age", "phone", "setting", "district_id", "comorbidities", "abha_number",
                                 "status", "lab_id")} == {
        "name": "Sunita Sahu", "age": 64, "phone": "+919826012345", "setting": "ccc", "district_id": district.id,
        "comorbidities": ["diabetes"], "abha_number": "91-1234-5678-9012", "status": "active", "lab_id": "RPR-77"}
    patient = db.session.get(Patient, body["id"])
    assert patient.abha_number == "91123456789012" and patient.created_by_id == officer.id
    task = db.session.scalars(db.select(CallTask).where(CallTask.patient_id == patient.id)).one()
    assert (task.status, task.reason, task.task_date) == ("pending", "new_patient", local_date())
    assert db.session.scalars(db.select(Transfer)).one().to_setting == "ccc"


def test_state_level_officer_registers_into_the_named_district(api, district):
    response = api("POST", "/api/v1/patients", user=make_user("admin"),
                   json=registration(district, district_id=district.id))
    assert response.status_code == 201
    assert response.get_json()["district_id"] == district.id


def test_bad_phone_is_422_with_message_on_the_field(api, district):
    response = api("POST", "/api/v1/patients", user=make_user("nodal_officer", district),
                   json=registration(district, phone="12345"))
    assert response.status_code == 422
    assert response.get_json() == {"code": 422, "message": "Please correct the marked fields.",
                                   "errors": {"phone": "Not a valid Indian mobile number."}}
    assert db.session.scalar(db.select(db.func.count()).select_from(Patient)) == 0


def test_bad_abha_and_foreign_phone_each_get_their_message(api, district):
    response = api("POST", "/api/v1/patients", user=make_user("nodal_officer", district),
                   json=registration(district, abha_number="1234", attendant_phone="+14155552671"))
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "abha_number": "An ABHA number has 14 digits, written XX-XXXX-XXXX-XXXX.",
        "attendant_phone": "Enter an Indian (+91) mobile number."}


def test_wrong_types_and_missing_fields_are_422(api, district):
    body = registration(district, age="sixty", comorbidities="diabetes", positive_date="yesterday")
    del body["name"]
    response = api("POST", "/api/v1/patients", user=make_user("nodal_officer", district), json=body)
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "name": "This field is required.", "age": "Enter a whole number.", "comorbidities": "Send a list.",
        "positive_date": "Enter a date as YYYY-MM-DD."}


def test_rules_in_the_service_come_back_as_field_errors(api, district):
    future = (local_date() + timedelta(days=2)).isoformat()
    response = api("POST", "/api/v1/patients", user=make_user("nodal_officer", district),
                   json=registration(district, setting="home", positive_date=future, comorbidities=["gout"]))
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "facility_id": "A patient in home isolation has no facility.", "positive_date": "This date is in the future.",
        "comorbidities": "Unknown comorbidity."}


def test_duplicate_is_409(api, district):
    officer = make_user("nodal_officer", district)
    assert api("POST", "/api/v1/patients", user=officer, json=registration(district)).status_code == 201
    again = api("POST", "/api/v1/patients", user=officer,
                json=registration(district, name="sunita sahu", phone="+91 98260 12345"))
    assert again.status_code == 409
    assert again.get_json() == {
        "code": 409, "message": "A patient with this name and phone number is already on record. Search for them; "
                                "if you cannot find them, ask the state office.",
        "errors": {"phone": "Already on record with this name."}}
    assert db.session.scalar(db.select(db.func.count()).select_from(Patient)) == 1


def test_volunteer_cannot_register(api, district):
    response = api("POST", "/api/v1/patients", user=make_user("volunteer", district), json=registration(district))
    assert response.status_code == 403


def test_read_patient_is_logged(api, district):
    patient = make_patient(district, comorbidities="diabetes,heart")
    volunteer = make_user("doctor", district)
    response = api("GET", f"/api/v1/patients/{patient.id}", user=volunteer)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["id"], body["name"], body["phone"], body["comorbidities"]) == (
        patient.id, patient.name, patient.phone, ["diabetes", "heart"])
    assert body["created_at"].endswith("+00:00")
    view = db.session.scalar(db.select(AuditLog).where(AuditLog.action == "patient.view"))
    assert (view.user_id, view.entity_id, view.details) == (volunteer.id, patient.id, {"purpose": "api"})


def test_patient_of_another_district_is_404(api, district):
    elsewhere = make_patient(make_district())
    response = api("GET", f"/api/v1/patients/{elsewhere.id}", user=make_user("nodal_officer", district))
    assert response.status_code == 404
    assert response.get_json() == {"code": 404, "message": "Not found, or not in your district."}
    assert api("GET", f"/api/v1/patients/{elsewhere.id}", user=make_user("admin")).status_code == 200  # state level
    assert api("GET", "/api/v1/patients/999999", user=make_user("admin")).status_code == 404


def test_search_by_phone_and_name_within_the_district(api, district):
    officer = make_user("nodal_officer", district)
    ramesh = make_patient(district, name="Ramesh Verma", phone_number="+919826000001")
    make_patient(district, name="Ramesh Kumar")
    make_patient(district, name="Sita Devi")
    make_patient(make_district(), name="Ramesh Elsewhere", phone_number="+919826000001")

    by_phone = api("POST", "/api/v1/patients/search", json={"phone": "098260 00001"}, user=officer)
    assert by_phone.status_code == 200
    assert [p["id"] for p in by_phone.get_json()] == [ramesh.id]

    by_name = api("POST", "/api/v1/patients/search", json={"q": "RAMESH", "page_size": 1}, user=officer)
    assert [p["name"] for p in by_name.get_json()] == ["Ramesh Kumar"]  # newest first
    assert json.loads(by_name.headers["X-Pagination"])["total"] == 2
    page2 = api("POST", "/api/v1/patients/search", json={"q": "ramesh", "page_size": 1, "page": 2},
                user=officer)
    assert [p["name"] for p in page2.get_json()] == ["Ramesh Verma"]

    assert api("POST", "/api/v1/patients/search", json={"q": "100%"},
               user=officer).get_json() == []  # LIKE wildcards are literal
    search = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "patient.search")
                                .order_by(AuditLog.id)).first()
    assert search.details == {"patient_ids": [ramesh.id]}


def test_a_search_in_the_address_is_refused(api, district):
    """A number in a URL ends up in access logs: search is a POST; GET only lists, a page at a time."""
    officer = make_user("nodal_officer", district)
    make_patient(district, phone_number="+919826000001")
    response = api("GET", "/api/v1/patients?phone=9826000001", user=officer)
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"phone"}
    listed = api("GET", "/api/v1/patients?page_size=5", user=officer)
    assert listed.status_code == 200 and len(listed.get_json()) == 1


def test_search_with_a_bad_phone_is_422(api, district):
    response = api("POST", "/api/v1/patients/search", json={"phone": "abc"}, user=make_user("control_room", district))
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"phone": "Not a valid Indian mobile number."}
    too_big = api("POST", "/api/v1/patients/search", json={"page_size": 1000}, user=make_user("control_room", district))
    assert too_big.status_code == 422 and "page_size" in too_big.get_json()["errors"]


def test_volunteers_see_only_the_patient_on_their_call(api, district):
    volunteer = make_user("volunteer", district)
    on_call, other = make_patient(district), make_patient(district)
    make_task(on_call)
    assert api("GET", "/api/v1/patients", user=volunteer).status_code == 403
    assert api("GET", f"/api/v1/patients/{on_call.id}", user=volunteer).status_code == 403
    assert api("POST", "/api/v1/tasks/claim", user=volunteer).get_json()["patient"]["id"] == on_call.id
    assert api("GET", f"/api/v1/patients/{on_call.id}", user=volunteer).status_code == 200
    assert api("GET", f"/api/v1/patients/{other.id}", user=volunteer).status_code == 403
