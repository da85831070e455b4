"""The outbox's guarantees held for each backend (console, Twilio, Exotel), each behind its real client code:
Twilio's official client over a recording fake transport, Exotel's over HTTP to the fake Exotel. No message is
lost, none is handed to a provider twice blindly, whatever moment the sender is killed at."""
import json
from datetime import timedelta

import pytest
from twilio.http import HttpClient
from twilio.http.response import Response

from callcenter import gateway as gateways
from callcenter.gateway.console import ConsoleGateway
from callcenter.gateway.twilio_backend import TwilioGateway
from callcenter.services.outbox import messages as outbox_messages
from callcenter.services.outbox import sender as outbox_sender
from callcenter.services.outbox.enqueue import enqueue_daily_checkins
from callcenter.services.outbox.sender import send_pending
from callcenter.services.outbox.status import resolve

from ..exotel_fixtures import exotel, served_app  # noqa: F401  (fixtures)
from ..factories import make_patient, make_user
from ..gateway.test_twilio_backend import CONFIG as TWILIO_CONFIG
from ..gateway.test_twilio_backend import twilio_time
from .outbox_helpers import DAY, NOW, FakeClock, at, messages


class ProcessDied(Exception):
    pass


class TwilioRecorder(HttpClient):
    """Twilio's API as far as the outbox uses it: creates messages and calls, lists them by number."""

    def __init__(self):
        super().__init__(logger=None, is_async=False)
        self.created = []

    def request(self, method, uri, params=None, data=None, headers=None, auth=None, timeout=None,
                allow_redirects=False):
        kind = "call" if "/Calls" in uri else "sms"
        if method == "POST":
            sid = f"{'CA' if kind == 'call' else 'SM'}{len(self.created) + 1:032d}"
            record = {"sid": sid, "status": "queued", "to": data["To"], "body": data.get("Body", ""),
                      "date_created": twilio_time(NOW), "error_code": None, "kind": kind}
            self.created.append(record)
            return Response(201, json.dumps(record))
        found = [r for r in self.created if r["kind"] == kind and r["to"] == (params or {}).get("To")]
        key = "calls" if kind == "call" else "messages"
        return Response(200, json.dumps({key: found, "page": 0, "page_size": 50, "uri": "/x", "first_page_uri": "/x",
                                         "next_page_uri": None, "previous_page_uri": None}))


class Backend:
    def __init__(self, name, gateway, holds, settle=None):
        self.name, self.gateway, self.holds, self.settle = name, gateway, holds, settle


@pytest.fixture(params=["console", "twilio", "exotel"])
def backend(request):
    if request.param == "console":
        return Backend("console", ConsoleGateway(), holds=lambda: None)
    if request.param == "twilio":
        http = TwilioRecorder()
        return Backend("twilio", TwilioGateway(TWILIO_CONFIG, http_client=http),
                       holds=lambda: [(r["kind"], r["to"]) for r in http.created])
    fake = request.getfixturevalue("exotel")

    def settle(sid):
        sent = next(s for s in fake.sent if s.sid == sid)
        return fake.deliver(sent) if sent.kind == "sms" else fake.finish(sent, "completed", duration=40)
    return Backend("exotel", gateways.get(), holds=lambda: [(s.kind, s.params["From"] if s.kind == "call" else
                                                            s.params["To"]) for s in fake.sent], settle=settle)


def send(backend, now_fn=at()):
    return send_pending(backend.gateway, clock=FakeClock(), now_fn=now_fn)


def _two_patients(district):
    ivr, sms = make_patient(district, checkin_channel="ivr"), make_patient(district, checkin_channel="sms_reply")
    assert enqueue_daily_checkins(DAY, now=NOW)["enqueued"] == 2
    return ivr, sms


