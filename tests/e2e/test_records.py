"""In a real browser: a household's call (one call, each member's readings), then the officer's patient
record with its timeline and the village page with whom to call."""
import re

import pytest

from callcenter.extensions import db
from callcenter.models import CallAttempt, Escalation
from callcenter.services.calls import households
from callcenter.services.records import villages

from .. import factories
from .test_volunteer_flow import sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture reports it
    expect = None

pytestmark = pytest.mark.e2e


def test_household_call_record_and_village_page(page, screenshot, live_server):
    district = factories.make_district()
    v = factories.village(district)
    volunteer = factories.make_user("volunteer", district)
    officer = factories.make_user("nodal_officer", district)
    mother = factories.make_patient(district, name="Savita Sahu", age=63, comorbidities="diabetes",
                                    phone_number="+919826055555", village_id=v.id, address="House 12")
    son = factories.make_patient(district, name="Vikas Sahu", age=34, phone_number="+919826055555",
                                 village_id=v.id, address="House 12", lab_id="RPR-0042")
    households.group(mother.id, son.id, officer)
    factories.make_task(mother, priority=1)
    factories.make_task(son, priority=3)
    villages.add_contact(v.id, officer, {"name": "Shivkumar Sahu", "role": "sarpanch", "phone": "9826011111"})

    # The volunteer takes the household's one call and records each member.
    sign_in(page, volunteer)
    expect(page.locator('.queue-count[data-setting="home"]')).to_have_text("1")
    page.locator("#take-next").click()
    expect(page).to_have_url(re.compile(r"/queue/task/\d+$"))
    expect(page.locator(".member-card")).to_have_count(2)
    page.get_by_label("Connected", exact=True).check()
    mother_card = page.locator(f'.member-card[data-patient="{mother.id}"]')
    son_card = page.locator(f'.member-card[data-patient="{son.id}"]')
    mother_card.get_by_label("SpO2 (%)").fill("92")
    mother_card.get_by_label("Difficulty in breathing").check()
    mother_card.get_by_label("Oxygen").check()
    son_card.get_by_label("SpO2 (%)").fill("98")
    son_card.get_by_label("Temperature (°F)").fill("99.2")
    son_card.get_by_label("Counselling").check()
    page.get_by_label("Notes").fill("Son answered; mother breathless since last night.")
    screenshot("household-call")
    page.locator("#save-call").click()
    expect(page.locator(".alert-success")).to_contain_text("Call saved for 2 household members: ")
    expect(page.locator(".alert-success")).to_contain_text("Savita Sahu: Oxygen, Emergency")
    page.get_by_role("button", name="Sign out").click()

    # The nodal officer finds the mother by phone and reads her record.
    sign_in(page, officer)
    page.goto("/patients/")
    page.get_by_role("search").get_by_label("Name, mobile number, lab ID or ABHA number").fill("098260-55555")
    page.get_by_role("search").get_by_role("button", name="Search").click()
    expect(page.locator("#results tbody tr")).to_have_count(2)
    assert "55555" not in page.url  # the number went by POST: in no address, no log
    screenshot("search")
    page.get_by_role("link", name="Savita Sahu").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Savita Sahu")
    expect(page.locator("#timeline")).to_contain_text("SpO2 92%")
    expect(page.locator("#timeline")).to_contain_text("Oxygen")
    expect(page.locator("#household-members")).to_contain_text("Vikas Sahu")
    screenshot("patient-record")

    page.get_by_role("link", name=v.name).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(v.name)
    expect(page.locator('[data-figure="active"]')).to_have_text("2")
    expect(page.locator("#contacts")).to_contain_text("Shivkumar Sahu")
    expect(page.locator("#open-needs")).to_contain_text("Savita Sahu")
    screenshot("village-page")
    page.get_by_role("link", name="Villages", exact=True).click()
    expect(page.locator(f'tr[data-village="{v.id}"] [data-figure="active"]')).to_have_text("2")
    screenshot("villages")

    db.session.expire_all()
    assert {(a.patient_id, a.spo2) for a in db.session.scalars(db.select(CallAttempt))} == {
        (mother.id, 92), (son.id, 98)}
    assert {(e.patient_id, e.kind) for e in db.session.scalars(db.select(Escalation))} == {
        (mother.id, "oxygen"), (son.id, "counselling")}
