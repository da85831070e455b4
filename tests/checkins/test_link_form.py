"""GET/POST /c/<token>: the SMS link's one-page check-in (valid, used, expired, CSRF, rate limit, language)."""
import re
from datetime import timedelta

import pytest

from callcenter.clock import utcnow
from callcenter.extensions import db
from callcenter.models import CheckIn, CheckinLink, Escalation
from callcenter.services.checkins import links as checkin_links

from ..conftest import csrf_token
from ..factories import make_patient
from .inbound_helpers import fresh_limits  # noqa: F401


@pytest.fixture(autouse=True)
def _limits(fresh_limits):  # noqa: F811
    yield


@pytest.fixture
def patient(district):
    return make_patient(district, name="Asha Verma")


def issue(patient, now=None):
    token, url = checkin_links.issue(patient, now=now or utcnow())
    db.session.commit()
    assert url.endswith("/c/" + token)
    return token


def send(client, token, lang=None, **fields):
    path = f"/c/{token}" + (f"?lang={lang}" if lang else "")
    data = {"csrf_token": csrf_token(client, path), **fields}
    return client.post(path, data=data)


def text(response):
    return response.get_data(as_text=True)


def test_the_form_is_small_plain_and_in_the_patients_language(client, patient):
    response = client.get(f"/c/{issue(patient)}")
    html = text(response)
    assert response.status_code == 200 and '<html lang="en">' in html
    assert "How are you feeling today?" in html and "For: <b>Asha</b>" in html  # the first name only
    for name in ("feeling", "spo2", "temperature_f", "symptoms", "needs", "csrf_token"):
        assert f'name="{name}"' in html
    assert "<script" not in html and "bootstrap" not in html and 'rel="stylesheet"' not in html
    assert 'href="tel:108"' in html
    assert len(response.get_data()) < 6000
    assert response.headers["X-RateLimit-Limit"]  # the limiter is on


def test_the_language_switch(client, patient):
    token = issue(patient)
    html = text(client.get(f"/c/{token}"))
    assert 'href="?lang=hi"' in html and "हिन्दी" in html
    hindi = text(client.get(f"/c/{token}?lang=hi"))
    assert '<html lang="hi">' in hindi and "आज आपकी तबीयत कैसी है?" in hindi and 'action="?lang=hi"' in hindi
    patient.language = "hi"
    db.session.commit()
    assert '<html lang="hi">' in text(client.get(f"/c/{token}"))
    assert '<html lang="en">' in text(client.get(f"/c/{token}?lang=en"))


def test_a_check_in(client, patient):
    token = issue(patient)
    response = send(client, token, feeling="fine", spo2="97", temperature_f="98.6")
    assert response.status_code == 200 and "Thank you. Your check-in is recorded." in text(response)
    checkin = db.session.scalar(db.select(CheckIn))
    assert (checkin.patient_id, checkin.channel, checkin.feeling_ok, checkin.spo2, checkin.temperature_f) == (
        patient.id, "web", True, 97, 98.6)
    link = db.session.scalar(db.select(CheckinLink))
    assert link.used_at is not None and link.checkin_id == checkin.id


def test_a_warning_sign_raises_an_emergency(client, patient):
    response = send(client, issue(patient), feeling="unwell", spo2="90", symptoms=["breathlessness"])
    assert "emergency control room" in text(response)
    [esc] = db.session.scalars(db.select(Escalation)).all()
    assert (esc.kind, esc.severity) == ("warning_sign", "emergency")
    assert esc.reasons == [["spo2", 90], ["symptom", "breathlessness"]]


def test_needs_are_passed_on(client, patient):
    response = send(client, issue(patient), lang="hi", feeling="unwell", needs=["medicine", "counselling"])
    assert "आपका अनुरोध (दवा, परामर्शदाता) आगे भेज दिया गया है" in text(response)
    assert {e.kind for e in db.session.scalars(db.select(Escalation))} == {"medicine", "counselling"}


def test_devanagari_digits_and_a_decimal_comma(client, patient):
    send(client, issue(patient), feeling="fine", spo2="९६", temperature_f="99,1")
    checkin = db.session.scalar(db.select(CheckIn))
    assert (checkin.spo2, checkin.temperature_f) == (96, 99.1)