def test_each_message_is_handed_over_once(district, backend):
    ivr, sms = _two_patients(district)
    assert send(backend)["sent"] == 2
    assert send(backend, at(minutes=30))["handed"] == 0
    ms = messages()
    assert all(m.status == "sent" and m.provider == backend.name and m.provider_sid for m in ms)
    if backend.holds() is not None:
        assert sorted(backend.holds()) == sorted([("call", ivr.phone), ("sms", sms.phone)])


def test_a_sender_killed_after_the_hand_off_never_sends_again(district, backend, monkeypatch):
    _two_patients(district)

    def killed(*args, **kwargs):
        raise ProcessDied("killed after the provider answered, before the answer was saved")

    monkeypatch.setattr(outbox_messages, "record_result", killed)
    with pytest.raises(ProcessDied):
        send(backend)
    monkeypatch.undo()
    for minutes in (5, 11, 30, 90):
        send(backend, at(minutes=minutes))
    held = backend.holds()
    if held is None:  # the console: nothing ever left the process, so sending it is the first hand-off
        assert all(m.status == "sent" for m in messages())
        return
    if backend.name == "twilio":  # Twilio's records are searched: the handed one found, the other sent once
        assert len(held) == 2 and all(m.status == "sent" and m.provider_sid for m in messages())
        return
    # Exotel's records cannot be searched: both messages the dead sender had claimed wait, none sent again …
    assert len(held) == 1 and [m.status for m in messages()] == ["unknown", "unknown"]
    handed, other = messages()
    # … until the status callback, whose URL names the message, settles the one Exotel has
    assert backend.settle(_exotel_sid_for(handed)).status_code == 200
    assert messages()[0].status == "delivered"
    # and a person on the outbox page sends the other
    assert resolve(other.id, "resend", make_user("nodal_officer", district), now=NOW + timedelta(minutes=91))
    send(backend, at(minutes=92))
    assert len(backend.holds()) == 2 and messages()[1].status == "sent"


def _exotel_sid_for(message):
    from flask import current_app
    fake_sent = [s for s in _fake(current_app).sent
                 if (s.params.get("CustomField") == f"m={message.id}"
                     or s.params.get("StatusCallback", "").endswith(f"?m={message.id}"))]
    return fake_sent[0].sid


def _fake(app):
    return app.extensions["test_fake_exotel"]


def test_a_sender_killed_before_the_hand_off_loses_nothing(district, backend, monkeypatch):
    _two_patients(district)
    monkeypatch.setattr(outbox_sender, "send_one", lambda *a, **k: (_ for _ in ()).throw(ProcessDied()))
    with pytest.raises(ProcessDied):
        send(backend)
    monkeypatch.undo()
    send(backend, at(minutes=11))
    ms = messages()
    held = backend.holds()
    if backend.name == "exotel":  # cannot tell: kept for a person, never resent blindly
        assert [m.status for m in ms] == ["unknown", "unknown"] and held == []
        nodal = make_user("nodal_officer", district)
        for stuck in ms:
            assert resolve(stuck.id, "resend", nodal, now=NOW + timedelta(minutes=20)) is not None
        send(backend, at(minutes=21))
        held = backend.holds()
    assert all(m.status == "sent" for m in messages())
    if held is not None:
        assert len(held) == 2


def test_a_busy_provider_is_tried_again_later(district, backend):
    _two_patients(district)
    if backend.name == "console":
        pytest.skip("the console is never busy")
    if backend.name == "exotel":
        from flask import current_app
        _fake(current_app).fail_next.extend([503, 429])
    else:
        real = backend.gateway.client.http_client.request
        failures = [Response(503, json.dumps({"code": 20503, "message": "busy", "status": 503})),
                    Response(429, json.dumps({"code": 20429, "message": "slow", "status": 429}))]
        backend.gateway.client.http_client.request = lambda *a, **k: failures.pop(0) if failures else real(*a, **k)
    assert send(backend)["retried"] == 2
    assert send(backend, at(minutes=5))["sent"] == 2
    assert len(backend.holds()) == 2
