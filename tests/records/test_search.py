"""Finding a patient by name, phone (any written form), lab ID or ABHA number — within the district only."""
import pytest

from callcenter.extensions import db
from callcenter.models import AuditLog
from callcenter.services.core.errors import Forbidden, Invalid
from callcenter.services.records import records

from ..conftest import csrf_token
from ..factories import make_district, make_patient, make_user


@pytest.fixture
def geeta(district):
    return make_patient(district, name="Geeta Nishad", phone_number="+919826012345", lab_id="RPR-2021-0042",
                        abha_number="91123456789012", attendant_phone="+919907011111")


def found(user, query):
    return [p.id for p in records.find_patients(user, query)[0]]


@pytest.mark.parametrize("query", [
    "geeta", "NISHAD", "Geeta  Nishad", "eta nis",                       # name, any case and spacing
    "9826012345", "98260 12345", "09826012345", "+91-98260-12345", "919826012345", "+91 98260 12345",
    "99070 11111",                                                        # the attendant's phone
    "RPR-2021-0042", "rpr-2021-0042",                                     # lab ID
    "91-1234-5678-9012", "91123456789012",                               # ABHA number
])
def test_each_key_finds_the_patient(district, geeta, query):
    make_patient(district, name="Someone Else")
    assert found(make_user("doctor", district), query) == [geeta.id]


def test_another_districts_patient_is_not_found(district, geeta):
    other = make_district()
    make_patient(other, name="Geeta Nishad", phone_number="+919826012399")
    officer = make_user("nodal_officer", other)
    assert found(officer, "geeta") != [geeta.id]
    assert geeta.id not in found(officer, "9826012345")
    assert found(officer, "9826012345") == []
    assert len(found(make_user("admin", None), "geeta")) == 2  # state level sees both


def test_active_patients_come_first(district):
    ended = make_patient(district, name="Anil Sahu", status="recovered")
    active = make_patient(district, name="Anil Sahu")
    assert found(make_user("nodal_officer", district), "anil") == [active.id, ended.id]


def test_search_is_audited_with_what_was_shown(district, geeta):
    user = make_user("counsellor", district)
    records.find_patients(user, "98260 12345")
    row = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "patient.search")).one()
    assert row.user_id == user.id and row.details["patient_ids"] == [geeta.id]
    assert "98260" not in str(row.details)  # the words searched for are not kept


def test_too_short_and_volunteers(district, geeta):
    with pytest.raises(Invalid):
        records.find_patients(make_user("doctor", district), " g ")
    with pytest.raises(Forbidden):
        records.find_patients(make_user("volunteer", district), "geeta")


def test_search_page(client, login, district, geeta):
    login(make_user("control_room", district))
    html = client.get("/patients/?q=098260-12345").get_data(as_text=True)
    assert "Geeta Nishad" in html and f'/patients/{geeta.id}"' in html
    html = client.get("/patients/?q=nobody").get_data(as_text=True)
    assert "No patient in your district matches" in html
    html = client.get("/patients/?q=x").get_data(as_text=True)
    assert "Type at least 2 characters" in html
    assert client.get("/patients/").status_code == 200


def test_the_search_box_posts_its_words(client, login, district, geeta):
    """Typed in the box, the words (a mobile number) go by POST: in no address, so in no access log."""
    login(make_user("control_room", district))
    page = client.get("/patients/").get_data(as_text=True)
    assert '<form method="post" action="/patients/"' in page
    response = client.post("/patients/", data={"q": "098260-12345", "csrf_token": csrf_token(client, "/patients/")})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Geeta Nishad" in html and f'/patients/{geeta.id}"' in html
    assert 'value="098260-12345"' in html  # the box keeps what was typed
    # A stale page's form (the token expired): said so, nothing searched.
    response = client.post("/patients/", data={"q": "098260-12345", "csrf_token": "stale"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "This form has expired" in html and "Geeta Nishad" not in html
