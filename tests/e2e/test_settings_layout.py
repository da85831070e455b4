"""The Settings page in a browser: grouped into sections with their own headings, two columns on a wide
screen, and a Save button that stays in view while the administrator scrolls (issue 17: it was one
3,200-pixel column with Save at the bottom)."""
import pytest

from .. import factories
from .conftest import sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture reports it
    expect = None

pytestmark = pytest.mark.e2e


def test_settings_are_grouped_and_save_stays_in_view(page, screenshot, live_server):
    admin = factories.make_user("admin")
    sign_in(page, admin)
    page.goto(live_server.url("/admin/settings"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Settings")
    screenshot("settings-top")
    headings = page.locator("form h2").all_inner_texts()
    assert {"Warning signs", "Calls and the queue", "Discharge review", "Response deadlines",
            "Records and retention"} <= set(headings), headings
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 2400, height  # was about 3,200 pixels at this width
    save = page.get_by_role("button", name="Save settings")
    expect(save).to_be_in_viewport()  # without scrolling …
    page.mouse.wheel(0, height // 2)
    page.wait_for_timeout(200)
    expect(save).to_be_in_viewport()  # … and half-way down
    screenshot("settings-scrolled")
    # Two columns: the deadlines (the longest section) beside the first of the others.
    boxes = [page.locator(f"form section#{anchor}").bounding_box() for anchor in ("warning-signs", "deadlines")]
    assert abs(boxes[0]["y"] - boxes[1]["y"]) < 5 and boxes[1]["x"] > boxes[0]["x"] + 300, boxes
    # Saving still works.
    page.get_by_label("High risk from age").fill("65")
    save.click()
    expect(page.locator(".alert-success")).to_contain_text("Settings saved.")
    expect(page.get_by_label("High risk from age")).to_have_value("65")
