"""Helpers for the inbound tests: real Twilio signatures, TwiML as XML, a configured auth token."""
import xml.etree.ElementTree as ET
from datetime import datetime

import pytest
from twilio.request_validator import RequestValidator

from callcenter.clock import local_to_utc
from callcenter.extensions import limiter

TOKEN = "test-auth-token-0123456789abcdef"
BASE = "http://localhost"  # what the Flask test client's requests look like to the app
NOW = local_to_utc(datetime(2021, 5, 20, 10, 0))  # inside the 09:00–12:00 check-in window


@pytest.fixture
def twilio_token(app, monkeypatch):
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setitem(app.config, "WEBHOOK_BASE_URL", "")
    return TOKEN


@pytest.fixture
def fresh_limits():
    limiter.reset()
    yield
    limiter.reset()


def sign(url, params, token=TOKEN):
    return RequestValidator(token).compute_signature(url, params)


def signed_post(client, path, params, url=None, token=TOKEN, headers=None):
    """POST form params to path, signed for `url` (by default the URL the test client calls)."""
    signature = sign(url or BASE + path, params, token)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature, **(headers or {})})


def xml(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/xml"
    return ET.fromstring(response.get_data())


def sms_params(body, from_phone, sid="SM0001", to="+15005550006"):
    return {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC123", "From": from_phone, "To": to, "Body": body,
            "NumMedia": "0"}


def call_params(sid="CA0001", to="+919800000001", from_phone="+15005550006", direction="outbound-api", **extra):
    return {"CallSid": sid, "AccountSid": "AC123", "From": from_phone, "To": to, "Direction": direction,
            "CallStatus": "in-progress", **extra}
