"""What the fuzz run found: input the database cannot hold gets a 4xx naming the field, never a 500, and the
OpenAPI document says what the API really sends and refuses. Run on PostgreSQL too: it refuses NUL in text
and integers past its column types, where SQLite stores them."""
import json
from datetime import timedelta

import pytest

from callcenter.clock import to_local, utcnow
from callcenter.extensions import db
from callcenter.models import ApiToken, Desk, Patient, Severity
from callcenter.services.desks import escalations

from ..factories import facility, make_patient, make_task, make_user
from .test_patients import registration

HUGE = 99999999999999999999999           # past 64 bits
PAST_COLUMN = 2**31                      # past PostgreSQL's integer, the type of every id column


def spec(client):
    return client.get("/api/v1/openapi.json").get_json()


# ── NUL bytes ─────────────────────────────────────────────────────────────────────────────────────────

def test_nul_in_the_sign_in_username_is_422_naming_it(api, district):
    make_user("volunteer", district, username="asha")
    response = api("POST", "/api/v1/auth/token", json={"username": "asha\x00", "password": "x"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"username": "Remove the control characters (such as NUL) from this text."}
    assert db.session.scalar(db.select(db.func.count()).select_from(ApiToken)) == 0


def test_nul_in_a_registration_field_is_422_naming_it(api, district):
    response = api("POST", "/api/v1/patients", user=make_user("nodal_officer", district),
                   json=registration(district, name="Sunita\x00Sahu", address="Ward\x004"))
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"name", "address"}
    assert db.session.scalar(db.select(db.func.count()).select_from(Patient)) == 0


def test_notes_may_have_lines_but_no_nul(api, district):
    esc = escalations.raise_escalation(make_patient(district), "medicine", Desk.CONTROL_ROOM, Severity.ROUTINE,
                                       "call")
    db.session.commit()
    operator = make_user("control_room", district)
    path = f"/api/v1/escalations/{esc.id}/actions"
    assert api("POST", path, user=operator, json={"action": "note", "text": "a\x00b"}).get_json()["errors"] == {
        "text": "Remove the control characters (such as NUL) from this text."}
    lines = api("POST", path, user=operator, json={"action": "note", "text": "Called back.\r\n\tAll well."})
    assert lines.status_code == 200 and lines.get_json()["notes"][-1]["text"] == "Called back.\r\n\tAll well."


def test_nul_in_the_search_query_is_a_4xx(api, district):
    response = api("POST", "/api/v1/patients/search", json={"q": "ram\x00esh"},
                   user=make_user("control_room", district))
    assert response.status_code in (400, 422)
    assert "q" in json.dumps(response.get_json())


# ── Integers past the columns ─────────────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("page", [HUGE, 2**63, PAST_COLUMN])
def test_a_page_past_any_list_is_422(api, district, page):
    response = api("POST", "/api/v1/patients/search", json={"page": page}, user=make_user("control_room", district))
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"page"}


def test_the_last_page_still_works_and_says_so(api, district):
    make_patient(district), make_patient(district), make_patient(district)
    response = api("POST", "/api/v1/patients/search", json={"page": 2, "page_size": 2},
                   user=make_user("control_room", district))
    assert response.status_code == 200 and len(response.get_json()) == 1
    assert json.loads(response.headers["X-Pagination"]) == {
        "total": 3, "total_pages": 2, "first_page": 1, "last_page": 2, "page": 2, "previous_page": 1}
    past = api("POST", "/api/v1/patients/search", json={"page": 7, "page_size": 2},
               user=make_user("control_room", district))
    assert past.get_json() == [] and json.loads(past.headers["X-Pagination"])["total"] == 3


@pytest.mark.parametrize("path", ["/api/v1/patients/{n}", "/api/v1/escalations/{n}"])
@pytest.mark.parametrize("number", [HUGE, 2**63, 2**63 - 1, PAST_COLUMN])
def test_an_id_past_the_column_is_404(api, district, path, number):
    response = api("GET", path.format(n=number), user=make_user("nodal_officer", district))
    assert response.status_code == 404 and response.is_json


