"""Issue 17: a volunteer on a Hindi keyboard types ९२ into the SpO2 box; the box keeps it and the call saves 92.
(A type="number" box silently empties itself of digits it does not know.)"""
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


def test_devanagari_digits_typed_into_the_spo2_box_are_saved(page, screenshot, live_server):
    district = factories.make_district()
    volunteer = factories.make_user("volunteer", district)
    factories.make_task(factories.make_patient(district, name="Sunita Sahu", age=52))

    sign_in(page, volunteer)
    page.locator("#take-next").click()
    expect(page).to_have_url(re.compile(r"/queue/task/\d+$"))
    page.get_by_label("Connected", exact=True).check()
    spo2 = page.get_by_label("SpO2 (%)")
    spo2.press_sequentially("९२")  # key by key, as a Hindi keyboard sends them
    page.get_by_label("Temperature (°F)").press_sequentially("९९.४")
    expect(spo2).to_have_value("९२")
    screenshot("hindi-digits-typed")
    page.locator("#save-call").click()

    expect(page).to_have_url(live_server.url("/queue/"))
    expect(page.locator(".alert-success")).to_contain_text("Call with Sunita Sahu saved.")
    db.session.expire_all()
    attempt = db.session.scalars(db.select(CallAttempt)).one()
    assert (attempt.spo2, float(attempt.temperature_f)) == (92, 99.4)
