"""Role checks on every page of the patient record and the village pages; each renders in both languages."""
import pytest

from callcenter.extensions import db
from callcenter.models import Escalation
from callcenter.services.calls import households
from callcenter.services.desks import escalations
from callcenter.services.records import villages

from ..conftest import csrf_token
from ..factories import make_patient, make_task, make_user, village

ROLES = ["volunteer", "control_room", "doctor", "counsellor", "nodal_officer", "admin"]
RECORD = {"control_room", "doctor", "counsellor", "nodal_officer", "admin"}
OFFICERS = {"nodal_officer", "admin"}
RULES = {  # (method, path) → roles allowed; {p}: a patient, {v}: a village, {c}: a contact
    ("GET", "/patients/"): RECORD,
    ("GET", "/patients/?q=sahu"): RECORD,
    ("GET", "/patients/{p}"): RECORD,
    ("POST", "/patients/{p}/transfer"): OFFICERS | {"doctor", "control_room"},
    ("POST", "/patients/{p}/end"): OFFICERS,
    ("POST", "/patients/{p}/household"): OFFICERS,
    ("POST", "/patients/{p}/household/leave"): OFFICERS,
    ("GET", "/villages/"): OFFICERS | {"control_room"},
    ("GET", "/villages/{v}"): OFFICERS | {"control_room"},
    ("GET", "/villages/{v}/contacts/new"): OFFICERS,
    ("POST", "/villages/{v}/contacts/new"): OFFICERS,
    ("GET", "/villages/contacts/{c}/edit"): OFFICERS,
    ("POST", "/villages/contacts/{c}/active"): OFFICERS,
}


@pytest.fixture
def places(district):
    v = village(district)
    patient = make_patient(district, name="Anita Sahu", village_id=v.id)
    sister = make_patient(district, name="Kiran Sahu", phone_number=patient.phone, village_id=v.id)
    officer = make_user("nodal_officer", district)
    households.group(patient.id, sister.id, officer)
    make_task(patient)
    escalations.raise_escalation(patient, "medicine", "control_room", "routine", "call")
    db.session.commit()
    contact = villages.add_contact(v.id, officer, {"name": "Shivkumar", "role": "sarpanch", "phone": "9826011111"})
    return {"p": patient.id, "v": v.id, "c": contact.id}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_only_where_it_belongs(client, login, district, places, role):
    login(make_user(role, district))
    token = csrf_token(client)
    for (method, path), allowed in RULES.items():
        url = path.format(**places)
        status = client.open(url, method=method, data={"csrf_token": token} if method == "POST" else None).status_code
        if role in allowed:
            assert status in (200, 302), (role, url, status)
        else:
            assert status == 403, (role, url, status)


def test_anonymous_users_are_sent_to_sign_in(client, places):
    for method, path in RULES:
        if method == "GET":
            response = client.get(path.format(**places))
            assert response.status_code == 302 and "/login" in response.headers["Location"], path


@pytest.mark.parametrize("language", ["en", "hi"])
@pytest.mark.parametrize("role", ["nodal_officer", "admin", "control_room", "doctor"])
def test_pages_render(client, login, district, places, role, language):
    login(make_user(role, None if role == "admin" else district, language=language))
    paths = ["/patients/", "/patients/?q=sahu", f"/patients/{places['p']}"]
    if role in OFFICERS | {"control_room"}:
        paths += ["/villages/", f"/villages/{places['v']}"]
    if role in OFFICERS:
        paths += [f"/villages/{places['v']}/contacts/new", f"/villages/contacts/{places['c']}/edit"]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (path, response.get_data(as_text=True)[:2000])
        assert f'<html lang="{language}">' in response.get_data(as_text=True)


def test_desks_link_patient_names_to_the_record(client, login, district, places):
    login(make_user("control_room", district))
    desk = client.get("/desk/").get_data(as_text=True)
    assert f'href="/patients/{places["p"]}"' in desk
    esc_id = db.session.scalar(db.select(Escalation.id))
    assert f'href="/patients/{places["p"]}"' in client.get(f"/desk/escalation/{esc_id}").get_data(as_text=True)
