"""The doctor's and counsellor's desks over HTTP: the referral list, the call screen, consultation,
double submission, need met, emergency and transfer from the desk, scoping and roles."""
import re
from datetime import timedelta

import pytest

from callcenter.clock import local_date
from callcenter.extensions import db
from callcenter.models import AuditLog, CallTask, Consultation, Escalation, Patient, Transfer
from callcenter.rules.routing import Desk, Severity
from callcenter.services.desks import escalations

from ..conftest import csrf_token
from ..factories import facility, make_district, make_patient, make_user


def refer(patient, desk=Desk.DOCTOR, kind="doctor"):
    esc = escalations.raise_escalation(patient, kind, desk, Severity.ROUTINE, source="call",
                                       summary="Asks about her sugar medicine")
    db.session.commit()
    return esc


def open_call_screen(client, url):
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    fields = dict(re.findall(r'name="(csrf_token|submission_key)" type="hidden" value="([^"]+)"', html))
    return html, fields


def test_doctor_calls_a_referred_patient_and_records_the_consultation(client, login, district):
    patient = make_patient(district, name="Sunita Markam", comorbidities="diabetes")
    esc = refer(patient)
    doctor = make_user("doctor", district)
    login(doctor)
    listing = client.get("/desk/referrals").get_data(as_text=True)
    assert "Sunita Markam" in listing and "Asks about her sugar medicine" in listing
    url = f"/desk/referrals/doctor/patient/{patient.id}"
    assert url in listing

    html, fields = open_call_screen(client, url)
    assert f'href="tel:{patient.phone}"' in html and "Diabetes" in html
    assert "Asks about her sugar medicine" in html and "Need met: close the referral" in html
    day = local_date() + timedelta(days=2)
    form = dict(fields, outcome="connected", notes="Continue metformin; check sugar twice a day",
                need_met="y", follow_up_date=day.isoformat())
    first = client.post(url, data=form)
    second = client.post(url, data=form)  # a double click
    assert first.status_code == second.status_code == 302
    assert "/desk/referrals?desk=doctor" in first.headers["Location"]

    consultation = db.session.scalars(db.select(Consultation)).one()
    assert (consultation.user_id, consultation.escalation_id, consultation.follow_up_date) == (doctor.id, esc.id, day)
    assert db.session.get(Escalation, esc.id).status == "resolved"
    task = db.session.get(CallTask, consultation.follow_up_task_id)
    assert (task.desk, task.slot, task.task_date) == ("doctor", 3, day)
    assert db.session.scalar(db.select(db.func.count()).select_from(CallTask)) == 1
    page = client.get("/desk/referrals").get_data(as_text=True)
    assert "already saved; it was recorded once" in page
    assert "Sunita Markam" not in page  # the referral is closed and the follow-up is not due yet
    views = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "patient.view")).all()
    assert {v.details["purpose"] for v in views} == {"consultation"}


def test_form_errors_are_shown_and_nothing_is_saved(client, login, district):
    patient = make_patient(district)
    login(make_user("counsellor", district))
    url = f"/desk/referrals/counsellor/patient/{patient.id}"
    _html, fields = open_call_screen(client, url)
    response = client.post(url, data=dict(fields, outcome="connected", notes="",
                                          follow_up_date=local_date().isoformat()))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Write down the advice given or the session notes." in html
    assert "The follow-up must be between tomorrow and 30 days from today." in html
    assert db.session.scalar(db.select(db.func.count()).select_from(Consultation)) == 0


def test_another_districts_patient_is_not_found(client, login, district):
    other = make_patient(make_district(), name="Elsewhere Patient")
    login(make_user("doctor", district))
    assert client.get(f"/desk/referrals/doctor/patient/{other.id}").status_code == 404
    token = csrf_token(client, "/desk/referrals")
    response = client.post(f"/desk/referrals/doctor/patient/{other.id}",
                           data={"csrf_token": token, "submission_key": "k", "outcome": "connected", "notes": "x"})
    assert response.status_code == 404
    assert client.post(f"/desk/referrals/doctor/patient/{other.id}/emergency",
                       data={"csrf_token": token, "kind": "oxygen", "note": "x"}).status_code == 404
    assert db.session.scalar(db.select(db.func.count()).select_from(Consultation)) == 0
    assert db.session.scalar(db.select(db.func.count()).select_from(Escalation)) == 0


