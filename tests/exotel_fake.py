"""A local fake of Exotel's HTTP API (the parts Sampark uses), served on 127.0.0.1 in a thread.

It checks what Exotel's documentation says it checks: HTTP Basic auth with the API key and token, the account
SID in the path, the mandatory parameters, and for SMS the DLT fields (the entity id, the registered header as
From, a registered template id whose text matches the body with each {#var#} filled, EncodingType=unicode for
text outside ASCII). It keeps what it accepted, as Exotel's records, and fires the callbacks Exotel would fire
back to Sampark over real HTTP when a test says the phone network has done its part:

- deliver(sms, status, code): the SMS delivery report to its StatusCallback;
- finish(call, status, duration): a call's terminal status callback (click-to-call and IVR calls);
- run_flow(call, digits): the IVR flow's applets calling Sampark's /exotel/<key>/ivr/* URLs (Gather, Passthru);
- missed_call(from_phone): the missed-call number's Passthru.
"""
import base64
import itertools
import re
import threading
import uuid
from dataclasses import dataclass, field

import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

KEY, TOKEN, SID = "fake-api-key", "fake-api-token", "sampark-raipur"
ENTITY_ID, HEADER, EXOPHONE = "1101234567890123456", "SMPARK", "07712345678"
APP_ID = "424242"


@dataclass
class Sent:
    sid: str
    kind: str           # "sms" or "call"
    params: dict
    status: str = "queued"
    callbacks: list = field(default_factory=list)  # (url, form, answer status) fired so far


class ServedWsgi:
    """Any WSGI app on 127.0.0.1 and a free port, in a background thread."""

    def __init__(self, app):
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self):
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()


def _pattern(registered):
    """A registered DLT text as a regex: the fixed words exactly, each {#var#} up to 40 characters."""
    parts = [re.escape(p) for p in registered.split("{#var#}")]
    return re.compile("^" + "(.{0,40}?)".join(parts) + "$", re.S)


