"""Issue 17: digits typed on a Hindi keyboard (०-९) are read as numbers by every form with a number box, and
no number box is a browser type="number" (which silently empties itself of them)."""
import re
from datetime import date, timedelta

from flask import request

from callcenter.admin.audit import AuditFilterForm
from callcenter.admin.forms import SettingsForm
from callcenter.desks.forms import BedsForm
from callcenter.extensions import db
from callcenter.forms import DecimalNumberField, WholeNumberField
from callcenter.intake.forms import PatientForm
from callcenter.models import AppSetting, CallAttempt, Facility, Patient
from callcenter.queue.forms import CallForm, MemberForm
from callcenter.records.forms import HouseholdForm
from callcenter.services.core import settings

from ..conftest import csrf_token
from ..factories import facility, make_patient, make_task, make_user, village
from .test_call_screen import take_call


def test_number_boxes_are_text_boxes_with_a_numeric_keypad(app):
    with app.test_request_context():
        boxes = [CallForm().spo2, CallForm().temperature_f, MemberForm().spo2, PatientForm().age,
                 HouseholdForm().other_id, BedsForm().free_general, AuditFilterForm().patient_id,
                 SettingsForm()["realert_minutes"]]
        for box in boxes:
            assert isinstance(box, WholeNumberField | DecimalNumberField), box.name
            html = str(box())
            assert 'type="text"' in html and 'type="number"' not in html, html
            assert re.search(r'inputmode="(numeric|decimal)"', html), html


def test_the_call_form_reads_devanagari_spo2_and_temperature(client, login, district):
    make_task(make_patient(district))
    login(make_user("volunteer", district))
    url, _page, fields = take_call(client)
    response = client.post(url, data=dict(fields, outcome="connected", spo2="९२", temperature_f="९९.४"))
    assert response.status_code == 302, response.get_data(as_text=True)
    attempt = db.session.scalars(db.select(CallAttempt)).one()
    assert (attempt.spo2, float(attempt.temperature_f)) == (92, 99.4)


def test_the_call_forms_range_check_still_applies_to_devanagari_digits(client, login, district):
    make_task(make_patient(district))
    login(make_user("volunteer", district))
    url, _page, fields = take_call(client)
    html = client.post(url, data=dict(fields, outcome="connected", spo2="१९०")).get_data(as_text=True)
    assert "SpO2 must be between 50 and 100 %" in html
    assert 'value="१९०"' in html  # shown back as typed, not emptied
    assert db.session.scalar(db.select(db.func.count()).select_from(CallAttempt)) == 0


def test_the_household_call_reads_devanagari_digits(client, login, district):
    phone = "+919826055555"
    mother = make_patient(district, name="Savita Sahu", age=61, phone_number=phone)
    son = make_patient(district, name="Vikas Sahu", age=30, phone_number=phone)
    from callcenter.services.calls import households
    households.group(mother.id, son.id, make_user("nodal_officer", district))
    make_task(db.session.get(Patient, mother.id))
    make_task(db.session.get(Patient, son.id), priority=0)
    login(make_user("volunteer", district))
    url, _page, fields = take_call(client)
    member_ids = [son.id, mother.id]
    form = dict(fields, outcome="connected", **{
        "members-0-patient_id": member_ids[0], "members-0-spo2": "९७", "members-0-temperature_f": "९८.६",
        "members-1-patient_id": member_ids[1], "members-1-spo2": "९१"})
    response = client.post(url, data=form, follow_redirects=True)
    assert "Call saved for 2 household members: " in response.get_data(as_text=True), response.get_data(as_text=True)
    readings = {(a.patient_id, a.spo2) for a in db.session.scalars(db.select(CallAttempt))}
    assert readings == {(member_ids[0], 97), (member_ids[1], 91)}


def test_registration_reads_a_devanagari_age(client, login, district):
    login(make_user("nodal_officer", district))
    data = {"csrf_token": csrf_token(client, "/intake/register"), "name": "Lata Dhruw", "age": "५२", "sex": "female",
            "phone": "९८२६०१२३४५", "language": "hi", "setting": "home",
            "positive_date": (date.today() - timedelta(days=1)).isoformat(),
            "village_id": str(village(district).id), "abha_number": "", "attendant_phone": ""}
    response = client.post("/intake/register", data=data, follow_redirects=True)
    assert "Lata Dhruw is registered" in response.get_data(as_text=True)
    assert db.session.scalars(db.select(Patient)).one().age == 52


def test_the_household_link_reads_a_devanagari_record_number(client, login, district):
    mother = make_patient(district, name="Savita Sahu", phone_number="+919826055555")
    son = make_patient(district, name="Vikas Sahu", phone_number="+919826055555")
    login(make_user("nodal_officer", district))
    token = csrf_token(client, f"/patients/{mother.id}")
    other = str(son.id).translate(str.maketrans("0123456789", "०१२३४५६७८९"))
    client.post(f"/patients/{mother.id}/household", data={"csrf_token": token, "other_id": other, "confirm": "y"})
    assert db.session.get(Patient, son.id, populate_existing=True).household_id is not None


def test_the_bed_table_reads_devanagari_digits(client, login, district):
    hospital = facility(district, "hospital")
    login(make_user("control_room", district))
    token = csrf_token(client, "/desk/beds")
    response = client.post(f"/desk/beds/{hospital.id}", data={"csrf_token": token, "stamp": "", "free_general": "६",
                                                              "free_oxygen": "२", "free_icu": "०"})
    assert response.status_code == 302, response.get_data(as_text=True)
    saved = db.session.get(Facility, hospital.id, populate_existing=True)
    assert (saved.free_general, saved.free_oxygen, saved.free_icu) == (6, 2, 0)


def test_the_audit_filter_reads_a_devanagari_patient_number(app):
    with app.test_request_context("/admin/audit/?patient_id=४२"):
        form = AuditFilterForm(formdata=request.args)
        assert form.patient_id.validate(form) and form.patient_id.data == 42


def test_the_settings_page_reads_devanagari_digits(client, login):
    login(make_user("admin"))
    form = {k: str(v) for k, v in settings.all_settings().items() if not k.startswith("calls_per_day.")}
    form.update({"csrf_token": csrf_token(client, "/admin/settings"), "realert_minutes": "१५"})
    response = client.post("/admin/settings", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert db.session.get(AppSetting, "realert_minutes").value == "15"
