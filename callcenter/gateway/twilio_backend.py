"""Twilio, through the official `twilio` package: account SID, auth token and sender numbers come from
the environment (config.py). Twilio's errors are translated into the gateway's error kinds here."""
import logging
from datetime import timezone

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from .base import (
    CannotTell,
    ConfigurationError,
    Gateway,
    OutcomeUnknown,
    PermanentError,
    ProviderResult,
    RetryableError,
)

log = logging.getLogger(__name__)
# Twilio's HTTP client logs every request's query string at INFO, and a message lookup's query is a patient's
# phone number: its lines go to a logger of ours that lets only warnings through.
http_log = logging.getLogger(f"{__name__}.http")
http_log.setLevel(logging.WARNING)

# https://www.twilio.com/docs/api/errors
INVALID_NUMBER_CODES = {21211, 21214, 21217, 21401, 21614}  # not a (mobile) number Twilio can reach
OPTED_OUT_CODES = {21610}  # the recipient replied STOP
RATE_LIMIT_CODES = {20429, 14107}
FIND_LIMIT = 50  # a patient gets a message or two a day: 50 covers their whole follow-up

# Twilio's status words → outbox statuses (anything not listed: the provider has it, "sent").
SMS_STATUSES = {"delivered": "delivered", "read": "delivered", "undelivered": "failed", "failed": "failed",
                "canceled": "failed"}
CALL_STATUSES = {"completed": "delivered", "busy": "failed", "no-answer": "failed", "canceled": "failed",
                 "failed": "failed"}


def outbox_status(kind, provider_status):
    """The outbox status for a Twilio message or call status (as in status callbacks)."""
    table = CALL_STATUSES if kind == "call" else SMS_STATUSES
    return table.get((provider_status or "").lower(), "sent")


def translate(exc):
    """A gateway error for an exception raised while handing a message to Twilio."""
    if isinstance(exc, (TwilioRestException, TwilioServiceException)):
        status, code = exc.status, exc.code
        text = f"Twilio {code}: {getattr(exc, 'msg', '') or getattr(exc, 'detail', '') or getattr(exc, 'title', '')}"
        if status == 429 or code in RATE_LIMIT_CODES or status == 503:
            return RetryableError(text, code)  # refused before any processing: safe to send again
        if status >= 500:
            return OutcomeUnknown(text, code)  # the request got in: reconcile before sending again
        if code in INVALID_NUMBER_CODES:
            return PermanentError(text, code, reason="invalid_number")
        if code in OPTED_OUT_CODES:
            return PermanentError(text, code, reason="opted_out")
        if status in (401, 403):
            return RetryableError(text, code)  # our credentials: fixable, and bounded by the max tries
        return PermanentError(text, code)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return RetryableError(f"connection timed out: {exc}")  # no request was sent
    if isinstance(exc, (requests.exceptions.RequestException, TwilioException)):
        return OutcomeUnknown(f"{type(exc).__name__}: {exc}")
    return None


class TwilioGateway(Gateway):
    name = "twilio"

    def __init__(self, config, http_client=None):
        sid, token = config.get("TWILIO_ACCOUNT_SID"), config.get("TWILIO_AUTH_TOKEN")
        if not (sid and token):
            raise ConfigurationError("MESSAGING_BACKEND=twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
        self.sms_from = config.get("TWILIO_SMS_FROM") or None
        self.call_from = config.get("TWILIO_CALL_FROM") or None
        http_client = http_client or TwilioHttpClient(timeout=config.get("TWILIO_HTTP_TIMEOUT", 30), logger=http_log)
        self.client = Client(sid, token, http_client=http_client)

    def _call(self, fn, **kwargs):
        try:
            return fn(**kwargs)
        except Exception as exc:
            error = translate(exc)
            if error is None:
                raise
            raise error from exc

    def send_sms(self, to, body, status_callback=None, template=None, **options):
        if not self.sms_from:
            raise ConfigurationError("set TWILIO_SMS_FROM to send SMS")
        msg = self._call(self.client.messages.create, to=to, from_=self.sms_from, body=body,
                         status_callback=status_callback)
        return self._result("sms", msg)

    def start_call(self, to, url, status_callback=None, message_id=None, **options):
        if not self.call_from:
            raise ConfigurationError("set TWILIO_CALL_FROM to make calls")
        call = self._call(self.client.calls.create, to=to, from_=self.call_from, url=url, method="POST",
                          status_callback=status_callback, status_callback_method="POST",
                          status_callback_event=["initiated", "answered", "completed"])
        return self._result("call", call)

    def fetch(self, kind, sid):
        resource = self.client.calls(sid) if kind == "call" else self.client.messages(sid)
        try:
            return self._result(kind, resource.fetch())
        except Exception as exc:
            raise (translate(exc) or exc) from exc

    def find(self, kind, to, since, content):
        since = since.replace(tzinfo=timezone.utc)
        try:
            if kind == "call":
                found = self.client.calls.list(to=to, from_=self.call_from, limit=FIND_LIMIT)
                matches = [c for c in found if c.date_created and c.date_created >= since]
            else:
                found = self.client.messages.list(to=to, from_=self.sms_from, limit=FIND_LIMIT)
                matches = [m for m in found if m.date_created and m.date_created >= since and m.body == content]
        except Exception as exc:
            raise CannotTell(f"lookup failed: {type(exc).__name__}: {exc}") from exc
        if matches:
            return self._result(kind, min(matches, key=lambda r: r.date_created))
        if len(found) >= FIND_LIMIT:
            raise CannotTell("more messages to this number than one lookup reads")
        return None

    @staticmethod
    def _result(kind, record):
        status = str(record.status or "")
        error = str(getattr(record, "error_code", None) or "")
        return ProviderResult(record.sid, outbox_status(kind, status), status, error)
