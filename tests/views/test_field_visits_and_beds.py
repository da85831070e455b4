"""Field visits (list per block, printable sheet, recording a result) and the free-bed table over HTTP."""
import re

import pytest

from callcenter.extensions import db
from callcenter.models import AuditLog, Block, Escalation, Facility, Patient, Village
from callcenter.rules.routing import Desk, Severity
from callcenter.services.desks import beds, escalations

from ..conftest import csrf_token
from ..factories import facility, make_attempt, make_district, make_patient, make_user, village


def unreachable(patient):
    esc = escalations.raise_escalation(patient, "field_visit", Desk.CONTROL_ROOM, Severity.ROUTINE, source="call",
                                       reasons=(("attempts", 3),))
    db.session.commit()
    return esc


def test_field_visit_list_per_block_and_printable_sheet(client, login, district):
    operator = make_user("control_room", district)
    block2 = Block(district_id=district.id, name="Dharsiwa")
    village2 = Village(block=block2, name="Mandir Hasaud")
    db.session.add_all([block2, village2])
    db.session.commit()
    first = make_patient(district, name="Ramu Sahu", village_id=village(district).id, address="House 7, Kumhar para",
                         attendant_phone="+919812345678")
    second = make_patient(district, name="Sita Dhruw", village_id=village2.id)
    make_attempt(first, make_user("volunteer", district), first.created_at, outcome="no_answer")
    unreachable(first)
    unreachable(second)
    unreachable(make_patient(make_district(), name="Other District"))
    login(operator)

    html = client.get("/desk/field-visits").get_data(as_text=True)
    assert "Ramu Sahu" in html and "Sita Dhruw" in html and "Other District" not in html
    assert "House 7, Kumhar para" in html and village(district).name in html and "Mandir Hasaud" in html
    assert "+91 98123 45678" in html  # the attendant's phone too
    headings = re.findall(r'<h2 class="h5 mt-4" data-block="\d+">([^<]+)', html)
    assert [h.strip() for h in headings] == [village(district).block.name, "Dharsiwa"]  # blocks by name
    assert html.index("Ramu Sahu") < html.index("Sita Dhruw")
    only = client.get(f"/desk/field-visits?block={block2.id}").get_data(as_text=True)
    assert "Sita Dhruw" in only and "Ramu Sahu" not in only

    sheet = client.get(f"/desk/field-visits/print?block={block2.id}").get_data(as_text=True)
    assert "Sita Dhruw" in sheet and "Ramu Sahu" not in sheet and "Dharsiwa" in sheet
    assert "Met – unwell" in sheet and "<form method=\"post\" novalidate" not in sheet
    assert "sampark.css" in sheet  # its @media print rule hides the navigation
    static = client.get("/static/sampark.css")
    css = static.get_data(as_text=True)
    static.close()
    assert re.search(r"@media print \{ nav, \.no-print \{ display: none !important; \} \}", css)
    # Names, phones and addresses on a list: each patient shown is an access-log entry.
    purposes = [a.details["purpose"] for a in db.session.scalars(
        db.select(AuditLog).where(AuditLog.action == "patient.view"))]
    assert purposes.count("field_visit") == 3 and purposes.count("field_visit_print") == 1


def test_recording_a_visit_resolves_it_and_sends_an_unwell_patient_on(client, login, district):
    patient = make_patient(district, name="Mohan Kurre")
    esc = unreachable(patient)
    login(make_user("nodal_officer", district))
    url = f"/desk/field-visits/{esc.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Mohan Kurre" in page and "No answer after 3 attempts" in page
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    html = client.post(url, data={"csrf_token": token, "result": "met_unwell", "version": esc.version}
                       ).get_data(as_text=True)
    assert "Choose who must act" in html and "Say what the visit found." in html
    response = client.post(url, data={"csrf_token": token, "result": "met_unwell", "send_to": "doctor",
                                      "note": "Cough and fever 101", "version": esc.version}, follow_redirects=True)
    body = response.get_data(as_text=True)
    assert "Field visit recorded for Mohan Kurre: Met – unwell." in body and "Sent to: Doctor on duty." in body
    esc = db.session.get(Escalation, esc.id)
    assert (esc.status, esc.outcome) == ("resolved", "met_unwell")
    doctor_esc = db.session.scalars(db.select(Escalation).where(Escalation.desk == "doctor")).one()
    assert doctor_esc.summary == "Cough and fever 101"
    assert "Mohan Kurre" not in client.get("/desk/field-visits").get_data(as_text=True)


