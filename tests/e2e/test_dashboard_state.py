"""The whole state's dashboard in a real browser: volunteers and blocks a row per district, a district's name opens
its own view, the villages a page at a time (plain links, no script needed)."""
import re

import pytest

from callcenter.dashboard.views import VILLAGE_PAGE_SIZE

from .. import factories
from ..dashboard.test_state_view import _district_with_villages
from .conftest import sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture reports it
    expect = None

pytestmark = pytest.mark.e2e


def test_the_state_view_folds_to_districts_and_pages_villages(page, screenshot, live_server):
    a, block_a, _ = _district_with_villages(VILLAGE_PAGE_SIZE + 3, "Bastar")
    _district_with_villages(2, "Durg")
    sign_in(page, factories.make_user("nodal_officer"), start="/login")
    page.goto(live_server.url("/dashboard/"))
    expect(page.locator("#block-table[data-folded=districts] tbody tr")).to_have_count(2)
    expect(page.locator("#volunteer-table tbody tr")).to_have_count(2)
    expect(page.locator("#village-table tbody tr")).to_have_count(VILLAGE_PAGE_SIZE)
    screenshot("state-folded")

    page.locator("#village-pages").get_by_role("link", name="Next").click()
    expect(page.locator("#village-table tbody tr")).to_have_count(5)
    expect(page.locator("#village-pages")).to_contain_text("2 / 2")

    page.locator("#block-table").get_by_role("link", name="Bastar").click()
    expect(page).to_have_url(re.compile(rf"district={a.id}"))
    expect(page.locator("#block-table")).to_contain_text(block_a.name)
    expect(page.locator("#block-table[data-folded]")).to_have_count(0)
    expect(page.locator('#volunteer-table tr[data-user="vol_bastar"]')).to_have_count(1)
    screenshot("district-drill-down")
