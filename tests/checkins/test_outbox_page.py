"""The outbox page: officers only, their district only, filtered by status; text shown with the console."""
import pytest

from callcenter.extensions import db
from callcenter.models import OutboundMessage
from callcenter.services.checkins import links as checkin_links
from callcenter.services.outbox.enqueue import enqueue_daily_checkins

from ..conftest import csrf_token
from ..factories import make_district, make_patient, make_user
from .outbox_helpers import DAY, NOW, config, messages  # noqa: F401  (config: a fixture)


@pytest.fixture
def queued(district):
    make_patient(district, name="Asha Verma")
    make_patient(district, name="Ravi Sahu", checkin_channel="ivr")
    enqueue_daily_checkins(DAY, now=NOW)
    return messages()


@pytest.mark.parametrize("role", ["volunteer", "control_room", "doctor", "counsellor"])
def test_only_officers(client, login, district, role):
    login(make_user(role, district))
    assert client.get("/outbox").status_code == 403


def test_anonymous_users_sign_in_first(client):
    response = client.get("/outbox")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("language", ["en", "hi"])
def test_the_page_shows_each_message_and_its_text_with_the_console(client, login, district, queued, language):
    login(make_user("nodal_officer", district, language=language))
    html = client.get("/outbox").get_data(as_text=True)
    assert f'<html lang="{language}">' in html
    assert "Asha Verma" in html and "Ravi Sahu" in html
    link = next(m for m in queued if m.template == "checkin_link")
    assert checkin_links.seeded_token(link.params["seed"]) not in html and "/c/…" in html  # the token masked
    assert 'id="nav"' in html and "/outbox" in html  # in the menu


def test_no_text_with_a_real_provider(client, login, district, queued, config):  # noqa: F811
    config["MESSAGING_BACKEND"] = "twilio"
    login(make_user("admin"))
    html = client.get("/outbox").get_data(as_text=True)
    assert "Asha Verma" in html
    assert queued[0].body not in html and "message-text" not in html


def test_filter_by_status(client, login, district, queued):
    db.session.get(OutboundMessage, queued[0].id).status = "unknown"
    db.session.commit()
    login(make_user("nodal_officer", district))
    html = client.get("/outbox?status=unknown").get_data(as_text=True)
    assert html.count('data-status="unknown"') == 1 and 'data-status="queued"' not in html
    html = client.get("/outbox?status=nonsense").get_data(as_text=True)  # ignored: everything
    assert html.count("data-status=") == 2


def test_a_district_officer_sees_only_their_district(client, login, district, queued):
    login(make_user("nodal_officer", make_district()))
    html = client.get("/outbox").get_data(as_text=True)
    assert "Asha Verma" not in html and 'data-status=' not in html


def test_older_messages_page_by_page(client, login, district, monkeypatch):
    from callcenter.checkins import outbox_views
    monkeypatch.setattr(outbox_views, "PAGE", 2)
    for _ in range(3):
        make_patient(district)
    enqueue_daily_checkins(DAY, now=NOW)
    ids = [m.id for m in messages()]
    login(make_user("nodal_officer", district))
    html = client.get("/outbox").get_data(as_text=True)
    assert html.count("data-status=") == 2 and f'href="/outbox?before={ids[1]}"' in html
    html = client.get(f"/outbox?before={ids[1]}").get_data(as_text=True)
    assert html.count("data-status=") == 1 and "Older messages" not in html


def test_send_again_a_message_whose_outcome_is_unknown(client, login, district, queued):
    m = queued[0]
    db.session.get(OutboundMessage, m.id).status = "unknown"
    db.session.commit()
    login(make_user("nodal_officer", district))
    token = csrf_token(client, "/outbox")
    response = client.post(f"/outbox/{m.id}/resolve", data={"action": "resend", "csrf_token": token})
    assert response.status_code == 302
    assert messages()[0].status == "queued"
    # already settled: said so, nothing changes
    response = client.post(f"/outbox/{m.id}/resolve", data={"action": "resend", "csrf_token": token},
                           follow_redirects=True)
    assert "cannot be changed now" in response.get_data(as_text=True)
    assert client.post(f"/outbox/{m.id}/resolve", data={"action": "explode", "csrf_token": token}).status_code == 400
    assert client.post(f"/outbox/{m.id}/resolve", data={"action": "cancel"}).status_code == 400  # no CSRF token
