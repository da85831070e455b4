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
