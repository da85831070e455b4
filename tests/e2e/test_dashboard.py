"""The nodal officer's dashboard in a real browser: the figures, the charts, a link to a list."""
import re

import pytest

from .. import factories
from ..dashboard import scenario

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture reports it
    expect = None

pytestmark = pytest.mark.e2e


def test_dashboard_renders_figures_and_charts(page, screenshot, live_server):
    s = scenario.build()
    page.goto("/login")
    page.get_by_label("Username").fill(s.officer.username)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(live_server.url("/dashboard/"))
    expect(page.locator('[data-fig="active_total"]')).to_have_text("4")
    expect(page.locator('[data-fig="tasks.due"]')).to_have_text("4")
    charts = page.locator("#charts svg[role=img]")
    expect(charts).to_have_count(6)
    for i in range(6):
        box = charts.nth(i).bounding_box()
        assert box and box["width"] > 200 and box["height"] > 30
    expect(page.locator("#village-table")).to_contain_text("Ramesh Sarpanch")
    screenshot("dashboard")
    page.emulate_media(media="print")
    screenshot("dashboard-print")
    page.emulate_media(media="screen")

    page.locator('[data-fig="active_total"]').click()
    expect(page).to_have_url(re.compile(r"/dashboard/list/patients\?which=active"))
    expect(page.locator("#list-table tbody tr")).to_have_count(4)
    screenshot("patients-list")
