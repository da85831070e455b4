"""Two-factor sign-in in a real browser: an administrator enrols (QR code, key, recovery codes), then signs in
with the password and the code from the app."""
import re
import time

import pyotp
import pytest

from ..factories import PASSWORD, TOTP_SECRET, make_user

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture reports it
    expect = None

pytestmark = pytest.mark.e2e


def _password(page, user):
    page.goto("/login")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_an_admin_enrols_then_signs_in_with_the_code(page, screenshot, live_server, district):
    admin = make_user("admin", district, username="asha.admin", enrolled=False)
    _password(page, admin)
    expect(page).to_have_url(re.compile(r"/login/two-factor$"))
    qr = page.locator("#qr-code svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box and box["width"] >= 150 and abs(box["width"] - box["height"]) < 2  # a square QR code
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    screenshot("enrolment")
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    screenshot("recovery-codes")
    page.get_by_role("link", name="I have saved them, continue").click()
    expect(page).to_have_url(live_server.url("/dashboard/"))

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    _password(page, admin)
    expect(page).to_have_url(re.compile(r"/login/code$"))
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    screenshot("code")
    # The code shown now may have been used to enrol (a code works once): the next step's is accepted too.
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(int(time.time()) + 30))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(live_server.url("/dashboard/"))
    screenshot("dashboard")


def test_an_enrolled_admin_signs_in_with_password_and_code(page, screenshot, live_server, district):
    admin = make_user("admin", district)
    _password(page, admin)
    expect(page).to_have_url(re.compile(r"/login/code$"))
    page.get_by_label("Code").fill(pyotp.TOTP(TOTP_SECRET).now())
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(live_server.url("/dashboard/"))
