"""The Content-Security-Policy in a real browser: every main page works with it and the browser reports no
violation (no inline script, no on…= handler, nothing from elsewhere) — the volunteer's queue and call
screen, the desk console and an escalation, the dashboard with its live refresh, the daily report (its Print
button), the villages page (its district choice), the import pages (a queued import's progress), the admin
pages and a patient's check-in link."""
import re
from datetime import timedelta

import pytest

from callcenter.clock import utcnow
from callcenter.extensions import db
from callcenter.models import Escalation
from callcenter.services.checkins import links as checkin_links

from .. import factories
from ..dashboard import scenario
from .conftest import sign_in as conftest_sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture reports it
    expect = None

pytestmark = pytest.mark.e2e

# Runs before any page script (Playwright injects it past the page's CSP): collect the violations the page
# sees, and count window.print() instead of opening a print dialog.
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " +
                    (e.sourceFile || location.pathname) + ":" + e.lineNumber);
});
window.__printed = 0;
window.print = function () { window.__printed += 1; };
"""


class Watch:
    """Everything the browser says about the policy, and script errors, page by page."""

    def __init__(self, page, base_url):
        self.page = page
        self.base_url = base_url
        self.problems = []
        self.visited = []
        page.context.add_init_script(WATCH)
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.problems.append(f"{page.url}: script error {exc}"))
        page.on("response", self._response)

    def _console(self, message):
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text or "Refused to" in text:
            self.problems.append(f"{self.page.url}: console: {text}")

    def _response(self, response):
        if response.request.resource_type == "document" and response.url.startswith(self.base_url):
            if "content-security-policy" not in response.headers:  # Playwright gives the names in lower case
                self.problems.append(f"{response.url}: no Content-Security-Policy header")

    def check(self, name):
        """After a page has done its work: no violation there (window.__csp) and none logged so far."""
        self.page.wait_for_load_state("load")
        seen = self.page.evaluate("window.__csp || []")
        self.problems += [f"{self.page.url}: {v}" for v in seen]
        self.visited.append(name)
        assert not self.problems, "\n".join(self.problems)


def sign_in(page, user):
    """As the next person at the same computer: no cookies from the one before."""
    page.context.clear_cookies()
    conftest_sign_in(page, user)
    expect(page).not_to_have_url(re.compile(r"/login"))


def test_no_page_breaks_the_content_security_policy(page, screenshot, live_server, app, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_INLINE_MAX_BYTES", 10)  # the upload below waits for the scheduler
    s = scenario.build()
    admin = factories.make_user("admin")
    control = factories.make_user("control_room", s.a)
    waiting = factories.make_patient(s.a, name="Meena Queue")
    factories.make_task(waiting, priority=1)
    esc = db.session.scalar(db.select(Escalation).where(Escalation.district_id == s.a.id,
                                                        Escalation.desk == "control_room"))
    token, _url = checkin_links.issue(waiting, now=utcnow())
    db.session.commit()
    watch = Watch(page, live_server.base_url)
    page.clock.install()  # the live pages' timers run on a clock the test moves

    # ── The volunteer: queue, then the call screen ──
    sign_in(page, s.vol)
    expect(page.get_by_role("heading", name="Call queue")).to_be_visible()
    page.clock.run_for(16_000)  # the queue counts refresh every 15 seconds (live-counts.js)
    watch.check("queue")
    screenshot("queue")
    page.get_by_role("button", name=re.compile("Take the most urgent call")).click()
    expect(page).to_have_url(re.compile(r"/queue/task/\d+$"))
    page.get_by_label("Connected").check()
    watch.check("call screen")
    screenshot("call-screen")

    # ── The control room: the live console and an escalation ──
    sign_in(page, control)
    expect(page).to_have_url(live_server.url("/desk/"))
    page.clock.run_for(6_000)  # a poll (every 5 seconds, desk-console.js)
    expect(page.locator("#console-state")).to_contain_text("Updated")
    watch.check("desk console")
    screenshot("desk-console")
    page.goto(f"/desk/escalation/{esc.id}")
    watch.check("escalation")
    for path in ("/desk/field-visits", "/desk/beds", "/patients/", f"/patients/{waiting.id}", "/villages/",
                 f"/villages/{s.village.id}"):
        page.goto(path)
        watch.check(path)

    # ── The state-level administrator: dashboard, report, villages, imports, admin pages ──
    sign_in(page, admin)
    page.goto("/dashboard/")
    expect(page.locator("#glance")).to_be_visible()
    expect(page.locator("svg").first).to_be_visible()  # the charts
    with page.expect_response(re.compile(r"/dashboard/figures\.json")) as refreshed:
        page.clock.run_for(46_000)  # the figures refresh every 45 seconds (dashboard-live.js)
    assert refreshed.value.ok
    watch.check("dashboard")
    screenshot("dashboard")

    page.goto("/dashboard/report")
    page.get_by_role("button", name="Print").click()
    assert page.evaluate("window.__printed") == 1  # the button works from page-actions.js
    watch.check("daily report")
    screenshot("report")

    page.goto("/villages/")
    other = page.locator("#district option").nth(1)
    chosen = other.get_attribute("value")
    page.locator("#district").select_option(chosen)  # submits on change (page-actions.js)
    expect(page).to_have_url(re.compile(rf"/villages/\?district={chosen}$"))
    watch.check("villages")
    screenshot("villages")

    page.goto("/intake/import")
    page.get_by_label("District").select_option(label=s.a.name)
    page.get_by_label(re.compile("Line list")).set_input_files(files=[{
        "name": "list.csv", "mimeType": "text/csv",
        "buffer": ("Name,Age,Sex,Mobile,Date of Sample,Village\nKiran Sahu,40,F,9826012399,"
                   f"{(utcnow() - timedelta(days=1)).strftime('%d/%m/%Y')},{s.village.name}\n").encode()}])
    page.get_by_role("button", name="Upload").click()
    expect(page).to_have_url(re.compile(r"/intake/imports/\d+$"))
    expect(page.locator("#import-status")).to_be_visible()
    page.clock.run_for(6_000)  # a queued import's page polls its progress (import-progress.js)
    watch.check("queued import")
    screenshot("import-waiting")
    for path in ("/intake/imports/", "/intake/register", "/admin/settings", "/admin/users",
                 f"/admin/users/{s.vol.id}", "/admin/districts", "/dashboard/jobs", "/outbox", "/inbox",
                 "/desk/", "/desk/referrals", "/desk/reviews", "/dashboard/list/patients"):
        page.goto(path)
        watch.check(path)

    # ── A patient's check-in link (no sign-in) ──
    page.context.clear_cookies()
    page.goto(f"/c/{token}")
    expect(page.get_by_role("button").first).to_be_visible()
    watch.check("check-in link")
    screenshot("check-in-link")
    page.goto("/login")
    watch.check("sign-in")
    assert len(watch.visited) == 29

    # The watch sees a violation when there is one: a script added inline is refused and reported.
    page.evaluate("""() => { const s = document.createElement("script"); s.textContent = "window.__ran = 1";
                             document.body.appendChild(s); }""")
    page.wait_for_function("window.__csp.length > 0")
    assert page.evaluate("window.__ran") is None
    assert page.evaluate("window.__csp")[0].startswith("script-src")
    watch.problems.clear()  # only this deliberate one
