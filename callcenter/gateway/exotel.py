"""Exotel (an Indian cloud-telephony provider), over its REST API with HTTP Basic auth (API key and token).

- SMS: POST /v1/Accounts/<sid>/Sms/send with the DLT entity id, the registered header (From) and the DLT
  template id of the Sampark template being sent (a template with none is refused: operators drop it anyway),
  EncodingType=unicode for Hindi.
- IVR check-in: POST /v1/Accounts/<sid>/Calls/connect with From=the patient and Url=the Exotel flow (app) whose
  applets call back into Sampark (callcenter/checkins/exotel_views.py); CustomField names our message.
- Click-to-call: the same endpoint with From=the user's own phone, To=the patient, CallerId=the centre's
  ExoPhone ("connect two numbers"): both see the centre's number, neither sees the other's.
- Exotel does not sign its callbacks: their URLs carry EXOTEL_CALLBACK_SECRET (checked in constant time).
Exotel's status words and failure codes are translated into the outbox's here, and nowhere else.
"""
import logging

import requests
from urllib3.exceptions import NewConnectionError

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

# Exotel's SMS statuses → outbox statuses (anything else: on its way, "sent").
SMS_STATUSES = {"delivered": "delivered", "failed": "failed", "failed-dnd": "failed", "expired": "failed",
                "undelivered": "failed"}
CALL_STATUSES = {"completed": "delivered", "busy": "failed", "no-answer": "failed", "failed": "failed",
                 "canceled": "failed"}
# DetailedStatusCode of failed SMS: what the outbox row says (all permanent: sending again fails alike).
FAILURE_CODES = {
    23005: "the number is on the DND (do not disturb) registry",
    23010: "the number is invalid or does not exist",
    23015: "flagged as spam by the operator",
    23020: "the number is blacklisted",
    23072: "the sender id (header) is not registered",
    23080: "blocked by DLT scrubbing",
    23081: "the DLT entity id is not registered",
    23082: "the text does not match the DLT template",
    23083: "no DLT consent for this number",
}
INVALID_NUMBER_CODES = {23010}
CLICK_TO_CALL_TIME_LIMIT = 1800  # seconds: a volunteer's call rarely needs half an hour
RING_SECONDS = 30


def outbox_status(kind, provider_status):
    table = CALL_STATUSES if kind == "call" else SMS_STATUSES
    return table.get((provider_status or "").lower(), "sent")


def failure_text(code, detailed=""):
    """The outbox's words for an Exotel delivery failure code ("" for none)."""
    try:
        code = int(code)
    except (TypeError, ValueError):
        return detailed or ""
    meaning = FAILURE_CODES.get(code, detailed or "delivery failed")
    return f"Exotel {code}: {meaning}"


def template_ids(setting):
    """EXOTEL_DLT_TEMPLATE_IDS ("checkin_link=1107…,help_ambulance=1107…", or a dict) → {name: id}."""
    if isinstance(setting, dict):
        return {k: str(v).strip() for k, v in setting.items() if str(v).strip()}
    pairs = (item.partition("=") for item in (setting or "").replace(";", ",").split(","))
    return {name.strip(): value.strip() for name, _, value in pairs if name.strip() and value.strip()}


def needs_unicode(text):
    return any(ord(ch) > 127 for ch in text)


