"""The volunteer flow in a real browser: sign in, take the most urgent call, log a call that raises an
emergency, and see the control room pick it up on its desk (issue: one Playwright test on Debian's Chromium)."""
import re

import pytest
from flask_babel import force_locale

from callcenter import labels
from callcenter.extensions import db
from callcenter.models import CallAttempt, Escalation

from .. import factories
from .conftest import sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture reports it: a skip, or a failure when CI is set
    expect = None

pytestmark = pytest.mark.e2e


def test_logged_emergency_reaches_the_control_room_desk(page, screenshot, live_server):
    district = factories.make_district()
    volunteer = factories.make_user("volunteer", district)
    control = factories.make_user("control_room", district)
    patient = factories.make_patient(district, name="Sunita Sahu", age=52)
    factories.make_task(patient)

    # The volunteer signs in and lands on the queue console.
    page.goto("/")
    screenshot("login")
    sign_in(page, volunteer)
    expect(page).to_have_url(live_server.url("/queue/"))
    expect(page.get_by_role("heading", name="Call queue")).to_be_visible()
    expect(page.locator('.queue-count[data-setting="home"]')).to_have_text("1")
    screenshot("queue-console")

    # Takes the most urgent call: the call screen is about this patient.
    page.locator("#take-next").click()
    expect(page).to_have_url(re.compile(r"/queue/task/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(patient.name)
    screenshot("call-screen")

    # Logs a connected call: SpO2 91 and an ambulance needed.
    page.get_by_label("Connected", exact=True).check()
    page.get_by_label("SpO2 (%)").fill("91")
    page.get_by_label("Ambulance", exact=True).check()
    page.get_by_label("Notes").fill("Breathless since morning; son asks for an ambulance.")
    screenshot("call-filled-in")
    page.locator("#save-call").click()

    expect(page).to_have_url(live_server.url("/queue/"))
    saved = page.locator(".alert-success")
    expect(saved).to_contain_text("Call with Sunita Sahu saved.")
    expect(saved).to_contain_text("Control room")
    expect(saved).to_contain_text("Ambulance")
    expect(page.locator('.queue-count[data-setting="home"]')).to_have_text("0")
    screenshot("call-saved")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator(".alert-info")).to_contain_text("You have signed out.")
    screenshot("signed-out")

    # The control room sees the emergency on its desk ...
    sign_in(page, control)
    expect(page).to_have_url(live_server.url("/desk/"))
    row = page.locator("#escalations tbody tr").filter(has_text=patient.name)
    expect(row).to_have_count(1)
    expect(row.locator(".badge")).to_have_text("Emergency")
    expect(row.get_by_role("cell", name="Ambulance", exact=True)).to_be_visible()
    expect(row).to_contain_text("SpO2 91%")
    expect(row).to_contain_text("Open")
    screenshot("desk-emergency")

    # ... and acknowledges it.
    row.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(".alert-success")).to_contain_text("Saved.")
    expect(row).to_contain_text("Acknowledged")
    expect(row.get_by_role("button", name="Acknowledge")).to_have_count(0)
    screenshot("desk-acknowledged")

    # The language switch in the navbar turns the page into Hindi (as far as the catalogue goes).
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("button", name="हिन्दी").click()
    expect(page.locator("html")).to_have_attribute("lang", "hi")
    expect(page.get_by_role("button", name="हिन्दी")).to_have_attribute("aria-pressed", "true")
    expect(page).to_have_url(re.compile(r"/desk/"))
    with force_locale("hi"):
        desk_title = str(labels.DESKS["control_room"])
        acknowledged = str(labels.ESCALATION_STATUSES["acknowledged"])
    expect(page.get_by_role("heading", level=1)).to_have_text(desk_title)
    expect(row).to_contain_text(acknowledged)
    screenshot("desk-hindi")

    # What the browser did is what the database holds: one call, one acknowledged emergency.
    db.session.expire_all()
    attempts = db.session.scalars(db.select(CallAttempt)).all()
    assert [(a.patient_id, a.user_id, a.spo2) for a in attempts] == [(patient.id, volunteer.id, 91)]
    escalations = db.session.scalars(db.select(Escalation)).all()
    assert [(e.patient_id, e.kind, e.severity, e.status, e.acknowledged_by_id) for e in escalations] == [
        (patient.id, "ambulance", "emergency", "acknowledged", control.id)]
    assert not live_server.errors
