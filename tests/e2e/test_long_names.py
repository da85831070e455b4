"""A name longer than its field is said to be too long while it is typed or pasted, not cut by the browser
(issue 17)."""
import re

import pytest

from .. import factories
from .conftest import sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture reports it
    expect = None

pytestmark = pytest.mark.e2e

LONG_NAME = ("Shrimati Kamladevi Rameshwari Prasad Dhruw Sahu Verma Tiwari Chandrakar Banjare Netam Markam "
             "Kashyap Thakur Yadav Sinha Raipurwali Bai")


def test_a_pasted_long_name_is_kept_whole_and_said_to_be_too_long(page, screenshot, live_server):
    district = factories.make_district()
    sign_in(page, factories.make_user("nodal_officer", district))
    page.goto(live_server.url("/intake/register"))
    name = page.get_by_label("Name", exact=True)
    name.fill(LONG_NAME)
    expect(name).to_have_value(LONG_NAME)  # not cut at 120
    note = page.locator(".too-long")
    expect(note).to_be_visible()
    expect(note).to_have_text(f"Too long: {len(LONG_NAME)} characters, 120 at most. Nothing was cut: shorten it "
                              "here (for example, initials for middle names).")
    expect(name).to_have_class(re.compile(r"is-invalid"))
    screenshot("name-too-long")
    name.fill(LONG_NAME[:100])
    expect(note).to_be_hidden()