class ExotelGateway(Gateway):
    name = "exotel"
    status_endpoint = "checkins.exotel_status"
    can_bridge = True

    def __init__(self, config, session=None):
        self.key, self.token = config.get("EXOTEL_API_KEY"), config.get("EXOTEL_API_TOKEN")
        self.sid = config.get("EXOTEL_ACCOUNT_SID")
        if not (self.key and self.token and self.sid):
            raise ConfigurationError("the exotel backend needs EXOTEL_API_KEY, EXOTEL_API_TOKEN and EXOTEL_ACCOUNT_SID")
        self.secret = config.get("EXOTEL_CALLBACK_SECRET") or ""
        if len(self.secret) < 16:
            raise ConfigurationError("set EXOTEL_CALLBACK_SECRET (16 characters or more): Exotel's callbacks are "
                                     "not signed, the secret in their URL is what proves them")
        base = config.get("EXOTEL_API_BASE") or f"https://{config.get('EXOTEL_SUBDOMAIN') or 'api.in.exotel.com'}"
        self.api = f"{base.rstrip('/')}/v1/Accounts/{self.sid}"
        self.caller_id = config.get("EXOTEL_CALLER_ID") or ""
        self.entity_id = config.get("EXOTEL_DLT_ENTITY_ID") or ""
        self.header = config.get("EXOTEL_SMS_HEADER") or ""
        self.templates = template_ids(config.get("EXOTEL_DLT_TEMPLATE_IDS"))
        self.app_id = config.get("EXOTEL_IVR_APP_ID") or ""
        self.timeout = config.get("EXOTEL_HTTP_TIMEOUT", 30)
        self.http = session or requests.Session()

    def callback_values(self):
        return {"key": self.secret}

    # ── requests ──────────────────────────────────────────────────────────────────────────────────────

    def _request(self, method, path, data=None, params=None):
        try:
            response = self.http.request(method, f"{self.api}/{path}", data=data, params=params,
                                         auth=(self.key, self.token), timeout=self.timeout)
        except requests.exceptions.ConnectTimeout as exc:
            raise RetryableError(f"connection timed out: {type(exc).__name__}") from exc
        except requests.exceptions.ConnectionError as exc:
            reason = getattr(exc.args[0], "reason", None) if exc.args else None
            if isinstance(reason, NewConnectionError):  # no connection was made: nothing was sent
                raise RetryableError(f"no connection to Exotel: {type(exc).__name__}") from exc
            raise OutcomeUnknown(f"{type(exc).__name__}") from exc
        except requests.exceptions.RequestException as exc:
            raise OutcomeUnknown(f"{type(exc).__name__}") from exc
        if response.status_code < 300:
            try:
                return response.json()
            except ValueError as exc:
                raise OutcomeUnknown("Exotel answered with something that is not JSON") from exc
        raise self._error(response)

    @staticmethod
    def _error(response):
        try:
            detail = response.json().get("RestException", {})
        except ValueError:
            detail = {}
        status = response.status_code
        text = f"Exotel HTTP {status}: {detail.get('Message') or response.reason or ''}".strip()
        if status in (429, 503):
            return RetryableError(text, status)  # refused before processing: safe to send again
        if status >= 500:
            return OutcomeUnknown(text, status)
        if status in (401, 403):
            return RetryableError(text, status)  # our credentials: fixable, bounded by the max tries
        return PermanentError(text, status)

    # ── the gateway interface ─────────────────────────────────────────────────────────────────────────

    def template_id(self, template, language=None):
        """The DLT template id of a Sampark template: "<name>.<language>=id" (each language's text is its own
        registration) or "<name>=id"."""
        return self.templates.get(f"{template}.{language}") or self.templates.get(template or "")

    def send_sms(self, to, body, status_callback=None, template=None, language=None, **options):
        if not (self.entity_id and self.header):
            raise ConfigurationError("set EXOTEL_DLT_ENTITY_ID and EXOTEL_SMS_HEADER to send SMS through Exotel")
        template_id = self.template_id(template, language)
        if not template_id:
            raise PermanentError(f"SMS template {template or '(none)'!r} ({language or 'any language'}) has no DLT "
                                 f"template id: add {template or 'its name'}.{language or 'hi'}=<id> to "
                                 f"EXOTEL_DLT_TEMPLATE_IDS; not sent", reason="no_template")
        data = {"From": self.header, "To": to, "Body": body, "DltEntityId": self.entity_id,
                "DltTemplateId": template_id, "SmsType": "transactional"}
        if needs_unicode(body):
            data["EncodingType"] = "unicode"
        if status_callback:
            data["StatusCallback"] = status_callback
        record = self._request("POST", "Sms/send.json", data=data).get("SMSMessage") or {}
        return self._result("sms", record)

    def start_call(self, to, url, status_callback=None, message_id=None, **options):
        """An IVR check-in: Exotel rings the patient and runs the flow EXOTEL_IVR_APP_ID, whose applets call
        Sampark's /exotel/<secret>/ivr/* URLs (the flow's URL is Exotel's, not `url`: Twilio's flow entry)."""
        if not (self.app_id and self.caller_id):
            raise ConfigurationError("set EXOTEL_IVR_APP_ID and EXOTEL_CALLER_ID for IVR calls through Exotel")
        data = {"From": to, "CallerId": self.caller_id, "CallType": "trans",
                "Url": f"http://my.exotel.com/{self.sid}/exoml/start_voice/{self.app_id}",
                "TimeOut": RING_SECONDS}
        if message_id is not None:
            data["CustomField"] = f"m={message_id}"
        if status_callback:
            data["StatusCallback"] = status_callback
        record = self._request("POST", "Calls/connect.json", data=data).get("Call") or {}
        return self._result("call", record)

    def connect(self, agent, patient, status_callback=None, record=False):
        """Click-to-call: ring `agent` first, then bridge to `patient`, the centre's ExoPhone shown to both."""
        if not self.caller_id:
            raise ConfigurationError("set EXOTEL_CALLER_ID (the centre's ExoPhone) for click-to-call")
        data = {"From": agent, "To": patient, "CallerId": self.caller_id, "CallType": "trans",
                "TimeLimit": CLICK_TO_CALL_TIME_LIMIT, "TimeOut": RING_SECONDS, "Record": "true" if record else "false"}
        if status_callback:
            data["StatusCallback"] = status_callback
            data["StatusCallbackEvents[0]"] = "terminal"
            data["StatusCallbackContentType"] = "application/x-www-form-urlencoded"
        record = self._request("POST", "Calls/connect.json", data=data).get("Call") or {}
        return self._result("call", record)

    def fetch(self, kind, sid):
        path = f"Calls/{sid}.json" if kind == "call" else f"SMS/Messages/{sid}.json"
        body = self._request("GET", path)
        return self._result(kind, body.get("Call") or body.get("SMSMessage") or {})

    def find(self, kind, to, since, content):
        # Exotel offers no search of what was sent to a number: the status callback (its URL names our
        # message) or a person on the outbox page settles a message whose hand-off outcome is unknown.
        raise CannotTell("Exotel's records cannot be searched: waiting for its status callback")

    @staticmethod
    def _result(kind, record):
        sid = str(record.get("Sid") or "")
        if not sid:
            raise OutcomeUnknown("Exotel accepted the request but named no Sid")
        status = str(record.get("Status") or "")
        outcome = outbox_status(kind, status)
        error = failure_text(record.get("DetailedStatusCode"), record.get("DetailedStatus") or "") \
            if outcome == "failed" else ""
        return ProviderResult(sid, outcome, status, error)
