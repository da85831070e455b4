"""Click-to-call in a real browser, in English and Hindi, with the console backend's simulated bridge (as in the
demo): the patient's number masked, *Call patient*, the simulated call ended by hand, the outcome pre-filled."""
import pytest

from callcenter.extensions import db
from callcenter.rules.identity import format_phone, mask_phone

from .. import factories
from .conftest import sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture reports it
    expect = None

pytestmark = pytest.mark.e2e

WORDS = {
    "en": {"call": "Call patient", "demo": "Demo: your phone would ring now",
           "end": "End the simulated call (answered)", "connected": "Connected", "last": "Last call: connected"},
    "hi": {"call": "मरीज को कॉल करें", "demo": "डेमो: अभी पहले आपका फ़ोन बजता", "end": "नकली कॉल समाप्त करें (उठाया गया)",
           "connected": "बात हुई", "last": "पिछला कॉल: बात हुई"},
}


@pytest.fixture
def click_to_call(app):
    saved = dict(app.config)
    app.config.update(CLICK_TO_CALL_BACKEND="console", CLICK_TO_CALL_DESK_PHONE="+917710000000")
    yield
    app.config.clear()
    app.config.update(saved)


@pytest.mark.parametrize("language", ["en", "hi"])
def test_call_patient_with_the_number_masked(page, screenshot, live_server, click_to_call, language):
    words = WORDS[language]
    district = factories.make_district()
    volunteer = factories.make_user("volunteer", district, language=language)
    patient = factories.make_patient(district, name="Sunita Verma")
    factories.make_task(patient)
    db.session.commit()
    sign_in(page, volunteer)
    page.locator("#take-next").click()
    expect(page.locator(".patient-number")).to_have_text(mask_phone(patient.phone))
    html = page.content()
    assert format_phone(patient.phone) not in html and patient.phone not in html and "tel:" not in html
    screenshot(f"masked-{language}")

    page.get_by_role("button", name=words["call"]).click()
    expect(page.get_by_text(words["demo"])).to_be_visible()
    screenshot(f"ringing-{language}")
    page.get_by_role("button", name=words["end"]).click()
    expect(page.get_by_text(words["last"])).to_be_visible()
    expect(page.get_by_label(words["connected"], exact=True)).to_be_checked()
    screenshot(f"ended-{language}")
