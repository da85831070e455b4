"""The administrator's check-in setting on the settings page, and the link-token hash the outbox enqueue shares."""
import re

from callcenter import public_urls
from callcenter.extensions import db
from callcenter.models import AppSetting, CheckinLink
from callcenter.services.checkins import links as checkin_links
from callcenter.services.core import settings as app_settings
from callcenter.services.outbox.enqueue import enqueue_daily_checkins
from callcenter.services.outbox.messages import outgoing_text

from ..conftest import csrf_token
from ..factories import make_patient, make_user
from .outbox_helpers import DAY, NOW, messages


def _form(client):
    html = client.get("/admin/settings").get_data(as_text=True)
    # Every number field as it is shown (other settings share the form): text boxes with a numeric keypad.
    values = dict(re.findall(r'<input[^>]*inputmode="(?:numeric|decimal)"[^>]*name="([^"]+)"[^>]*value="([^"]*)"',
                             html))
    return html, values


def test_the_check_in_setting_is_on_the_settings_page(client, login):
    login(make_user("admin"))
    html, values = _form(client)
    assert "Call patients who checked in fine after everyone else" in html
    assert "their call today moves to the bottom of the queue" in html
    assert re.search(r'<input[^>]*checked[^>]*name="checkin_ok_deprioritises"|'
                     r'<input[^>]*name="checkin_ok_deprioritises"[^>]*checked', html)
    assert "Default: yes" in html
    token = csrf_token(client, "/admin/settings")
    fields = {k: v for k, v in values.items() if k != "csrf_token"}
    assert {"spo2_emergency_below", "fever_f", "high_risk_age"} <= set(fields)
    # Unchecked: patients who check in fine keep their place in the queue.
    response = client.post("/admin/settings", data={"csrf_token": token, **fields})
    assert response.status_code == 302
    assert db.session.get(AppSetting, "checkin_ok_deprioritises").value == "0"
    assert app_settings.defaults()["checkin_ok_deprioritises"] == 1
    html, _values = _form(client)
    assert not re.search(r'name="checkin_ok_deprioritises"[^>]*checked|checked[^>]*name="checkin_ok_deprioritises"',
                         html)
    client.post("/admin/settings", data={"csrf_token": token, "checkin_ok_deprioritises": "y", **fields})
    assert db.session.get(AppSetting, "checkin_ok_deprioritises").value == "1"


def test_sms_links_made_in_bulk_are_found_by_their_token(district):
    patient = make_patient(district)
    enqueue_daily_checkins(DAY, now=NOW)
    [message] = messages()
    sent = outgoing_text(message)  # the token is made when the SMS is sent (the outbox keeps a placeholder)
    token = sent.rsplit(public_urls.link_base(), 1)[1].split()[0]
    assert token not in message.body
    link = checkin_links.find(token)
    assert link is not None and link.patient_id == patient.id
    assert db.session.scalar(db.select(CheckinLink.token_hash)) == checkin_links.token_hash(token)


def test_the_release_rule_is_on_the_settings_page(client, login):
    login(make_user("admin"))
    html, values = _form(client)
    assert "Discharge review after (days from symptom onset or sample)" in html
    assert (values["release_min_days"], values["release_fever_free_days"]) == ("10", "3")
    token = csrf_token(client, "/admin/settings")
    fields = {k: v for k, v in values.items() if k != "csrf_token"}
    assert client.post("/admin/settings", data={"csrf_token": token, **fields, "release_min_days": "14"}
                       ).status_code == 302
    assert app_settings.release_rule().min_days == 14
    # Out of range: refused on its field, nothing changed.
    html = client.post("/admin/settings", data={"csrf_token": token, **fields, "release_min_days": "2"}
                       ).get_data(as_text=True)
    assert "Must be between 5 and 30." in html and app_settings.release_rule().min_days == 14
