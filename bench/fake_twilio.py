"""A local stand-in for Twilio's Messages API, for the sender fault run (bench/faults.py), and the gateway that
talks to it.

The provider (FakeTwilio) answers what the app's twilio backend asks through the official `twilio` package:
create a message (POST …/Messages.json), fetch one (GET …/Messages/SID.json), list those to a number (GET
…/Messages.json?To=…&From=…, the sender's reconciliation). It records every message it accepts, and fails some
requests on purpose:
  - `refuse`: 503 before taking the message (the sender retries it later);
  - `lose_answer`: takes the message, then answers 500 (the outcome is unknown: the sender must look it up,
    never send it blindly again);
  - `stall`: takes the message and answers only after the client's timeout (a read timeout: unknown too).

The gateway (FakeTwilioGateway) is the app's own TwilioGateway whose HTTP client sends Twilio's requests to this
server instead of https://api.twilio.com: MESSAGING_BACKEND="bench.fake_twilio:FakeTwilioGateway" (the app's
documented way to plug in a backend) and FAKE_TWILIO_URL=http://127.0.0.1:PORT. Nothing in the app changes.
"""
import json
import os
import random
import threading
import time
import uuid
from datetime import datetime, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from twilio.http.http_client import TwilioHttpClient

from callcenter.gateway.twilio_backend import TwilioGateway, http_log

TWILIO_API = "https://api.twilio.com"


class RedirectingHttpClient(TwilioHttpClient):
    """Twilio's own HTTP client (requests), its requests sent to `base` instead of Twilio."""

    def __init__(self, base, **kwargs):
        super().__init__(**kwargs)
        self.base = base.rstrip("/")

    def request(self, method, url, *args, **kwargs):
        if url.startswith(TWILIO_API):
            url = self.base + url[len(TWILIO_API):]
        return super().request(method, url, *args, **kwargs)


class FakeTwilioGateway(TwilioGateway):
    def __init__(self, config):
        client = RedirectingHttpClient(os.environ["FAKE_TWILIO_URL"], timeout=config.get("TWILIO_HTTP_TIMEOUT", 30),
                                       logger=http_log)
        super().__init__(config, http_client=client)


class FakeTwilio:
    """The provider: start() in a thread of this process, url, messages (what it accepted)."""

    def __init__(self, refuse=0.0, lose_answer=0.0, stall=0.0, stall_seconds=3.0, latency=0.01, seed=15):
        self.refuse, self.lose_answer, self.stall = refuse, lose_answer, stall
        self.stall_seconds, self.latency = stall_seconds, latency
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.messages = []       # every message accepted: dicts in Twilio's shape, plus "outbox_id"
        self.requests = {"create": 0, "refused": 0, "answer lost": 0, "stalled": 0, "fetch": 0, "list": 0}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def received(self):
        """How many messages were accepted for each outbox message id."""
        counts = {}
        with self.lock:
            for message in self.messages:
                counts[message["outbox_id"]] = counts.get(message["outbox_id"], 0) + 1
        return counts

    # ── the API ───────────────────────────────────────────────────────────────────────────────────────────
    def _create(self, form):
        with self.lock:
            self.requests["create"] += 1
            roll = self.rng.random()
            if roll < self.refuse:
                self.requests["refused"] += 1
                return 503, {"code": 20503, "message": "Service unavailable (fake)", "status": 503}, 0
            now = datetime.now(timezone.utc)
            callback = form.get("StatusCallback", "")
            outbox_id = parse_qs(urlsplit(callback).query).get("m", [""])[0]
            message = {"sid": "SM" + uuid.uuid4().hex, "account_sid": "ACfake", "to": form.get("To"),
                       "from": form.get("From"), "body": form.get("Body"), "status": "queued",
                       "date_created": format_datetime(now), "date_updated": format_datetime(now),
                       "date_sent": None, "direction": "outbound-api", "num_segments": "1", "error_code": None,
                       "error_message": None, "api_version": "2010-04-01", "outbox_id": outbox_id}
            self.messages.append(message)
            if roll < self.refuse + self.lose_answer:
                self.requests["answer lost"] += 1
                return 500, {"code": 20500, "message": "Internal error (fake)", "status": 500}, 0
            if roll < self.refuse + self.lose_answer + self.stall:
                self.requests["stalled"] += 1
                return 201, self._public(message), self.stall_seconds
            return 201, self._public(message), 0

    @staticmethod
    def _public(message):
        return {k: v for k, v in message.items() if k != "outbox_id"}

    def _list(self, query):
        to, sender = query.get("To", [None])[0], query.get("From", [None])[0]
        size = int(query.get("PageSize", ["50"])[0])
        with self.lock:
            self.requests["list"] += 1
            found = [self._public(m) for m in reversed(self.messages)
                     if (to is None or m["to"] == to) and (sender is None or m["from"] == sender)][:size]
        return 200, {"messages": found, "page": 0, "page_size": size, "start": 0, "end": len(found),
                     "uri": "/fake", "first_page_uri": "/fake", "next_page_uri": None, "previous_page_uri": None}, 0

    def _fetch(self, sid):
        with self.lock:
            self.requests["fetch"] += 1
            found = next((self._public(m) for m in self.messages if m["sid"] == sid), None)
        if found is None:
            return 404, {"code": 20404, "message": "not found", "status": 404}, 0
        return 200, found, 0

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet: the run prints its own summary
                pass

            def _answer(self, status, payload, delay):
                time.sleep(provider.latency + delay)
                body = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up (a timeout) or was killed
                    pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if urlsplit(self.path).path.endswith("/Messages.json"):
                    self._answer(*provider._create(form))
                else:
                    self._answer(404, {"code": 20404, "message": "not supported by the fake"}, 0)

            def do_GET(self):
                parts = urlsplit(self.path)
                if parts.path.endswith("/Messages.json"):
                    self._answer(*provider._list(parse_qs(parts.query)))
                elif "/Messages/" in parts.path:
                    self._answer(*provider._fetch(parts.path.rsplit("/", 1)[1].removesuffix(".json")))
                else:
                    self._answer(404, {"code": 20404, "message": "not supported by the fake"}, 0)

        return Handler