class FakeExotel:
    def __init__(self, templates, flow_urls=None):
        """`templates`: DLT template id → registered text. `flow_urls`: the URLs the IVR flow's applets call
        ({"gather": …, "answer": …, "end": …}) and the missed-call number's ("missed")."""
        self.templates = {tid: _pattern(text) for tid, text in templates.items()}
        self.flow_urls = flow_urls or {}
        self.sent, self.refused, self.fail_next = [], [], []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.server = ServedWsgi(self.wsgi)
        self.api_base = self.server.base_url

    def stop(self):
        self.server.stop()

    # ── the API ──────────────────────────────────────────────────────────────────────────────────────

    def wsgi(self, environ, start_response):
        request = Request(environ)
        return self.handle(request)(environ, start_response)

    def handle(self, request):
        expected = "Basic " + base64.b64encode(f"{KEY}:{TOKEN}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return self._error(401, "Authentication failed. Invalid API Key or Token.")
        prefix = f"/v1/Accounts/{SID}/"
        if not request.path.startswith(prefix):
            return self._error(404, "Not Found")
        path = request.path[len(prefix):]
        with self._lock:
            if self.fail_next:
                status = self.fail_next.pop(0)
                return self._error(status, "fake failure")
        if request.method == "POST" and path == "Sms/send.json":
            return self._send_sms(request.form.to_dict())
        if request.method == "POST" and path == "Calls/connect.json":
            return self._connect(request.form.to_dict())
        match = re.fullmatch(r"(SMS/Messages|Calls)/([^/]+)\.json", path)
        if request.method == "GET" and match:
            for s in self.sent:
                if s.sid == match.group(2):
                    key = "SMSMessage" if s.kind == "sms" else "Call"
                    return self._json({key: {"Sid": s.sid, "Status": s.status}})
            return self._error(404, "Not Found")
        return self._error(404, "Not Found")

    def _refuse(self, message, params):
        self.refused.append((message, params))
        return self._error(400, message)

    def _send_sms(self, p):
        for name in ("From", "To", "Body", "DltEntityId"):
            if not p.get(name):
                return self._refuse(f"{name} is mandatory", p)
        if p["DltEntityId"] != ENTITY_ID:
            return self._refuse("DltEntityId is not registered", p)
        if p["From"] != HEADER:
            return self._refuse("From is not a registered header", p)
        pattern = self.templates.get(p.get("DltTemplateId", ""))
        if pattern is None:
            return self._refuse("DltTemplateId is not registered", p)
        if not pattern.match(p["Body"]):
            return self._refuse("Body does not match the DLT template", p)
        if any(ord(c) > 127 for c in p["Body"]) and p.get("EncodingType") != "unicode":
            return self._refuse("Body has Unicode text: EncodingType must be unicode", p)
        sent = self._keep("sms", p)
        return self._json({"SMSMessage": {"Sid": sent.sid, "Status": "queued", "To": p["To"],
                                          "DetailedStatusCode": 21010, "DetailedStatus": "PENDING_TO_OPERATOR"}})

    def _connect(self, p):
        for name in ("From", "CallerId"):
            if not p.get(name):
                return self._refuse(f"{name} is mandatory", p)
        if p["CallerId"] != EXOPHONE:
            return self._refuse("CallerId is not one of the account's ExoPhones", p)
        if not p.get("To") and not p.get("Url"):
            return self._refuse("To or Url is mandatory", p)
        sent = self._keep("call", p)
        return self._json({"Call": {"Sid": sent.sid, "Status": "in-progress", "From": p["From"],
                                    "To": p.get("To", ""), "PhoneNumberSid": EXOPHONE}})

    def _keep(self, kind, params):
        with self._lock:
            sent = Sent(f"{uuid.uuid4().hex[:16]}{next(self._ids):04d}", kind, params)
            self.sent.append(sent)
        return sent

    @staticmethod
    def _json(payload, status=200):
        import json
        return Response(json.dumps(payload), status=status, mimetype="application/json")

    def _error(self, status, message):
        return self._json({"RestException": {"Status": status, "Message": message}}, status=status)

    # ── what the phone network does, and the callbacks Exotel then makes ─────────────────────────────

    def _callback(self, sent, url, form):
        response = requests.post(url, data=form, timeout=10)
        sent.callbacks.append((url, form, response.status_code))
        return response

    def deliver(self, sent, status="delivered", code=20005, detailed="DELIVERED_TO_HANDSET"):
        sent.status = status
        form = {"SmsSid": sent.sid, "To": sent.params["To"], "Status": status, "SmsUnits": "1",
                "DetailedStatusCode": str(code), "DetailedStatus": detailed, "DateSent": "2021-05-20 09:00:05"}
        return self._callback(sent, sent.params["StatusCallback"], form)

    def finish(self, sent, status="completed", duration=0, recording_url=""):
        """The call's terminal status callback, as Exotel sends it (ConversationDuration: both legs talking)."""
        sent.status = status
        form = {"CallSid": sent.sid, "Status": status, "EventType": "terminal", "From": sent.params["From"],
                "To": sent.params.get("To", ""), "PhoneNumberSid": EXOPHONE, "RecordingUrl": recording_url,
                "ConversationDuration": str(duration), "DateUpdated": "2021-05-20 09:05:00",
                "CustomField": sent.params.get("CustomField", "")}
        return self._callback(sent, sent.params["StatusCallback"], form)

    def replay_last_callback(self, sent):
        url, form, _status = sent.callbacks[-1]
        return self._callback(sent, url, form)

    def _applet(self, name, call_sid, from_phone, extra=None, custom=""):
        """An applet's GET to Sampark, with the query parameters Exotel's flows send."""
        params = {"CallSid": call_sid, "CallFrom": from_phone, "CallTo": EXOPHONE, "Direction": "outbound-dial",
                  "CustomField": custom, **(extra or {})}
        return requests.get(self.flow_urls[name], params=params, timeout=10)

    def run_flow(self, sent, digits):
        """The IVR flow (docs/TELEPHONY.md): Gather (its prompt from Sampark) → Passthru with the digits
        pressed → back to Gather while Sampark answers 200, to the closing Greeting when it answers 302.
        Returns the prompts spoken, the closing words last."""
        spoken, custom, patient = [], sent.params.get("CustomField", ""), sent.params["From"]
        keys = list(digits)
        while True:
            gather = self._applet("gather", sent.sid, patient, custom=custom)
            assert gather.status_code == 200, gather.text
            spoken.append(gather.json()["gather_prompt"]["text"])
            pressed = keys.pop(0) if keys else ""
            answer = self._applet("answer", sent.sid, patient, {"digits": f'"{pressed}"'}, custom=custom)
            assert answer.status_code in (200, 302), answer.text
            if answer.status_code == 302:
                end = self._applet("end", sent.sid, patient, custom=custom)
                spoken.append(end.text if end.status_code == 200 else "")
                return spoken

    def missed_call(self, from_phone):
        sid = f"missed{uuid.uuid4().hex[:12]}"
        return requests.get(self.flow_urls["missed"], params={"CallSid": sid, "CallFrom": from_phone,
                                                             "CallTo": EXOPHONE, "Direction": "incoming",
                                                             "CallType": "call-attempt"}, timeout=10)


def app_config(api_base, secret, **extra):
    """The app's settings for this fake (every channel through Exotel unless `extra` says otherwise)."""
    return {"MESSAGING_BACKEND": "exotel", "EXOTEL_API_KEY": KEY, "EXOTEL_API_TOKEN": TOKEN,
            "EXOTEL_ACCOUNT_SID": SID, "EXOTEL_API_BASE": api_base, "EXOTEL_CALLER_ID": EXOPHONE,
            "EXOTEL_DLT_ENTITY_ID": ENTITY_ID, "EXOTEL_SMS_HEADER": HEADER, "EXOTEL_IVR_APP_ID": APP_ID,
            "EXOTEL_CALLBACK_SECRET": secret, **extra}
