"""The broadcast pages over HTTP: preview counts before saving, a draft, approval by a second officer."""
import re

from callcenter.extensions import db
from callcenter.models import Broadcast, OutboundMessage

from ..conftest import csrf_token
from ..factories import make_patient, make_user, phone

FORM = {"title": "Oxygen helpline", "template": "broadcast_helpline", "who": "patients", "v_district": "Raipur",
        "v_what": "oxygen", "v_number": "0771-4000000", "v_hours": "24 hours", "recovered_days": "14",
        "language": "", "setting": "", "block_id": "", "village_id": "", "facility_id": ""}


def test_preview_then_draft_then_a_second_officer_approves(client, login, district):
    shared = phone()
    for number in (shared, shared, phone()):
        make_patient(district, phone_number=number)
    drafter, approver = make_user("control_room", district), make_user("nodal_officer", district)
    login(drafter)
    token = csrf_token(client, "/broadcasts/new")
    html = client.post("/broadcasts/new", data=dict(FORM, csrf_token=token, action="preview")).get_data(as_text=True)
    assert re.search(r'id="audience-size">2 phones · 3 people', html)
    assert "0771-4000000" in html and "1 SMS segment" in html
    assert db.session.scalar(db.select(db.func.count()).select_from(Broadcast)) == 0  # a preview saves nothing
    response = client.post("/broadcasts/new", data=dict(FORM, csrf_token=token, action="save"))
    broadcast = db.session.scalars(db.select(Broadcast)).one()
    assert response.headers["Location"].endswith(f"/broadcasts/{broadcast.id}")
    page = client.get(f"/broadcasts/{broadcast.id}").get_data(as_text=True)
    assert "Waiting for approval" in page and "Approve and send" not in page  # not by the drafter

    login(approver)
    page = client.get(f"/broadcasts/{broadcast.id}").get_data(as_text=True)
    assert "Approve and send" in page
    token = csrf_token(client, f"/broadcasts/{broadcast.id}")
    client.post(f"/broadcasts/{broadcast.id}/approve", data={"csrf_token": token})
    page = client.get(f"/broadcasts/{broadcast.id}").get_data(as_text=True)
    assert "Approved, going out" in page and re.search(r'data-status="queued">.*?>2<', page, re.S)
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboundMessage)) == 2
    again = client.post(f"/broadcasts/{broadcast.id}/approve", data={"csrf_token": token}, follow_redirects=True)
    assert "not waiting for approval" in again.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboundMessage)) == 2


def test_an_empty_audience_and_a_long_blank_are_said(client, login, district):
    login(make_user("nodal_officer", district))
    token = csrf_token(client, "/broadcasts/new")
    html = client.post("/broadcasts/new", data=dict(FORM, csrf_token=token, action="save")).get_data(as_text=True)
    assert "Nobody matches this audience." in html
    make_patient(district)
    html = client.post("/broadcasts/new", data=dict(FORM, csrf_token=token, action="save", v_what="o" * 31)
                       ).get_data(as_text=True)
    assert "Too long: 31 characters, 30 at most." in html
    assert db.session.scalar(db.select(db.func.count()).select_from(Broadcast)) == 0


def test_volunteers_and_doctors_have_no_broadcasts(client, login, district):
    for role in ("volunteer", "doctor"):
        login(make_user(role, district))
        assert client.get("/broadcasts/").status_code == 403


def test_the_page_reports_how_it_ended(client, login, district):
    from callcenter.services.broadcasts import broadcasts
    from callcenter.services.outbox.sender import send_pending

    from ..checkins.outbox_helpers import FakeClock, FakeGateway
    from .test_broadcasts import HELPLINE, NOW

    patients = [make_patient(district) for _ in range(3)]
    drafter, approver = make_user("control_room", district), make_user("nodal_officer", district)
    draft = broadcasts.draft(drafter, "Helpline", "broadcast_helpline", HELPLINE, {}, NOW, now=NOW)
    broadcasts.approve(draft.id, approver, now=NOW)
    patients[0].sms_opt_out = True  # said STOP after it was queued
    db.session.commit()
    send_pending(FakeGateway(), clock=FakeClock(), now_fn=lambda: NOW)
    login(approver)
    page = client.get(f"/broadcasts/{draft.id}").get_data(as_text=True)
    assert "Finished: 0 delivered, 2 sent (no delivery report yet), 0 failed, 1 not sent." in page
    assert re.search(r'id="failure-reasons"><li>opted out of SMS: 1</li>', page)
