"""A check-in link ends with the patient's follow-up (recovered, died, moved out) and with its day: the page
says the link has expired, in the patient's language, and nothing is recorded: no check-in, no need, no
escalation, no audit of a check-in; by GET or POST, even with a form (and CSRF token) fetched while the link
still worked. The bug this answers: a link of a patient who died raised an ambulance emergency."""
from datetime import timedelta

import pytest

from callcenter.clock import utcnow
from callcenter.extensions import db
from callcenter.models import AuditLog, CheckIn, CheckinLink, Escalation, Need
from callcenter.services.checkins import links as checkin_links
from callcenter.services.records import transfers

from ..conftest import csrf_token
from ..factories import make_patient, make_user
from .inbound_helpers import fresh_limits  # noqa: F401

ENDED = {"en": "your follow-up by the COVID call centre has ended",
         "hi": "कोविड कॉल सेंटर से आपकी देखरेख पूरी हो चुकी है"}
EMERGENCY = {"feeling": "unwell", "spo2": "88", "symptoms": ["breathlessness"], "needs": ["ambulance"]}


@pytest.fixture(autouse=True)
def _limits(fresh_limits):  # noqa: F811
    yield


def _patient(district, language, name=None):
    patient = make_patient(district, name=name)
    patient.language = language
    db.session.commit()
    return patient


def _issue(patient, now=None):
    token, _url = checkin_links.issue(patient, now=now or utcnow())
    db.session.commit()
    return token


def _end(patient, status):
    officer = make_user("nodal_officer", patient.district)
    db.session.commit()
    transfers.end(patient.id, officer, status, "follow-up over")
    db.session.commit()


def _recorded():
    """What a check-in would have left behind (escalations raised by a check-in, audit rows of one)."""
    return (db.session.scalar(db.select(db.func.count(CheckIn.id))),
            db.session.scalar(db.select(db.func.count(Need.id))),
            db.session.scalar(db.select(db.func.count(Escalation.id)).where(Escalation.source == "checkin")),
            db.session.scalar(db.select(db.func.count(AuditLog.id)).where(
                AuditLog.action.in_(("checkin.record", "escalation.raise", "escalation.repeat")))))


