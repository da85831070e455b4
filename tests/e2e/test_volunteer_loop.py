"""The volunteer's loop in a real browser, counted: clicks and keystrokes of routine connected calls (SpO2
read out, nothing needed) the old way (save, back to the queue, take the next) and with "Save and take next
call"; the figures are in the README. Then the call screen in Hindi, saying why the call is first."""
import re

import pytest

from callcenter.extensions import db
from callcenter.models import CallAttempt

from .. import factories
from .conftest import sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture reports it
    expect = None

pytestmark = pytest.mark.e2e


class Hands:
    """The volunteer's clicks and keystrokes, counted as they are made."""

    def __init__(self, page):
        self.page, self.clicks, self.keys = page, 0, 0

    def click(self, locator):
        locator.click()
        self.clicks += 1

    def type(self, locator, text):
        self.click(locator)  # into the box
        locator.press_sequentially(text)
        self.keys += len(text)

    def press(self, locator, key):
        locator.press(key)
        self.keys += 1


def routine_call(page, hands, spo2):
    hands.click(page.get_by_label("Connected", exact=True))
    hands.type(page.get_by_label("SpO2 (%)"), spo2)


def test_save_and_take_next_saves_a_click_a_call(page, screenshot, live_server):
    district = factories.make_district()
    volunteer = factories.make_user("volunteer", district)
    names = [f"Rogi {n}" for n in range(1, 7)]
    for n, name in enumerate(names):
        factories.make_task(factories.make_patient(district, name=name, age=30), priority=3 + n)
    sign_in(page, volunteer)
    expect(page).to_have_url(live_server.url("/queue/"))

    # Before: save, back on the queue, take the next one.
    before = Hands(page)
    for name in names[:2]:
        before.click(page.locator("#take-next"))
        expect(page.get_by_role("heading", level=1)).to_have_text(name)
        routine_call(page, before, "97")
        before.click(page.locator("#save-call"))
        expect(page.locator(".alert-success")).to_contain_text(f"Call with {name} saved.")

    # After: one take, then each call ends with "Save and take next call".
    after = Hands(page)
    after.click(page.locator("#take-next"))
    first_take = after.clicks
    for name, following in zip(names[2:4], names[3:5], strict=True):
        expect(page.get_by_role("heading", level=1)).to_have_text(name)
        routine_call(page, after, "96")
        after.click(page.get_by_role("button", name="Save and take next call"))
        expect(page.get_by_role("heading", level=1)).to_have_text(following)
        expect(page.locator(".alert-success")).to_contain_text(f"Call with {name} saved.")
    screenshot("saved-and-next")

    # And from the keyboard: Enter in the SpO2 box is "Save and take next call" (the form's first button).
    keyboard = Hands(page)
    routine_call(page, keyboard, "95")
    keyboard.press(page.get_by_label("SpO2 (%)"), "Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(names[5])
    expect(page.locator(".alert-success")).to_contain_text(f"Call with {names[4]} saved.")

    per_call_before = (before.clicks / 2, before.keys / 2)
    per_call_after = ((after.clicks - first_take) / 2, after.keys / 2)
    print(f"\nclicks, keystrokes per routine call: before {per_call_before}, after {per_call_after}, "
          f"keyboard {(keyboard.clicks, keyboard.keys)}")
    assert per_call_before == (4, 2) and per_call_after == (3, 2) and (keyboard.clicks, keyboard.keys) == (2, 3)
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(CallAttempt)) == 5


def test_the_call_screen_in_hindi_says_why_the_call_is_first(page, screenshot, live_server):
    district = factories.make_district()
    volunteer = factories.make_user("volunteer", district, language="hi")
    patient = factories.make_patient(district, name="सुनीता साहू", age=64, comorbidities="diabetes")
    factories.make_task(patient, priority=2, attempts=1)
    sign_in(page, volunteer)
    page.locator("#take-next").click()
    expect(page).to_have_url(re.compile(r"/queue/task/\d+"))
    why = page.locator("#why-first")
    expect(why).to_contain_text("यह कॉल अभी क्यों")
    expect(why).to_contain_text("ज़्यादा जोखिम: 60 वर्ष से अधिक, मधुमेह (शुगर)")
    expect(why).to_contain_text("आज एक बार कोशिश की, बात नहीं हुई")
    expect(page.get_by_role("button", name="सेव करें और अगली कॉल लें")).to_be_visible()
    screenshot("call-screen-hi")