@pytest.mark.parametrize("role, path, status", [
    ("volunteer", "/desk/referrals", 403),
    ("control_room", "/desk/referrals", 403),
    ("counsellor", "/desk/referrals?desk=doctor", 403),
    ("doctor", "/desk/referrals?desk=counsellor", 403),
    ("counsellor", "/desk/referrals/doctor/patient/{id}", 403),
    ("volunteer", "/desk/referrals/doctor/patient/{id}", 403),
    ("counsellor", "/desk/referrals/counsellor/patient/{id}", 200),
    ("nodal_officer", "/desk/referrals?desk=counsellor", 200),
    ("admin", "/desk/referrals/doctor/patient/{id}", 200),
])
def test_roles(client, login, district, role, path, status):
    patient = make_patient(district)
    login(make_user(role, district))
    assert client.get(path.format(id=patient.id)).status_code == status


def test_a_doctor_raises_an_emergency_from_the_call_screen(client, login, district):
    patient = make_patient(district, name="Bhola Yadav")
    login(make_user("doctor", district))
    url = f"/desk/referrals/doctor/patient/{patient.id}"
    _html, fields = open_call_screen(client, url)
    response = client.post(url + "/emergency", data={"csrf_token": fields["csrf_token"], "kind": "ambulance",
                                                     "note": "Breathless while talking"}, follow_redirects=True)
    assert "The control room has it as an emergency (Ambulance)." in response.get_data(as_text=True)
    esc = db.session.scalars(db.select(Escalation)).one()
    assert (esc.desk, esc.severity, esc.source, esc.summary) == (
        "control_room", "emergency", "desk", "Breathless while talking")
    # Missing note: the form says so, nothing more is raised.
    html = client.post(url + "/emergency", data={"csrf_token": fields["csrf_token"], "kind": "oxygen"}
                       ).get_data(as_text=True)
    assert "Say what the control room must know." in html
    assert db.session.scalar(db.select(db.func.count()).select_from(Escalation)) == 1


def test_a_doctor_orders_a_transfer_but_a_counsellor_cannot(client, login, district):
    patient = make_patient(district, name="Ganga Patel")
    hospital = facility(district, "hospital")
    login(make_user("doctor", district))
    url = f"/desk/referrals/doctor/patient/{patient.id}"
    html, fields = open_call_screen(client, url)
    assert hospital.name in html and "Move the patient" in html
    response = client.post(url + "/transfer", data={"csrf_token": fields["csrf_token"], "to_setting": "hospital",
                                                    "to_facility_id": str(hospital.id), "reason": "SpO2 falling"},
                           follow_redirects=True)
    assert f"Ganga Patel moved to COVID hospital · {hospital.name}." in response.get_data(as_text=True)
    patient = db.session.get(Patient, patient.id)
    assert (patient.setting, patient.facility_id) == ("hospital", hospital.id)
    move = db.session.scalars(db.select(Transfer)).one()
    assert move.reason == "SpO2 falling"
    assert db.session.scalars(db.select(AuditLog).where(AuditLog.action == "patient.transfer")).one()

    client.post("/logout", data={"csrf_token": fields["csrf_token"]})
    login(make_user("counsellor", district))
    curl = f"/desk/referrals/counsellor/patient/{patient.id}"
    html, fields = open_call_screen(client, curl)
    assert "Move the patient" not in html
    assert client.post(curl + "/transfer", data={"csrf_token": fields["csrf_token"], "to_setting": "home",
                                                 "reason": "x"}).status_code == 403


def test_transfer_errors_are_shown_on_the_call_screen(client, login, district):
    patient = make_patient(district)
    login(make_user("doctor", district))
    url = f"/desk/referrals/doctor/patient/{patient.id}"
    _html, fields = open_call_screen(client, url)
    html = client.post(url + "/transfer", data={"csrf_token": fields["csrf_token"], "to_setting": "hospital",
                                                "reason": "SpO2 falling"}).get_data(as_text=True)
    assert "Choose the hospital or care centre the patient goes to." in html
    assert db.session.scalar(db.select(db.func.count()).select_from(Transfer)) == 0


def test_nav_shows_the_new_pages_by_role(client, login, district):
    login(make_user("doctor", district))
    html = client.get("/desk/referrals").get_data(as_text=True)
    assert 'href="/desk/referrals"' in html and 'href="/desk/beds"' not in html
    client.post("/logout", data={"csrf_token": csrf_token(client, "/desk/referrals")})
    login(make_user("control_room", district))
    html = client.get("/desk/beds").get_data(as_text=True)
    assert 'href="/desk/field-visits"' in html and 'href="/desk/beds"' in html and 'href="/desk/referrals"' not in html
