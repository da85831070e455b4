"""The Twilio backend: the official client builds real requests, answered by a fake HTTP client (no network)."""
import json
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import requests
from twilio.http import HttpClient
from twilio.http.response import Response

from callcenter import gateway as gateways
from callcenter.gateway import (
    CannotTell,
    ConfigurationError,
    OutcomeUnknown,
    PermanentError,
    ProviderResult,
    RetryableError,
)
from callcenter.gateway.console import ConsoleGateway
from callcenter.gateway.twilio_backend import FIND_LIMIT, TwilioGateway, outbox_status

ACCOUNT = "AC" + "0" * 32
CONFIG = {"TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": "secret-token", "TWILIO_SMS_FROM": "+15005550006",
          "TWILIO_CALL_FROM": "+15005550007"}
BASE = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}"
SINCE = datetime(2021, 5, 20, 3, 30)  # naive UTC, as the database keeps it


class FakeHttp(HttpClient):
    """Answers each request with the next canned response (or raises it), and keeps the requests."""

    def __init__(self, *responses):
        super().__init__(logger=None, is_async=False)
        self.responses, self.requests = list(responses), []

    def request(self, method, uri, params=None, data=None, headers=None, auth=None, timeout=None,
                allow_redirects=False):
        self.requests.append({"method": method, "uri": uri, "params": params or {}, "data": data or {},
                              "auth": auth})
        answer = self.responses.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def ok(payload, status=201):
    return Response(status, json.dumps(payload))


def error(status, code, message="error"):
    return Response(status, json.dumps({"code": code, "message": message, "more_info": "", "status": status}))


def twilio_time(dt):
    return format_datetime(dt.replace(tzinfo=timezone.utc))


def message(sid="SM" + "1" * 32, status="queued", body="hello", created=SINCE + timedelta(minutes=1), **extra):
    return {"sid": sid, "status": status, "body": body, "to": "+919800000001", "from": CONFIG["TWILIO_SMS_FROM"],
            "date_created": twilio_time(created), "error_code": None, "account_sid": ACCOUNT, **extra}


def page(key, items):
    return ok({key: items, "page": 0, "page_size": FIND_LIMIT, "uri": "/x", "first_page_uri": "/x",
               "next_page_uri": None, "previous_page_uri": None}, status=200)


def gateway_with(*responses):
    http = FakeHttp(*responses)
    return TwilioGateway(CONFIG, http_client=http), http


def test_send_sms_builds_the_real_request():
    gw, http = gateway_with(ok(message()))
    result = gw.send_sms("+919800000001", "hello", status_callback="https://s.example/twilio/status?m=7")
    assert result == ProviderResult("SM" + "1" * 32, "sent", "queued", "")
    (req,) = http.requests
    assert (req["method"], req["uri"]) == ("POST", f"{BASE}/Messages.json")
    assert req["auth"] == (ACCOUNT, "secret-token")
    assert req["data"] == {"To": "+919800000001", "From": "+15005550006", "Body": "hello",
                           "StatusCallback": "https://s.example/twilio/status?m=7"}


def test_start_call_builds_the_real_request():
    call = {"sid": "CA" + "2" * 32, "status": "queued", "to": "+919800000001", "account_sid": ACCOUNT}
    gw, http = gateway_with(ok(call))
    result = gw.start_call("+919800000001", "https://s.example/twilio/voice?m=8",
                           status_callback="https://s.example/twilio/status?m=8")
    assert (result.sid, result.status) == ("CA" + "2" * 32, "sent")
    (req,) = http.requests
    assert req["uri"] == f"{BASE}/Calls.json"
    data = req["data"]
    assert (data["To"], data["From"], data["Url"], data["Method"]) == (
        "+919800000001", "+15005550007", "https://s.example/twilio/voice?m=8", "POST")
    assert data["StatusCallback"] == "https://s.example/twilio/status?m=8"
    assert data["StatusCallbackEvent"] == ["initiated", "answered", "completed"]


@pytest.mark.parametrize(("response", "kind", "code", "reason"), [
    (error(400, 21211, "Invalid 'To' Phone Number"), PermanentError, 21211, "invalid_number"),
    (error(400, 21614, "'To' number is not a valid mobile number"), PermanentError, 21614, "invalid_number"),
    (error(400, 21610, "Attempt to send to unsubscribed recipient"), PermanentError, 21610, "opted_out"),
    (error(400, 21408, "Permission to send an SMS has not been enabled"), PermanentError, 21408, None),
    (error(429, 20429, "Too Many Requests"), RetryableError, 20429, None),
    (error(503, 20503, "Service unavailable"), RetryableError, 20503, None),
    (error(401, 20003, "Authenticate"), RetryableError, 20003, None),
    (error(500, 20500, "Internal Server Error"), OutcomeUnknown, 20500, None),  # it may have been created
    (error(502, 20502, "Bad gateway"), OutcomeUnknown, 20502, None),
])
def test_twilio_errors_become_gateway_errors(response, kind, code, reason):
    gw, _http = gateway_with(response)
    with pytest.raises(kind) as raised:
        gw.send_sms("+919800000001", "hello")
    assert type(raised.value) is kind
    assert (raised.value.code, raised.value.reason) == (code, reason)
    assert str(code) in str(raised.value)


@pytest.mark.parametrize(("exc", "kind"), [
    (requests.exceptions.ConnectTimeout("no connection"), RetryableError),  # nothing was sent
    (requests.exceptions.ReadTimeout("no answer"), OutcomeUnknown),        # it may have arrived
    (requests.exceptions.ConnectionError("connection reset"), OutcomeUnknown),
])
def test_network_errors(exc, kind):
    gw, _http = gateway_with(exc)
    with pytest.raises(kind):
        gw.start_call("+919800000001", "https://s.example/twilio/voice?m=1")


