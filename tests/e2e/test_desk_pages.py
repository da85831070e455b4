"""Issue 17, the desks in a real browser: the dispatch form's examples read as help, not as typed values."""
import re

import pytest

from callcenter.rules.routing import Desk, Severity
from callcenter.services.desks import escalations

from .. import factories
from .conftest import sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture reports it
    expect = None

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("language, example", [("en", "For example: CG 04 AB 1234"),
                                               ("hi", "उदाहरण: CG 04 AB 1234")])
def test_dispatch_boxes_are_empty_with_examples_under_them(page, screenshot, language, example):
    district = factories.make_district()
    factories.facility(district, "hospital")
    patient = factories.make_patient(district, name="Sunita Sahu")
    esc = escalations.raise_escalation(patient, "ambulance", Desk.CONTROL_ROOM, Severity.EMERGENCY, source="call")
    operator = factories.make_user("control_room", district, language=language)
    escalations.acknowledge(esc.id, operator)

    sign_in(page, operator)
    page.goto(f"/desk/escalation/{esc.id}")
    form = page.locator("#dispatch-form")
    vehicle = form.locator('input[name="vehicle_number"]')
    expect(vehicle).to_have_value("")
    expect(vehicle).not_to_have_attribute("placeholder", re.compile(".*"))
    expect(form.locator('input[name="driver_phone"]')).not_to_have_attribute("placeholder", re.compile(".*"))
    expect(form.get_by_text(example)).to_be_visible()
    screenshot(f"dispatch-form-{language}")


def test_discharge_asks_to_confirm_and_shows_the_latest_readings(page, screenshot, live_server):
    from datetime import timedelta

    from callcenter.clock import local_date, utcnow
    from callcenter.extensions import db
    from callcenter.models import Patient
    from callcenter.services.desks import discharge

    district = factories.make_district()
    patient = factories.make_patient(district, name="Usha Markam", symptom_onset_date=local_date() - timedelta(days=12))
    factories.make_attempt(patient, factories.make_user("volunteer", district), utcnow() - timedelta(hours=3),
                           spo2=97, temperature_f=98.4)
    discharge.flag_release_reviews(local_date())
    sign_in(page, factories.make_user("doctor", district))
    page.goto("/desk/reviews")
    row = page.locator("#reviews tbody tr").filter(has_text="Usha Markam")
    expect(row).to_contain_text("SpO2 97%")
    expect(row).to_contain_text("98.4 °F")
    screenshot("review-list")
    row.get_by_role("button", name="Discharge").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Discharge Usha Markam?")
    expect(page.locator("#confirm-readings")).to_contain_text("SpO2 97%")
    screenshot("confirm")
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).status == "active"  # one click discharges nobody
    page.locator("#confirm-discharge").click()
    expect(page.locator(".alert-success")).to_contain_text("Usha Markam is discharged")
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).status == "recovered"