@pytest.mark.parametrize("number", [HUGE, PAST_COLUMN, -1])
def test_ids_in_json_past_the_column_are_422_naming_the_field(api, district, number):
    officer, operator = make_user("nodal_officer", district), make_user("control_room", district)
    esc = escalations.raise_escalation(make_patient(district), "ambulance", Desk.CONTROL_ROOM, Severity.EMERGENCY,
                                       "call")
    db.session.commit()
    escalations.acknowledge(esc.id, operator)
    sent = [
        api("POST", "/api/v1/patients", user=officer, json=registration(district, facility_id=number)),
        api("POST", "/api/v1/patients", user=officer, json=registration(district, village_id=number)),
        api("POST", f"/api/v1/escalations/{esc.id}/reassign", user=operator,
            json={"owner_id": number, "text": "over to you"}),
        api("POST", f"/api/v1/escalations/{esc.id}/actions", user=operator,
            json={"action": "resolve", "text": "done", "outcome": "admitted", "facility_id": number}),
        api("POST", f"/api/v1/escalations/{esc.id}/actions", user=operator,
            json={"action": "start", "version": number}),
        api("POST", f"/api/v1/escalations/{esc.id}/dispatch", user=operator, json={
            "kind": "ambulance", "vehicle_number": "CG 04 AB 1234", "driver_phone": "98260 12345",
            "destination_facility_id": number,
            "eta": (to_local(utcnow()) + timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M")}),
    ]
    fields = ["facility_id", "village_id", "owner_id", "facility_id", "version", "destination_facility_id"]
    assert [(r.status_code, set(r.get_json().get("errors", {}))) for r in sent] == [(422, {f}) for f in fields]


def test_a_valid_id_still_goes_through(api, district):
    officer = make_user("nodal_officer", district)
    done = api("POST", "/api/v1/patients", user=officer,
               json=registration(district, setting="hospital", facility_id=facility(district, "hospital").id))
    assert done.status_code == 201, done.get_json()


def test_a_state_user_naming_a_district_past_the_column_is_422(api, district):
    response = api("POST", "/api/v1/patients", user=make_user("admin"),
                   json=registration(district, district_id=PAST_COLUMN, facility_id=None, setting="home"))
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"district_id"}


def test_an_attempt_on_a_task_past_the_column_is_404(api, district):
    volunteer = make_user("volunteer", district)
    make_task(make_patient(district))
    response = api("POST", f"/api/v1/tasks/{PAST_COLUMN}/attempts", user=volunteer,
                   json={"submission_key": "k", "outcome": "busy"})
    assert response.status_code == 404


# ── The document tells the truth ──────────────────────────────────────────────────────────────────────

def test_x_pagination_is_documented_as_the_json_text_it_is(client):
    operation = spec(client)["paths"]["/api/v1/patients"]["get"]
    header = operation["responses"]["200"]["headers"]["X-Pagination"]
    assert header["schema"]["type"] == "string" and "JSON" in header["description"]
    page = next(p for p in operation["parameters"] if p["name"] == "page")
    assert page["schema"]["maximum"] == PAST_COLUMN - 1


def test_the_rules_the_services_enforce_are_in_the_schemas(client):
    schemas = spec(client)["components"]["schemas"]
    mobile = schemas["PatientCreate"]["properties"]["phone"]
    assert mobile["pattern"] and "Indian mobile" in mobile["description"]
    assert schemas["Patient"]["properties"]["phone"]["pattern"] == r"^\+91[0-9]{10}$"  # E.164, as stored
    # the number to call: E.164, or masked when click-to-call is configured (the call goes through the provider)
    assert schemas["PatientSummary"]["properties"]["call_phone"]["pattern"] == (
        r"^\+91[0-9]{10}$|^\+91 [0-9]{2}••• ••[0-9]{3}$")
    assert (schemas["PatientCreate"]["properties"]["age"]["minimum"],
            schemas["PatientCreate"]["properties"]["age"]["maximum"]) == (0, 120)
    attempt = schemas["AttemptCreate"]["properties"]
    assert "48 hours" in attempt["callback_at"]["description"]
    assert (attempt["spo2"]["minimum"], attempt["spo2"]["maximum"]) == (50, 100)
    assert (attempt["temperature_f"]["minimum"], attempt["temperature_f"]["maximum"]) == (93.0, 108.0)
    assert {"owner_id", "text"} <= set(schemas["Reassign"]["required"])
    assert schemas["Reassign"]["properties"]["owner_id"]["maximum"] == PAST_COLUMN - 1
    assert schemas["DispatchCreate"]["properties"]["driver_phone"]["pattern"]


def test_a_registration_that_the_document_allows_still_registers(api, district):
    """Not a behaviour change for valid requests: the spellings of a mobile the service accepts."""
    officer = make_user("nodal_officer", district)
    for n, phone in enumerate(["98260 12345", "098260-12345", "+91 98260 12345", "0091 (98260) 12345"]):
        response = api("POST", "/api/v1/patients", user=officer,
                       json=registration(district, name=f"Asha {n}", phone=phone))
        assert response.status_code == 201, (phone, response.get_json())
        assert response.get_json()["phone"] == "+919826012345"


# ── Times at the ends of the calendar ─────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("when", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "0001-01-01T00:00"])
def test_a_time_that_cannot_be_turned_into_utc_is_422(api, district, when):
    volunteer = make_user("volunteer", district)
    task = make_task(make_patient(district))
    assert api("POST", "/api/v1/tasks/claim", user=volunteer).status_code == 200
    response = api("POST", f"/api/v1/tasks/{task.id}/attempts", user=volunteer,
                   json={"submission_key": "k", "outcome": "call_back_later", "callback_at": when})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"callback_at"}


def test_a_lone_surrogate_in_text_is_422_naming_the_field(api, district):
    """JSON may escape half of a UTF-16 pair ("\\ud800"); no database can store it as text."""
    response = api("POST", "/api/v1/patients", user=make_user("nodal_officer", district),
                   data='{"name": "Asha \\ud800"}', content_type="application/json")
    assert response.status_code == 422 and "name" in response.get_json()["errors"]


def test_a_name_whose_duplicate_key_outgrows_the_column_is_422(api, district):
    """ß case-folds to ss: 61 of them fit the name (120 characters) but not its duplicate-check key."""
    response = api("POST", "/api/v1/patients", user=make_user("nodal_officer", district),
                   json=registration(district, name="ß" * 61))
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"name": "The name is too long (120 characters at most)."}
    fits = api("POST", "/api/v1/patients", user=make_user("nodal_officer", district),
               json=registration(district, name="ß" * 60))
    assert fits.status_code == 201, fits.get_json()


