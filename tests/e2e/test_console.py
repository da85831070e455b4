"""The control-room console in a real browser: a volunteer's emergency, logged through the real call
service while the console is open, appears without a reload, with the alarm (banner, title, beep); the
operator then acknowledges it and sends an ambulance from the escalation's page."""
import re
from datetime import timedelta

import pytest

from callcenter.clock import to_local, utcnow
from callcenter.extensions import db
from callcenter.models import Dispatch, Escalation, OutboundMessage
from callcenter.services.calls import calls, queue
from callcenter.services.desks import escalations

from .. import factories
from .conftest import sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture reports it: a skip, or a failure when CI is set
    expect = None

pytestmark = pytest.mark.e2e


def test_new_emergency_appears_on_the_open_console_with_the_alarm(page, screenshot, live_server):
    district = factories.make_district()
    volunteer = factories.make_user("volunteer", district)
    control = factories.make_user("control_room", district)
    hospital = factories.facility(district, "hospital")
    hospital.free_general, hospital.free_oxygen, hospital.free_icu = 6, 2, 1
    db.session.commit()
    earlier = factories.make_patient(district, name="Kamla Dhruw")
    calls_patient = factories.make_patient(district, name="Sunita Sahu", age=58)
    factories.make_task(calls_patient)
    # one routine need already on the desk
    escalations.raise_escalation(earlier, "medicine", "control_room", "routine", "call")
    db.session.commit()

    # The control room has its console open.
    sign_in(page, control)
    expect(page).to_have_url(live_server.url("/desk/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Control room")
    expect(page.locator("#escalations tbody tr")).to_have_count(1)
    expect(page.locator("#console-state")).to_contain_text("Updated")
    page.get_by_role("button", name="Alarm sound: off").click()  # the click browsers need before sound
    expect(page.get_by_role("button", name="Alarm sound: on")).to_have_attribute("aria-pressed", "true")
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    expect(page.locator("#new-emergency")).to_be_hidden()

    # A volunteer takes the call and logs SpO2 88 and an ambulance, through the real call service.
    task = queue.claim_next_task(volunteer)
    logged = calls.log_attempt(task.id, volunteer, {"outcome": "connected", "spo2": 88, "needs": ["ambulance"],
                                                    "notes": "Breathless since morning"}, "e2e-console-1")
    db.session.commit()
    esc = next(e for e in logged.escalations if e.kind == "ambulance")
    esc_id = esc.id

    # It appears on the open console, without a reload, with the alarm.
    row = page.locator(f'#escalations tbody tr[data-escalation="{esc_id}"]')
    expect(row).to_be_visible(timeout=15_000)
    assert page.evaluate("window.__sameDocument") is True
    expect(page.locator("#escalations tbody tr").first).to_have_attribute("data-escalation", str(esc_id))
    expect(row.locator(".badge")).to_have_text("Emergency")
    expect(row).to_contain_text("SpO2 88%")
    expect(row.locator("[data-deadline]")).to_have_text(re.compile(r"^\d+:\d\d left$"))
    banner = page.locator("#new-emergency")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("New emergency")
    expect(banner).to_contain_text("Ambulance · Sunita Sahu")
    expect(banner).to_have_class(re.compile(r"flashing"))
    expect(banner).to_have_attribute("data-beeps", re.compile(r"^[1-9]"))
    expect(page).to_have_title(re.compile(r"New emergency"))
    screenshot("console-new-emergency")
    page.screenshot(path="/tmp/console-new-emergency.png", full_page=True)

    # Seen: the banner goes, the title comes back.
    page.get_by_role("button", name="Seen").click()
    expect(banner).to_be_hidden()
    expect(page).to_have_title(re.compile(r"^Control room"))

    # Filters and search apply without a reload.
    page.locator("#filter-kind").select_option("medicine")
    expect(page.locator("#escalations tbody tr")).to_have_count(1)
    expect(page.locator("#escalations tbody tr")).to_contain_text("Kamla Dhruw")
    page.locator("#filter-kind").select_option("")
    expect(page.locator("#escalations tbody tr")).to_have_count(2)
    page.locator("#filter-q").fill("sunita")
    expect(page.locator("#escalations tbody tr", has_text="Kamla Dhruw")).to_have_count(0)
    expect(page.locator("#escalations tbody tr")).to_have_count(1)
    expect(page.locator("#escalations tbody tr")).to_contain_text("Sunita Sahu")
    assert page.evaluate("window.__sameDocument") is True
    # The search words stay out of the address (and so out of every access log); the other filters are in it.
    page.locator("#filter-kind").select_option("ambulance")
    expect(page).to_have_url(re.compile(r"kind=ambulance"))
    assert "sunita" not in page.url.lower()
    expect(page.locator("#escalations tbody tr")).to_have_count(1)

    # Acknowledge, then send an ambulance from the escalation's page.
    row.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(".alert-success")).to_contain_text("Saved.")
    # The page came back with its filters and its search (the tab keeps it), still without it in the address.
    expect(page.locator("#filter-q")).to_have_value("sunita")
    expect(page.locator("#escalations tbody tr", has_text="Kamla Dhruw")).to_have_count(0)
    assert "sunita" not in page.url.lower() and "kind=ambulance" in page.url
    row = page.locator(f'#escalations tbody tr[data-escalation="{esc_id}"]')
    expect(row).to_contain_text("Acknowledged")
    row.get_by_role("link", name="Send help or close").click()
    expect(page).to_have_url(re.compile(rf"/desk/escalation/{esc_id}$"))
    form = page.locator("#dispatch-form")
    expect(form.get_by_label("Brought by")).to_be_hidden()  # delivery fields hide for an ambulance
    form.get_by_label("Vehicle number").fill("CG 04 AB 1234")
    form.get_by_label("Driver's mobile").fill("98260 12345")
    option = f"{hospital.name} (COVID hospital) · free beds: 6 general, 2 oxygen, 1 ICU"
    form.get_by_label("Takes the patient to").select_option(label=option)
    eta = (to_local(utcnow()) + timedelta(minutes=25)).strftime("%Y-%m-%dT%H:%M")
    form.locator('input[name="eta"]').fill(eta)
    screenshot("dispatch-form")
    page.screenshot(path="/tmp/console-dispatch-form.png", full_page=True)
    form.get_by_role("button", name="Save and tell the patient").click()
    expect(page.locator(".alert-success")).to_contain_text("Saved: Ambulance sent.")
    expect(page.locator("#dispatches")).to_contain_text("CG04AB1234")
    expect(page.locator("#esc-status")).to_have_text("In progress")
    screenshot("dispatched")

    db.session.expire_all()
    esc = db.session.get(Escalation, esc_id)
    assert (esc.status, esc.acknowledged_by_id) == ("in_progress", control.id)
    sent = db.session.scalars(db.select(Dispatch)).one()
    assert (sent.vehicle_number, sent.driver_phone, sent.destination_facility_id) == (
        "CG04AB1234", "+919826012345", hospital.id)
    assert db.session.scalars(db.select(OutboundMessage)).one().template == "help_ambulance"
    assert not live_server.errors
