"""The control room's console keeps emergencies and urgent needs apart from routine ones (issue 17), in English
and Hindi: two sections with headings and counts, a badge in words and colour per band, and the live poll
putting each new row in its section (the alarm for a new emergency only); the filters narrow both sections; a
row whose escalation changed is replaced, not shown twice."""
import re

import pytest

from callcenter.extensions import db
from callcenter.services.desks import escalations

from .. import factories
from .conftest import sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture reports it
    expect = None

pytestmark = pytest.mark.e2e

WORDS = {
    "en": {"urgent": "Emergencies and urgent", "routine": "Routine needs", "emergency": "Emergency",
           "band_urgent": "Urgent", "band_routine": "Routine", "none": "None open."},
    "hi": {"urgent": "आपातकालीन और तुरंत ज़रूरी", "routine": "सामान्य ज़रूरतें", "emergency": "आपातकालीन",
           "band_urgent": "तुरंत ज़रूरी", "band_routine": "सामान्य", "none": "कोई खुला मामला नहीं।"},
}


def raise_one(name, district, kind, severity):
    esc = escalations.raise_escalation(factories.make_patient(district, name=name), kind, "control_room", severity,
                                       "call")
    db.session.commit()
    return esc


@pytest.mark.parametrize("language", ["en", "hi"])
def test_emergencies_and_routine_needs_sit_apart_and_stay_live(page, screenshot, live_server, language):
    words = WORDS[language]
    district = factories.make_district()
    control = factories.make_user("control_room", district)
    kamla = raise_one("Kamla Dhruw", district, "ambulance", "emergency")
    raise_one("Sunita Sahu", district, "food", "routine")
    raise_one("Gita Bai", district, "oxygen", "routine")  # urgent by nature, though raised as routine
    sign_in(page, control)
    if language == "hi":
        page.get_by_role("button", name="हिन्दी").click()
        expect(page.locator("html")).to_have_attribute("lang", "hi")
    urgent = page.locator('section[data-section="urgent"]')
    routine = page.locator('section[data-section="routine"]')
    expect(urgent.get_by_role("heading")).to_contain_text(words["urgent"])
    expect(routine.get_by_role("heading")).to_contain_text(words["routine"])
    # The sections read top to bottom: emergencies first.
    assert urgent.bounding_box()["y"] < routine.bounding_box()["y"]
    expect(urgent.locator("tbody tr")).to_have_count(2)
    expect(urgent.locator("tbody tr").first).to_contain_text("Kamla Dhruw")
    expect(urgent.locator("tbody tr").first.locator(".badge")).to_have_text(words["emergency"])
    expect(urgent.locator("tbody tr").nth(1).locator(".badge")).to_have_text(words["band_urgent"])
    expect(routine.locator("tbody tr")).to_have_count(1)
    expect(routine.locator("tbody tr").first).to_contain_text("Sunita Sahu")
    expect(routine.locator("tbody tr .badge")).to_have_text(words["band_routine"])
    # The badges differ in colour too (text and colour, never colour alone).
    colours = page.evaluate("""() => ['.band-emergency', '.band-urgent', '.band-routine'].map(
        s => getComputedStyle(document.querySelector(s)).backgroundColor)""")
    assert len(set(colours)) == 3, colours
    screenshot(f"sections-{language}")

    # New rows arrive by the poll, each in its section; a routine need rings no alarm.
    raise_one("Rekha Sahu", district, "medicine", "routine")
    expect(routine.locator("tbody tr")).to_have_count(2, timeout=15_000)
    expect(routine.locator("[data-section-count]")).to_have_text("2")
    expect(page.locator("#new-emergency")).to_be_hidden()
    raise_one("Meena Kurre", district, "hospital_bed", "emergency")
    expect(urgent.locator("tbody tr")).to_have_count(3, timeout=15_000)
    expect(urgent.locator("[data-section-count]")).to_have_text("3")
    expect(page.locator("#new-emergency")).to_be_visible()
    expect(page.locator("#new-emergency")).to_contain_text("Meena Kurre")
    expect(routine.locator("tbody tr", has_text="Meena Kurre")).to_have_count(0)

    # A row whose escalation changed (acknowledged elsewhere) is replaced in place, not shown twice.
    escalations.acknowledge(kamla.id, control)
    db.session.commit()
    row = page.locator(f'#escalations tbody tr[data-escalation="{kamla.id}"]')
    expect(row).to_have_attribute("data-status", "acknowledged", timeout=15_000)
    page.wait_for_timeout(6000)  # another poll: still one row
    expect(row).to_have_count(1)
    expect(page.locator("#escalations tbody tr")).to_have_count(5)

    # The filters narrow both sections; an emptied section says so.
    page.locator("#filter-kind").select_option("food")
    expect(page.locator("#escalations tbody tr")).to_have_count(1)
    expect(urgent.locator("[data-section-none]")).to_have_text(words["none"])
    expect(urgent.locator("[data-section-none]")).to_be_visible()
    expect(routine.locator("tbody tr")).to_contain_text("Sunita Sahu")
    page.locator("#filter-kind").select_option("")
    expect(page.locator("#escalations tbody tr")).to_have_count(5)
    page.locator("#filter-q").fill("meena")
    expect(page.locator("#escalations tbody tr")).to_have_count(1)
    expect(urgent.locator("tbody tr")).to_contain_text("Meena Kurre")
    expect(routine.locator("[data-section-none]")).to_be_visible()
    page.locator("#filter-q").fill("")
    expect(page.locator("#escalations tbody tr")).to_have_count(5)
    expect(page.locator("#escalations tbody tr").first).to_have_attribute("data-escalation", re.compile(r"\d+"))
    screenshot(f"sections-live-{language}")
