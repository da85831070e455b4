"""The nodal officer's dashboard in a real browser: the figures, the charts, a link to a list."""
import re

import pytest

from ..dashboard import scenario
from .conftest import sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture reports it
    expect = None

pytestmark = pytest.mark.e2e


def test_dashboard_renders_figures_and_charts(page, screenshot, live_server):
    s = scenario.build()
    sign_in(page, s.officer, start="/login")  # the password, then the code (a nodal officer's second step)
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
