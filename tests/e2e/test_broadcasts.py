"""A broadcast in a real browser, in Hindi: the control room drafts and previews it, a nodal officer approves
it, the outbox (console backend) sends it, and its page shows it went out."""
import re
from datetime import datetime, time, timedelta

import pytest

from callcenter.clock import local_to_utc, to_local, utcnow
from callcenter.extensions import db
from callcenter.models import OutboundMessage
from callcenter.services.outbox.sender import send_pending

from .. import factories
from .conftest import sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture reports it
    expect = None

pytestmark = pytest.mark.e2e


def _daytime():
    """Now if it is between 09:00 and 21:00 here, else the next 09:00: broadcasts are not sent at night."""
    now = to_local(utcnow()).replace(tzinfo=None)
    if time(9) <= now.time() < time(21):
        return utcnow()
    day = now.date() if now.time() < time(9) else now.date() + timedelta(days=1)
    return local_to_utc(datetime.combine(day, time(9)))


def test_draft_approve_and_watch_a_broadcast_go_out_in_hindi(page, screenshot, live_server):
    district = factories.make_district()
    shared = factories.phone()
    for number in (shared, shared, factories.phone(), factories.phone()):
        factories.make_patient(district, phone_number=number)
    control = factories.make_user("control_room", district, language="hi")
    nodal = factories.make_user("nodal_officer", district, language="hi")

    sign_in(page, control)
    page.get_by_role("link", name="प्रसारण").click()
    page.get_by_role("link", name="नया प्रसारण").click()
    page.locator('[name="title"]').fill("ऑक्सीजन हेल्पलाइन")
    page.get_by_label("नई हेल्पलाइन").check()
    expect(page.locator('[data-blank="place"]')).to_be_hidden()  # the blanks of the message chosen
    page.locator('[name="v_district"]').fill("रायपुर")
    page.locator('[name="v_what"]').fill("ऑक्सीजन")
    page.locator('[name="v_number"]').fill("0771-4000000")
    page.locator('[name="v_hours"]').fill("24 घंटे")
    page.get_by_role("button", name="देखें और गिनें").click()
    expect(page.locator("#audience-size")).to_have_text("3 फ़ोन · 4 लोग")
    expect(page.locator('#preview [data-lang="hi"]')).to_contain_text("ऑक्सीजन के लिए 0771-4000000 पर कॉल करें")
    screenshot("broadcast-preview-hi")
    page.get_by_role("button", name="मंज़ूरी के लिए ड्राफ्ट सेव करें").click()
    expect(page.locator(".alert-success")).to_contain_text("ड्राफ्ट सेव हो गया")
    expect(page.get_by_role("button", name="मंज़ूर करें और भेजें")).to_have_count(0)  # not by its drafter
    page.get_by_role("button", name="लॉग आउट").click()

    sign_in(page, nodal)
    page.get_by_role("link", name="प्रसारण").click()
    page.get_by_role("link", name="ऑक्सीजन हेल्पलाइन").click()
    page.get_by_role("button", name="मंज़ूर करें और भेजें").click()
    expect(page.locator(".alert-success")).to_contain_text("मंज़ूर")
    expect(page.locator('#progress [data-status="queued"]')).to_contain_text("3")

    at = _daytime() + timedelta(minutes=2)
    send_pending(now_fn=lambda: at)  # the scheduler's sender, with the console backend
    page.reload()
    expect(page.locator('#progress [data-status="sent"]')).to_contain_text("3")
    screenshot("broadcast-sent-hi")
    db.session.expire_all()
    sent = db.session.scalars(db.select(OutboundMessage).where(OutboundMessage.broadcast_id.is_not(None))).all()
    assert len(sent) == 3 and {m.status for m in sent} == {"sent"}
    assert all(re.search("0771-4000000", m.body) for m in sent)
