"""The dashboard opens with what to act on now (issue 17), in English and Hindi: late emergencies with a link to
each, today's overdue calls against the volunteers calling now and when the day's calls end at this pace,
unreachable patients with their field visits, and the reassign and pause actions beside them, above the
figures; people by their full names; another district's emergency never shows."""
import re
from datetime import timedelta

import pytest

from callcenter.clock import utcnow
from callcenter.extensions import db
from callcenter.services.desks import escalations

from .. import factories
from .conftest import sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture reports it
    expect = None

pytestmark = pytest.mark.e2e


def _world():
    now = utcnow()
    a, b = factories.make_district(), factories.make_district()
    officer = factories.make_user("nodal_officer", a)
    asha = factories.make_user("volunteer", a, username="asha_v")
    asha.full_name = "Asha Verma"
    bare = factories.make_user("volunteer", a, username="rahul_s")
    bare.full_name = ""
    db.session.commit()
    kamla = factories.make_patient(a, name="Kamla Dhruw")
    late = escalations.raise_escalation(kamla, "ambulance", "control_room", "emergency", "call",
                                        now=now - timedelta(minutes=40))
    escalations.raise_escalation(factories.make_patient(a, name="Sunita Sahu"), "medicine", "control_room", "routine",
                                 "call", now=now - timedelta(hours=3))
    escalations.raise_escalation(factories.make_patient(b, name="Other District"), "ambulance", "control_room",
                                 "emergency", "call", now=now - timedelta(minutes=40))
    ramesh, gita = factories.make_patient(a, name="Ramesh Yadav"), factories.make_patient(a, name="Gita Bai")
    for p in (ramesh, gita):
        factories.make_task(p, status="unreachable", slot=2, closed_at=now - timedelta(minutes=20))
    escalations.raise_escalation(ramesh, "field_visit", "control_room", "routine", "call",
                                 now=now - timedelta(minutes=20))
    db.session.commit()
    for i in range(6):  # overdue calls
        factories.make_task(factories.make_patient(a, name=f"Rogi {i}"), due_at=now - timedelta(minutes=30))
    for i in range(4):  # the last hour's pace
        factories.make_attempt(kamla, asha if i % 2 else bare, now - timedelta(minutes=5 + 10 * i))
    factories.make_task(factories.make_patient(a, name="Held Call"), status="claimed", claimed_by_id=asha.id,
                        claimed_at=now - timedelta(minutes=3), due_at=now + timedelta(hours=1))
    return officer, late


def in_language(page, language):
    if language == "hi":
        page.get_by_role("button", name="हिन्दी").click()
        expect(page.locator("html")).to_have_attribute("lang", "hi")


