"""The console in a browser set to another zone and a 12-hour locale: its times stay 24-hour in the app's
zone; a search with no match says so and offers to clear the filters (issue 17)."""
import re

import pytest

from callcenter.clock import to_local, utcnow
from callcenter.extensions import db
from callcenter.services.desks import escalations

from .. import factories
from .conftest import ARTIFACTS, TIMEOUT_MS, sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture reports it
    expect = None

pytestmark = pytest.mark.e2e


@pytest.fixture
def us_page(browser, live_server):
    """A browser in New York with a US English locale (toLocaleTimeString: "4:54:36 PM", another zone)."""
    expect.set_options(timeout=TIMEOUT_MS)
    context = browser.new_context(base_url=live_server.base_url, locale="en-US", timezone_id="America/New_York",
                                  viewport={"width": 1366, "height": 768})
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()
    assert not live_server.errors, f"the app raised while serving the browser: {live_server.errors!r}"


def test_console_time_is_24_hour_in_the_apps_zone_and_no_match_is_said(us_page, live_server):
    page = us_page
    district = factories.make_district()
    control = factories.make_user("control_room", district)
    escalations.raise_escalation(factories.make_patient(district, name="Kamla Dhruw"), "ambulance", "control_room",
                                 "emergency", "call")
    db.session.commit()
    sign_in(page, control)
    expect(page).to_have_url(live_server.url("/desk/"))
    state = page.locator("#console-state")
    expect(state).to_have_text(re.compile(r"^Updated \d\d:\d\d:\d\d$"))
    page.wait_for_timeout(6000)  # one poll later: the text now comes from console.json
    text = state.text_content()
    assert re.fullmatch(r"Updated \d\d:\d\d:\d\d", text), text
    assert "AM" not in text and "PM" not in text
    shown = int(text.split()[1].split(":")[0])
    assert shown in {to_local(utcnow()).hour, (to_local(utcnow()).hour - 1) % 24}  # the app's zone, not New York's

    # A search that matches nothing: not "nothing open", but no match, the open emergency, and a way back.
    page.get_by_label("Search").fill("Nobody Like This")
    empty = page.locator("#console-empty")
    expect(empty).to_contain_text("Nothing open on this desk matches the search or filters.")
    expect(empty).to_contain_text("1 emergency is open on this desk.")
    expect(page.locator("#escalations tbody tr")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "console-no-match.png"), full_page=True)
    empty.get_by_role("link", name="Clear the filters").click()
    expect(page.get_by_label("Search")).to_have_value("")  # the tab's remembered search is cleared too
    expect(page.locator("#escalations tbody tr")).to_have_count(1)
    expect(page.locator("#console-empty")).to_be_hidden()
