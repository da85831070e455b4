"""Issue 17: each desk's escalation page shows the actions of its own work. Sending help (and the ambulance's
destination when resolving) is the control room's; a doctor or counsellor gets *Call patient* and the
consultations recorded against the referral; an empty list of notes is left out, not shown as "None"."""
import re

import pytest

from callcenter.extensions import db
from callcenter.rules.routing import Desk, Severity
from callcenter.services.desks import consultations
from callcenter.services.desks import escalations as esc_service

from ..factories import facility, make_patient, make_user


def referral(district, desk, kind):
    esc = esc_service.raise_escalation(make_patient(district, name="Geeta Nishad"), kind, desk, Severity.ROUTINE,
                                       "call")
    db.session.commit()
    return esc


@pytest.mark.parametrize("role, desk, kind", [("doctor", Desk.DOCTOR, "doctor"),
                                              ("counsellor", Desk.COUNSELLOR, "counselling")])
def test_a_referral_desk_calls_the_patient_and_sees_its_consultations(client, login, district, role, desk, kind):
    facility(district, "hospital")
    esc = referral(district, desk, kind)
    user = make_user(role, district)
    esc_service.acknowledge(esc.id, user)
    consultations.record(esc.patient_id, user, desk, {"outcome": "connected", "notes": "Advised rest and fluids",
                                                      "need_met": False, "follow_up_date": None}, "k-1")
    login(user)
    html = client.get(f"/desk/escalation/{esc.id}").get_data(as_text=True)
    assert f'href="/desk/referrals/{desk}/patient/{esc.patient_id}">Call patient</a>' in html
    assert 'id="send-help"' not in html and 'id="dispatch-form"' not in html
    assert 'name="facility_id"' not in html and "The ambulance&#39;s destination" not in html
    assert "Advised rest and fluids" in html and 'id="consultations"' in html
    assert ">None<" not in html and 'id="notes"' not in html  # no notes: no empty "Notes: None"
    rows = client.get(f"/desk/console.json?desk={desk}").get_json()["html"]
    assert f'href="/desk/referrals/{desk}/patient/{esc.patient_id}">Call patient</a>' in rows


def test_the_control_room_sends_help_and_does_not_call_from_a_referral_desk(client, login, district):
    facility(district, "hospital")
    esc = referral(district, Desk.CONTROL_ROOM, "ambulance")
    operator = make_user("control_room", district)
    esc_service.acknowledge(esc.id, operator)
    login(operator)
    html = client.get(f"/desk/escalation/{esc.id}").get_data(as_text=True)
    assert 'id="dispatch-form"' in html and 'name="facility_id"' in html
    assert "Call patient" not in html and 'id="consultations"' not in html


def test_a_supervisor_sees_no_dispatch_on_a_doctors_referral(client, login, district):
    facility(district, "hospital")
    esc = referral(district, Desk.DOCTOR, "doctor")
    officer = make_user("nodal_officer", district)
    esc_service.acknowledge(esc.id, officer)
    login(officer)
    html = client.get(f"/desk/escalation/{esc.id}").get_data(as_text=True)
    assert 'id="dispatch-form"' not in html and 'name="facility_id"' not in html
    assert "Nobody has called the patient from this desk yet." in html


def test_the_doctors_page_in_hindi(client, login, district):
    esc = referral(district, Desk.DOCTOR, "doctor")
    login(make_user("doctor", district, language="hi"))
    html = client.get(f"/desk/escalation/{esc.id}").get_data(as_text=True)
    assert "मरीज को कॉल करें" in html and "इस डेस्क से अभी तक किसी ने मरीज़ को कॉल नहीं किया है।" in html


def test_a_need_raised_without_reasons_says_so_and_keeps_the_rows_aligned(client, login, district):
    esc = esc_service.raise_escalation(make_patient(district), "medicine", "control_room", "routine", "call")
    db.session.commit()
    assert not esc.reasons
    login(make_user("control_room", district))
    html = client.get(f"/desk/escalation/{esc.id}").get_data(as_text=True)
    assert re.search(r'>Why</dt><dd class="col-7">—</dd>', html)  # an empty cell let the next row slide up