def test_find_a_message_we_never_recorded():
    ours = message(sid="SM" + "3" * 32, body="hello", status="delivered")
    older = message(sid="SM" + "4" * 32, body="hello", created=SINCE - timedelta(days=1))
    other = message(sid="SM" + "5" * 32, body="another text")
    gw, http = gateway_with(page("messages", [other, ours, older]))
    found = gw.find("sms", "+919800000001", SINCE, "hello")
    assert (found.sid, found.status, found.provider_status) == ("SM" + "3" * 32, "delivered", "delivered")
    (req,) = http.requests
    assert (req["method"], req["uri"]) == ("GET", f"{BASE}/Messages.json")
    assert (req["params"]["To"], req["params"]["From"]) == ("+919800000001", "+15005550006")


def test_find_says_none_only_when_it_saw_everything():
    gw, _http = gateway_with(page("messages", [message(body="another text")]))
    assert gw.find("sms", "+919800000001", SINCE, "hello") is None
    full = [message(sid=f"SM{i:032d}", body="another text") for i in range(FIND_LIMIT)]
    gw, _http = gateway_with(page("messages", full))
    with pytest.raises(CannotTell):
        gw.find("sms", "+919800000001", SINCE, "hello")
    gw, _http = gateway_with(error(500, 20500))
    with pytest.raises(CannotTell):
        gw.find("sms", "+919800000001", SINCE, "hello")


def test_find_a_call():
    call = {"sid": "CA" + "6" * 32, "status": "completed", "to": "+919800000001", "account_sid": ACCOUNT,
            "date_created": twilio_time(SINCE + timedelta(seconds=5))}
    gw, http = gateway_with(page("calls", [call]))
    found = gw.find("call", "+919800000001", SINCE, "https://s.example/twilio/voice?m=1")
    assert (found.sid, found.status) == ("CA" + "6" * 32, "delivered")
    assert http.requests[0]["uri"] == f"{BASE}/Calls.json"


def test_fetch():
    gw, http = gateway_with(ok(message(status="undelivered", error_code=30003), status=200))
    result = gw.fetch("sms", "SM" + "1" * 32)
    assert (result.status, result.provider_status, result.error) == ("failed", "undelivered", "30003")
    assert http.requests[0]["uri"] == f"{BASE}/Messages/{'SM' + '1' * 32}.json"


def test_status_words():
    assert [outbox_status("sms", s) for s in ("queued", "sent", "delivered", "undelivered", "failed", "read")] == [
        "sent", "sent", "delivered", "failed", "failed", "delivered"]
    assert [outbox_status("call", s) for s in ("initiated", "ringing", "in-progress", "completed", "busy",
                                               "no-answer")] == ["sent", "sent", "sent", "delivered", "failed",
                                                                 "failed"]


def test_credentials_and_numbers_are_required():
    with pytest.raises(ConfigurationError):
        TwilioGateway({**CONFIG, "TWILIO_AUTH_TOKEN": ""})
    gw = TwilioGateway({**CONFIG, "TWILIO_SMS_FROM": ""}, http_client=FakeHttp())
    with pytest.raises(ConfigurationError):
        gw.send_sms("+919800000001", "hello")


def test_the_registry_chooses_by_messaging_backend(app):
    saved = dict(app.config)
    try:
        assert isinstance(gateways.get(app), ConsoleGateway)
        app.config.update(MESSAGING_BACKEND="twilio", **CONFIG)
        assert isinstance(gateways.get(app), TwilioGateway)
        assert gateways.get(app) is gateways.get(app)  # one client, its connections kept
        # a third provider: a Gateway subclass named in the setting; no caller changes
        app.config["MESSAGING_BACKEND"] = "callcenter.gateway.console:ConsoleGateway"
        assert isinstance(gateways.get(app), ConsoleGateway)
        app.config["MESSAGING_BACKEND"] = "carrier-pigeon"
        with pytest.raises(ConfigurationError):
            gateways.get(app)
    finally:
        app.config.clear()
        app.config.update(saved)
        app.extensions.pop("sampark_gateway", None)


def test_console_backend():
    gw = ConsoleGateway()
    sms, call = gw.send_sms("+919800000001", "hello"), gw.start_call("+919800000001", "https://s/twilio/voice")
    assert sms.status == call.status == "sent" and sms.sid != call.sid
    assert gw.find("sms", "+919800000001", SINCE, "hello") is None  # nothing ever left the process
    assert gw.keeps_text


class CannedAdapter(requests.adapters.BaseAdapter):
    """A requests transport that answers every request with one canned JSON body (no network)."""

    def __init__(self, payload):
        super().__init__()
        self.payload = payload

    def send(self, request, **kwargs):
        response = requests.Response()
        response.status_code, response.url, response.request = 200, request.url, request
        response._content = json.dumps(self.payload).encode()
        response.headers["Content-Type"] = "application/json"
        return response

    def close(self):
        pass


def test_the_real_http_client_logs_no_phone_number(caplog):
    """Twilio's own HTTP client logs each request's query string at INFO: a lookup's is the patient's number."""
    gw = TwilioGateway(CONFIG)  # the real TwilioHttpClient, over a canned transport
    gw.client.http_client.session.mount("https://", CannedAdapter(json.loads(page("messages", []).text)))
    with caplog.at_level("DEBUG"):
        assert gw.find("sms", "+919812345678", SINCE, "hello") is None
    # Everything logged at any level during the lookup (before the fix: "GET Request: …?To=%2B919812345678").
    assert not [r.getMessage() for r in caplog.records if "9812345678" in r.getMessage()]