@pytest.mark.parametrize("language", ["en", "hi"])
def test_the_dashboard_opens_with_what_to_act_on(page, screenshot, live_server, language):
    officer, late = _world()
    sign_in(page, officer, start="/login")
    expect(page).to_have_url(live_server.url("/dashboard/"))
    in_language(page, language)
    strip = page.locator("#act-now")
    expect(strip).to_be_visible()
    # Above the figures, and the actions with it (they were at the bottom of a long page).
    assert strip.bounding_box()["y"] < page.locator("#glance").bounding_box()["y"]
    assert page.locator("#act").bounding_box()["y"] < page.locator("#glance").bounding_box()["y"]
    page.set_viewport_size({"width": 1366, "height": 900})
    screenshot(f"act-now-{language}")

    rows = page.locator("#act-escalations tbody tr")
    expect(rows).to_have_count(2)  # the other district's emergency is not here
    first = rows.first
    expect(first).to_have_attribute("data-escalation", str(late.id))
    expect(first).to_contain_text("Kamla Dhruw")
    online = page.locator("#act-online")
    expect(online).to_contain_text("Asha Verma")
    expect(online).to_contain_text("rahul_s")     # no full name: the username stands in
    expect(online).not_to_contain_text("asha_v")
    expect(page.locator("#holders")).to_contain_text("Asha Verma")
    expect(page.locator("#volunteer-table")).to_contain_text("Asha Verma")
    unreachable = page.locator("#act-unreachable")
    if language == "en":
        expect(first).to_contain_text("Emergency")
        expect(first).to_contain_text("Control room")
        expect(first).to_contain_text(re.compile(r"\b(29|30|31) min late"))
        expect(rows.nth(1)).to_contain_text("Sunita Sahu")
        expect(rows.nth(1)).to_contain_text(re.compile(r"\b(59|60|61) min late|1(\.0)? h late"))
        expect(page.locator("#act-overdue")).to_have_text("6 calls overdue")
        expect(page.locator("#act-online-count")).to_have_text("2 volunteers calling now")
        expect(page.locator("#act-per-volunteer")).to_have_text("(about 3 each)")
        expect(page.locator("#act-finish-time")).to_have_text(
            re.compile(r"^At this pace, today's calls end about (\d\d:\d\d|\d+ \w+, \d\d:\d\d)\.$"))
        expect(unreachable.locator("li", has_text="Ramesh Yadav")).to_contain_text("field visit requested")
        expect(unreachable.locator("li", has_text="Gita Bai")).to_contain_text("no field visit requested")
    else:
        expect(strip).to_contain_text("अभी कार्रवाई करें")
        expect(first).to_contain_text("आपातकालीन")
        expect(first).to_contain_text(re.compile(r"(29|30|31) मिनट देर"))
        expect(page.locator("#act-overdue")).to_have_text("6 कॉल समय से पीछे")
        expect(page.locator("#act-online-count")).to_have_text("अभी 2 वालंटियर कॉल कर रहे हैं")
        expect(page.locator("#act-finish-time")).to_have_text(re.compile(r"लगभग .*\d\d:\d\d बजे तक खत्म होंगी।$"))
        expect(unreachable.locator("li", has_text="Ramesh Yadav")).to_contain_text("फील्ड विजिट")
        expect(unreachable.locator("li", has_text="Gita Bai")).to_contain_text("फील्ड विजिट नहीं माँगी गई")
    page.locator("#act-now").screenshot(path=str(screenshot(f"page-{language}").with_name(f"strip-{language}.png")))

    # The link goes to the escalation's page.
    first.get_by_role("link", name=re.compile(f"#{late.id}")).click()
    expect(page).to_have_url(live_server.url(f"/desk/escalation/{late.id}"))
    page.go_back()
    # Reassign from the strip: the held call goes back to the queue, and the page comes back to the strip.
    page.locator("#holders").get_by_role("button").first.click()
    expect(page.locator(".alert-success")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/dashboard/#act$"))
    expect(page.locator("#holders")).not_to_contain_text("Asha Verma")


def test_the_strip_refreshes_in_place_and_keeps_a_typed_reason(page, live_server):
    officer, _late = _world()
    page.clock.install()  # the page's timers run on a clock the test moves
    sign_in(page, officer, start="/login")
    rows = page.locator("#act-escalations tbody tr")
    expect(rows).to_have_count(2)
    page.evaluate("window.__notReloaded = true")
    page.get_by_label("Reason").fill("Network down in the block")  # half-typed in the pause form
    # Meanwhile an emergency comes in (due in 10 minutes: it still shows, emergencies always do).
    escalations.raise_escalation(factories.make_patient(officer.district, name="Meena Kurre"), "oxygen",
                                 "control_room", "emergency", "call")
    db.session.commit()
    page.clock.run_for(46_000)  # the page asks with its figures, every 45 seconds
    expect(rows).to_have_count(3)
    expect(page.locator("#act-escalations")).to_contain_text("Meena Kurre")
    expect(page.locator("#act-escalations")).to_contain_text("due in")
    expect(page.get_by_label("Reason")).to_have_value("Network down in the block")
    assert page.evaluate("window.__notReloaded") is True
