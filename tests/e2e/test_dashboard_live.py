"""The dashboard refreshes its figures on its own (static/dashboard-live.js), without reloading the page."""
from datetime import timedelta
from urllib.parse import unquote

import pytest

from callcenter.clock import to_local, utcnow
from callcenter.extensions import db
from callcenter.models import CallTask
from jobs import runner

from ..dashboard import scenario
from .conftest import sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture reports it
    expect = None

pytestmark = pytest.mark.e2e


def test_figures_refresh_in_place(page, screenshot, live_server):
    s = scenario.build()
    page.clock.install()  # the page's timers run on a clock the test moves
    sign_in(page, s.officer, start="/login")  # the password, then the code (a nodal officer's second step)
    expect(page.locator('[data-fig="active_total"]')).to_have_text("4")
    expect(page.locator('[data-fig="tasks.done"]')).to_have_text("1")
    stamp = page.locator("#figures-at").inner_text()
    page.evaluate("window.__notReloaded = true")

    # Meanwhile: a new patient is registered and a pending call is done.
    newcomer = scenario._patient(s.a, s.now, name="Fatima New", setting="home")
    task = db.session.scalar(db.select(CallTask).where(CallTask.patient_id == s.p[2].id))
    task.status = "done"
    db.session.commit()
    assert newcomer.id
    # The page's default view reads the minute's snapshot: the scheduler's pass recounts the watched view.
    counted_at = utcnow() + timedelta(seconds=1)  # a second after the page's own figures
    assert runner.tick("dashboard_snapshots", now=counted_at)[0] == 1
    page.clock.run_for(44_000)  # not yet: the page asks every 45 seconds
    expect(page.locator('[data-fig="active_total"]')).to_have_text("4")
    page.clock.run_for(2_000)
    expect(page.locator('[data-fig="active_total"]')).to_have_text("5")
    expect(page.locator('[data-fig="active.home"]')).to_have_text("3")
    expect(page.locator('[data-fig="tasks.done"]')).to_have_text("2")
    expect(page.locator('[data-fig="tasks.pending"]')).to_have_text("1")
    # The snapshot's time, as the server writes it: 24-hour, in the app's zone (not the browser's clock).
    expect(page.locator("#figures-at")).to_have_text(to_local(counted_at).strftime("%H:%M:%S"))
    assert page.locator("#figures-at").inner_text() != stamp
    # An age bucket's link now lists the escalations of the new count's time.
    bucket = unquote(page.locator("#escalation-figures a[data-at]").first.get_attribute("href"))
    assert f"at={counted_at.isoformat()}Z" in bucket
    assert page.evaluate("window.__notReloaded") is True  # the same page, updated in place
    screenshot("refreshed")
    # A figure's link still leads to its list.
    page.locator('[data-fig="active_total"]').click()
    expect(page.locator("#list-table tbody tr")).to_have_count(5)
