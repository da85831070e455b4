"""Least exposure: a patient's number is masked on lists and records, in full only where someone acts on that
patient now (the volunteer's call, the desk's escalation, the doctor's referral); "show number" reveals it,
by POST, recorded."""
import re

import pytest

from callcenter.extensions import db
from callcenter.models import AuditLog
from callcenter.rules.identity import mask_phone
from callcenter.services.desks import escalations

from ..factories import make_district, make_patient, make_task, make_user

PHONE = "+919826012210"
FULL = ("+919826012210", "+91 98260 12210", "98260 12210", "9826012210")


def _shows_full(html):
    return any(form in html for form in FULL)


def _csrf(html):
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def test_the_mask():
    assert mask_phone(PHONE) == "+91 98\u2022\u2022\u2022 \u2022\u2022210"
    assert mask_phone("") == "" and mask_phone(None) == ""
    assert mask_phone("12345") == "\u2022\u2022\u2022345"


@pytest.mark.parametrize("language", ["en", "hi"])
def test_the_record_masks_and_show_number_reveals_it_recorded(client, login, district, language):
    patient = make_patient(district, name="Geeta Nishad", phone_number=PHONE)
    login(make_user("nodal_officer", district, language=language))
    html = client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert "Geeta Nishad" in html and "+91 98\u2022\u2022\u2022 \u2022\u2022210" in html and not _shows_full(html)
    assert 'class="d-inline reveal-phone"' in html and "onclick" not in html  # no inline script (CSP)
    assert ("नंबर दिखाएं" if language == "hi" else "show number") in html

    data = {"csrf_token": _csrf(html), "field": "phone", "page": "record"}
    answer = client.post(f"/patients/{patient.id}/phone", data=data, headers={"Accept": "application/json"})
    assert answer.status_code == 200 and answer.get_json() == {"phone": "+91 98260 12210", "tel": PHONE}
    page = client.post(f"/patients/{patient.id}/phone", data=data)  # without scripts: a page of its own
    assert page.status_code == 200 and "+91 98260 12210" in page.get_data(as_text=True)
    reveals = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "patient.reveal_phone")).all()
    assert [(r.entity_id, r.details) for r in reveals] == [(patient.id, {"field": "phone", "page": "record"})] * 2


def test_show_number_is_a_post_with_csrf_within_scope(client, login, district):
    patient = make_patient(district, phone_number=PHONE)
    elsewhere = make_patient(make_district(), phone_number="+919826099999")
    login(make_user("nodal_officer", district))
    token = _csrf(client.get(f"/patients/{patient.id}").get_data(as_text=True))
    assert client.get(f"/patients/{patient.id}/phone").status_code == 405
    assert client.post(f"/patients/{patient.id}/phone", data={"field": "phone"}).status_code == 400  # no CSRF
    assert client.post(f"/patients/{patient.id}/phone", data={"csrf_token": token, "field": "address"}
                       ).status_code == 400
    other = client.post(f"/patients/{elsewhere.id}/phone", data={"csrf_token": token, "field": "phone"})
    assert other.status_code == 404 and "99999" not in other.get_data(as_text=True)
    assert not db.session.scalars(db.select(AuditLog).where(AuditLog.action == "patient.reveal_phone")).all()


def test_volunteers_have_no_show_number(client, login, district):
    patient = make_patient(district, phone_number=PHONE)
    login(make_user("volunteer", district))
    token = _csrf(client.get("/queue/").get_data(as_text=True))
    assert client.post(f"/patients/{patient.id}/phone", data={"csrf_token": token, "field": "phone"}
                       ).status_code == 403


def test_in_full_on_the_call_and_the_escalation_masked_on_the_console(client, login, district):
    patient = make_patient(district, phone_number=PHONE)
    make_task(patient)
    esc = escalations.raise_escalation(patient, "ambulance", "control_room", "emergency", "call")
    db.session.commit()
    login(make_user("control_room", district))
    console = client.get("/desk/?desk=control_room").get_data(as_text=True)
    assert f'data-escalation="{esc.id}"' in console and not _shows_full(console)
    poll = client.get("/desk/console.json?desk=control_room").get_json()
    assert not _shows_full(poll["html"])
    detail = client.get(f"/desk/escalation/{esc.id}").get_data(as_text=True)
    assert "+91 98260 12210" in detail and f"tel:{PHONE}" in detail  # the desk acts on it now

    client.post("/logout", data={"csrf_token": _csrf(detail)})
    login(make_user("volunteer", district))
    html = client.get("/queue/").get_data(as_text=True)
    taken = client.post("/queue/take", data={"csrf_token": _csrf(html)})
    call = client.get(taken.headers["Location"]).get_data(as_text=True)
    assert "+91 98260 12210" in call  # the volunteer's active call


def test_dashboard_lists_mask(client, login, district):
    make_task(make_patient(district, name="Geeta Nishad", phone_number=PHONE))
    login(make_user("nodal_officer", district))
    html = client.get("/dashboard/list/patients").get_data(as_text=True)
    assert "Geeta Nishad" in html and "\u2022\u2022210" in html and not _shows_full(html)