def test_an_unknown_outcome_is_refused_with_any_action(api, district):
    """The document lists the outcomes; an unknown one was ignored (and the note saved) unless resolving."""
    esc = escalations.raise_escalation(make_patient(district), "medicine", Desk.CONTROL_ROOM, Severity.ROUTINE,
                                       "call")
    db.session.commit()
    response = api("POST", f"/api/v1/escalations/{esc.id}/actions", user=make_user("control_room", district),
                   json={"action": "note", "text": "Called", "outcome": "__not_in_enum__"})
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"outcome"}


# ── JSON that json.loads cannot read for reasons other than syntax ───────────────────────────────────

@pytest.mark.parametrize("body", [
    "[" * 100_000 + "]" * 100_000,                                     # nested past Python's stack
    '{"username": ' + '{"a": ' * 50_000 + "1" + "}" * 50_000 + ', "password": "x"}',
    '{"username": "asha", "password": ' + "9" * 5000 + "}",             # more digits than int() reads
])
def test_json_too_deep_or_a_number_too_long_is_400(api, district, body):
    for path, user in (("/api/v1/auth/token", None), ("/api/v1/patients", make_user("nodal_officer", district))):
        response = api("POST", path, user=user, data=body, content_type="application/json")
        assert response.status_code == 400, path
        assert response.get_json()["errors"] == {"_body": "Invalid JSON body."}