@pytest.mark.parametrize("fields,message", [
    (dict(spo2="97"), "Please choose one."),
    (dict(feeling="fine", spo2="abc"), "Write a number from 50 to 100."),
    (dict(feeling="fine", spo2="40"), "Write a number from 50 to 100."),
    (dict(feeling="fine", spo2="95.5"), "Write a number from 50 to 100."),
    (dict(feeling="fine", temperature_f="38"), "Write a temperature from 93 to 108 °F"),
    (dict(feeling="fine", temperature_f="nan"), "Write a temperature from 93 to 108 °F"),
])
def test_wrong_answers_are_shown_and_nothing_is_recorded(client, patient, fields, message):
    token = issue(patient)
    response = send(client, token, **fields)
    assert response.status_code == 422 and message in text(response)
    assert "Please check the marked answers." in text(response)
    assert db.session.scalar(db.select(CheckIn)) is None
    assert checkin_links.state(db.session.scalar(db.select(CheckinLink))) == "valid"


def test_a_used_link_says_so(client, patient):
    token = issue(patient)
    form_token = csrf_token(client, f"/c/{token}")
    send(client, token, feeling="fine")
    again = client.post(f"/c/{token}", data={"csrf_token": form_token, "feeling": "unwell"})
    for response in (client.get(f"/c/{token}"), again):
        assert response.status_code == 410
        assert "You have already checked in with this link." in text(response)
    assert db.session.scalar(db.select(db.func.count(CheckIn.id))) == 1


def test_the_same_form_sent_twice_records_once(client, patient):
    token = issue(patient)
    path = f"/c/{token}"
    data = {"csrf_token": csrf_token(client, path), "feeling": "unwell", "needs": ["doctor"]}
    assert client.post(path, data=data).status_code == 200
    assert client.post(path, data=data).status_code == 410
    assert db.session.scalar(db.select(db.func.count(CheckIn.id))) == 1
    assert db.session.scalar(db.select(db.func.count(Escalation.id))) == 1


def test_an_expired_link_says_so(client, patient):
    token = issue(patient, now=utcnow() - timedelta(days=2))
    response = client.get(f"/c/{token}?lang=hi")
    assert response.status_code == 410 and "इस लिंक का समय खत्म हो गया है" in text(response)
    assert send_without_form(client, token).status_code in (400, 410)
    assert db.session.scalar(db.select(CheckIn)) is None


def send_without_form(client, token):
    return client.post(f"/c/{token}", data={"feeling": "fine"})


def test_an_unknown_link(client, patient):
    response = client.get("/c/not-a-real-token")
    assert response.status_code == 404 and "This link is not valid." in text(response).replace("\n", " ") or \
        "यह लिंक सही नहीं है" in text(response)


def test_without_the_csrf_token_nothing_is_recorded(client, patient):
    token = issue(patient)
    client.get(f"/c/{token}")  # the session exists; only the token is missing (a forged cross-site post)
    response = client.post(f"/c/{token}", data={"feeling": "unwell", "spo2": "93"})
    assert response.status_code == 400
    html = text(response)
    assert "Your answers were not sent." in html and 'value="93"' in html  # answers kept, a fresh token given
    assert re.search(r'name="csrf_token" value="[^"]+"', html)
    assert db.session.scalar(db.select(CheckIn)) is None
    forged = client.post(f"/c/{token}", data={"feeling": "unwell", "csrf_token": "forged"})
    assert forged.status_code == 400 and db.session.scalar(db.select(CheckIn)) is None


def test_the_rate_limit_per_address(client, app, patient, monkeypatch):
    monkeypatch.setitem(app.config, "CHECKIN_LINK_RATE_LIMIT", "3 per minute")
    token = issue(patient)
    assert [client.get(f"/c/{token}").status_code for _ in range(3)] == [200, 200, 200]
    blocked = client.get(f"/c/{token}?lang=hi")
    assert blocked.status_code == 429 and "बहुत बार कोशिश हुई" in text(blocked)
    assert client.post(f"/c/{token}", data={"feeling": "fine"}).status_code == 429
    assert client.get("/c/guessing-another-token").status_code == 429  # per address, not per link
    other = client.get(f"/c/{token}", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 200
    assert client.get("/login").status_code == 200  # the rest of the site is not limited
