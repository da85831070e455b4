"""The registration form over HTTP: every validation message appears on its field."""
import re
from datetime import date, timedelta

from callcenter.extensions import db
from callcenter.models import CallTask, Patient

from ..factories import make_user, village


def form_page(client):
    html = client.get("/intake/register").get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def valid(district, token, **overrides):
    data = {"csrf_token": token, "name": "Lata Dhruw", "age": "52", "sex": "female", "phone": "9826012345",
            "language": "hi", "setting": "home", "positive_date": (date.today() - timedelta(days=1)).isoformat(),
            "village_id": str(village(district).id), "abha_number": "", "attendant_phone": ""}
    data.update(overrides)
    return data


def test_register_patient_through_the_form(client, login, district):
    login(make_user("nodal_officer", district))
    response = client.post("/intake/register", data=valid(district, form_page(client)), follow_redirects=True)
    assert "Lata Dhruw is registered and queued for a call today." in response.get_data(as_text=True)
    patient = db.session.scalars(db.select(Patient)).one()
    assert patient.phone == "+919826012345"
    assert db.session.scalars(db.select(CallTask)).one().patient_id == patient.id


def test_form_errors_are_shown_on_the_fields(client, login, district):
    login(make_user("nodal_officer", district))
    token = form_page(client)
    cases = [
        ({"phone": "12345"}, "Not a valid Indian mobile number."),
        ({"age": "150"}, "Age must be between 0 and 120."),
        ({"age": ""}, "Enter the age in years."),
        ({"abha_number": "1234"}, "An ABHA number has 14 digits"),
        ({"setting": "hospital"}, "Choose the hospital or care centre the patient is in."),
        ({"name": ""}, "Enter the patient"),
        ({"positive_date": "not-a-date"}, "Not a valid date value."),
    ]
    for overrides, message in cases:
        html = client.post("/intake/register", data=valid(district, token, **overrides)).get_data(as_text=True)
        assert message in html, (overrides, message)
    assert db.session.scalar(db.select(db.func.count()).select_from(Patient)) == 0


def test_duplicate_registration_is_refused_with_a_message(client, login, district):
    login(make_user("nodal_officer", district))
    token = form_page(client)
    client.post("/intake/register", data=valid(district, token))
    html = client.post("/intake/register", data=valid(district, token, name="lata  dhruw")).get_data(as_text=True)
    assert "Already on record with this name." in html
    assert db.session.scalar(db.select(db.func.count()).select_from(Patient)) == 1


def test_a_placeholder_phone_is_refused_as_one(client, login, district):
    login(make_user("nodal_officer", district))
    html = client.post("/intake/register", data=valid(district, form_page(client), phone="9999999999")) \
        .get_data(as_text=True)
    assert "This is a placeholder number" in html and "landline" not in html
    assert db.session.scalar(db.select(db.func.count()).select_from(Patient)) == 0