@pytest.mark.parametrize("status", ["recovered", "died", "moved_out"])
@pytest.mark.parametrize("language", ["hi", "en"])
def test_a_link_of_a_patient_whose_follow_up_ended_has_expired(client, district, status, language):
    patient = _patient(district, language, "Asha Verma")
    token = _issue(patient)
    _end(patient, status)
    page = client.get(f"/c/{token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 410 and ENDED[language] in " ".join(html.split())
    assert f'<html lang="{language}">' in html and 'name="feeling"' not in html
    fresh = client.get(f"/c/{token}")  # no form to fetch a token from: post with the session's own
    assert fresh.status_code == 410
    with client.session_transaction() as session:
        session.setdefault("csrf_token", "x")
    posted = client.post(f"/c/{token}", data=EMERGENCY)
    assert posted.status_code in (400, 410) and ENDED[language] in " ".join(posted.get_data(as_text=True).split())
    assert _recorded() == (0, 0, 0, 0)
    assert db.session.scalar(db.select(CheckinLink.used_at)) is None


@pytest.mark.parametrize("status", ["recovered", "died", "moved_out"])
def test_a_form_opened_before_the_follow_up_ended_and_sent_after_records_nothing(client, district, status):
    patient = _patient(district, "hi", "Ram Prasad")
    token = _issue(patient)
    path = f"/c/{token}"
    form_token = csrf_token(client, path)  # the patient opens the form while the link is still valid
    _end(patient, status)
    response = client.post(path, data={"csrf_token": form_token, **EMERGENCY})
    assert response.status_code == 410
    assert ENDED["hi"] in " ".join(response.get_data(as_text=True).split())
    assert _recorded() == (0, 0, 0, 0)
    assert db.session.scalar(db.select(CheckinLink.used_at)) is None


def test_the_service_refuses_a_link_whose_patient_ended_meanwhile(district):
    """checkin_by_link checks the patient itself, in its own transaction, not only what the view saw."""
    from callcenter.services.checkins import checkins
    patient = _patient(district, "en")
    token = _issue(patient)
    link = checkin_links.find(token)
    assert checkin_links.state(link) == "valid"
    _end(patient, "died")
    report = checkins.Report(raw="link form", feeling_ok=False, spo2=85, needs=("ambulance",))
    assert checkins.checkin_by_link(link, report) is None
    assert _recorded() == (0, 0, 0, 0)
    assert checkin_links.state(checkin_links.find(token)) == "ended"


@pytest.mark.parametrize("language", ["hi", "en"])
def test_a_link_past_its_day_has_expired_and_records_nothing(client, district, language):
    patient = _patient(district, language)
    token = _issue(patient, now=utcnow() - timedelta(days=2))
    page = client.get(f"/c/{token}")
    expired = {"en": "This link has expired.", "hi": "इस लिंक का समय खत्म हो गया है"}[language]
    assert page.status_code == 410 and expired in page.get_data(as_text=True)
    assert ENDED[language] not in " ".join(page.get_data(as_text=True).split())
    assert _recorded() == (0, 0, 0, 0)


def test_a_form_opened_on_its_day_and_sent_after_midnight_records_nothing(client, district):
    patient = _patient(district, "en")
    token = _issue(patient)
    path = f"/c/{token}"
    form_token = csrf_token(client, path)
    link = db.session.scalar(db.select(CheckinLink))
    link.expires_at = utcnow() - timedelta(minutes=1)  # midnight passed while the form was open
    db.session.commit()
    response = client.post(path, data={"csrf_token": form_token, **EMERGENCY})
    assert response.status_code == 410 and "This link has expired." in response.get_data(as_text=True)
    assert _recorded() == (0, 0, 0, 0)


def test_a_link_of_an_active_patient_still_works(client, district):
    patient = _patient(district, "en")
    token = _issue(patient)
    path = f"/c/{token}"
    response = client.post(path, data={"csrf_token": csrf_token(client, path), **EMERGENCY})
    assert response.status_code == 200
    assert _recorded()[0] == 1 and _recorded()[2] >= 1


@pytest.mark.postgres
def test_a_check_in_sent_while_the_follow_up_is_being_ended_waits_and_records_nothing(app, district, is_postgres):
    """The race: the form is sent while another transaction is ending the follow-up (it holds the patient row,
    as records.transfers.end does). The check-in's share lock waits for it, then sees the follow-up ended."""
    if not is_postgres:
        pytest.skip("row locks are PostgreSQL's; SQLite has one writer at a time")
    import threading

    from sqlalchemy import text

    from callcenter.services.checkins import checkins
    patient = _patient(district, "en")
    token, patient_id = _issue(patient), patient.id
    db.session.remove()
    seen = {}

    def check_in():
        with app.app_context():
            link = checkin_links.find(token)
            seen["state"] = checkin_links.state(link)  # the ending is not committed yet: the link looks valid
            report = checkins.Report(raw="link form", feeling_ok=False, spo2=85, needs=("ambulance",))
            seen["recorded"] = checkins.checkin_by_link(link, report)
            db.session.remove()

    with db.engine.connect() as other:
        ending = other.begin()
        other.execute(text("SELECT id FROM patient WHERE id = :id FOR UPDATE"), {"id": patient_id})
        other.execute(text("UPDATE patient SET status = 'died', ended_at = now() WHERE id = :id"), {"id": patient_id})
        sender = threading.Thread(target=check_in)
        sender.start()
        sender.join(1.5)
        assert sender.is_alive()  # waiting for the row the ending holds
        ending.commit()
        sender.join(15)
    assert not sender.is_alive()
    assert seen == {"state": "valid", "recorded": None}
    assert _recorded() == (0, 0, 0, 0)
    assert checkin_links.state(checkin_links.find(token)) == "ended"