def test_a_died_result_ends_the_follow_up(client, login, district):
    patient = make_patient(district, name="Late Patient")
    esc = unreachable(patient)
    login(make_user("control_room", district))
    token = csrf_token(client, f"/desk/field-visits/{esc.id}")
    response = client.post(f"/desk/field-visits/{esc.id}", data={"csrf_token": token, "result": "died",
                                                                  "version": esc.version}, follow_redirects=True)
    assert "The follow-up has ended" in response.get_data(as_text=True)
    assert db.session.get(Patient, patient.id).status == "died"


def test_field_visits_are_scoped_and_for_the_right_roles(client, login, district):
    esc = unreachable(make_patient(make_district()))
    login(make_user("control_room", district))
    assert client.get(f"/desk/field-visits/{esc.id}").status_code == 404


@pytest.mark.parametrize("role", ["volunteer", "doctor", "counsellor"])
def test_roles_without_field_visits_or_beds_get_403(client, login, district, role):
    login(make_user(role, district))
    esc = unreachable(make_patient(district))
    for path in ("/desk/field-visits", "/desk/field-visits/print", f"/desk/field-visits/{esc.id}", "/desk/beds"):
        assert client.get(path).status_code == 403, path
    token = csrf_token(client)
    assert client.post(f"/desk/beds/{facility(district, 'hospital').id}",
                       data={"csrf_token": token, "free_general": "1", "free_oxygen": "0", "free_icu": "0"}
                       ).status_code == 403


def _bed_form(client):
    html = client.get("/desk/beds").get_data(as_text=True)
    return html, re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def test_bed_table_update_validation_and_concurrency(client, login, district):
    operator = make_user("control_room", district)
    operator.full_name = "Rekha Operator"
    db.session.commit()
    hospital = facility(district, "hospital")
    login(operator)
    html, token = _bed_form(client)
    assert hospital.name in html and "/ 10" in html and "never" in html
    url = f"/desk/beds/{hospital.id}"

    bad = client.post(url, data={"csrf_token": token, "stamp": "", "free_general": "12", "free_oxygen": "-1",
                                 "free_icu": "1"}).get_data(as_text=True)
    assert "More than the 10 beds this facility has." in bad and "Free beds cannot be fewer than 0." in bad
    assert db.session.get(Facility, hospital.id).beds_updated_at is None

    ok = client.post(url, data={"csrf_token": token, "stamp": "", "free_general": "6", "free_oxygen": "2",
                                "free_icu": "0"}, follow_redirects=True).get_data(as_text=True)
    assert f"Free beds of {hospital.name} saved." in ok and "Rekha Operator" in ok
    assert "6 / 60" in ok  # the general beds' total over the district's two facilities
    hospital = db.session.get(Facility, hospital.id)
    assert (hospital.free_general, hospital.free_oxygen, hospital.beds_updated_by_id) == (6, 2, operator.id)

    # A second operator's page was opened before that save: their save is refused and they are told.
    late = client.post(url, data={"csrf_token": token, "stamp": "", "free_general": "1", "free_oxygen": "1",
                                  "free_icu": "1"}, follow_redirects=True).get_data(as_text=True)
    assert "Rekha Operator updated the beds of" in late and "check them and save again" in late
    assert db.session.get(Facility, hospital.id).free_general == 6
    again = client.post(url, data={"csrf_token": token, "stamp": beds.stamp(hospital), "free_general": "5",
                                   "free_oxygen": "2", "free_icu": "0"})
    assert again.status_code == 302
    assert db.session.get(Facility, hospital.id).free_general == 5
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditLog)
                             .where(AuditLog.action == "facility.beds")) == 2


def test_another_districts_facility_cannot_be_updated(client, login, district):
    other = facility(make_district(), "hospital")
    login(make_user("control_room", district))
    html, token = _bed_form(client)
    assert other.name not in html
    response = client.post(f"/desk/beds/{other.id}", data={"csrf_token": token, "stamp": "", "free_general": "1",
                                                           "free_oxygen": "0", "free_icu": "0"})
    assert response.status_code == 404
