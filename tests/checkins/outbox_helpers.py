"""Helpers for the outbox tests: a fake provider that remembers what it was given, a fake clock, config."""
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from callcenter.clock import local_to_utc
from callcenter.extensions import db
from callcenter.gateway import CannotTell, Gateway, ProviderResult
from callcenter.models import OutboundMessage

NOW = local_to_utc(datetime(2021, 5, 20, 9, 0))  # the check-in window opens (09:00–12:00 local)
DAY = datetime(2021, 5, 20).date()


@dataclass
class Handed:
    kind: str
    to: str
    content: str
    status_callback: str
    sid: str
    at: float = 0.0


class FakeGateway(Gateway):
    """A provider that keeps a record of everything handed to it, like a real one, and can be told to
    fail (`errors`: exceptions raised by the next calls) or not to know (`cannot_tell`)."""
    name = "fake"

    def __init__(self, clock=None):
        self.handed, self.errors, self.cannot_tell, self.clock = [], [], False, clock
        self._lock = threading.Lock()

    def _take(self, kind, to, content, status_callback):
        with self._lock:
            if self.errors:
                raise self.errors.pop(0)
            sid = f"{'CA' if kind == 'call' else 'SM'}{len(self.handed) + 1:032d}"
            self.handed.append(Handed(kind, to, content, status_callback, sid,
                                      self.clock.monotonic() if self.clock else 0.0))
        return ProviderResult(sid, "sent", "queued")

    def send_sms(self, to, body, status_callback=None, template=None, **options):
        return self._take("sms", to, body, status_callback)

    def start_call(self, to, url, status_callback=None, message_id=None, **options):
        return self._take("call", to, url, status_callback)

    def fetch(self, kind, sid):
        return ProviderResult(sid, "sent", "sent")

    def find(self, kind, to, since, content):
        if self.cannot_tell:
            raise CannotTell("the provider's records are unavailable")
        for h in self.handed:
            if (h.kind, h.to, h.content) == (kind, to, content):
                return ProviderResult(h.sid, "sent", "sent")
        return None


class FakeClock:
    """Monotonic time that moves only when someone sleeps: rate limits tested without waiting."""

    def __init__(self):
        self.t, self.sleeps = 0.0, []

    def monotonic(self):
        return self.t

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.t += seconds


@pytest.fixture
def config(app):
    """app.config for this test only: changes are undone afterwards."""
    saved = dict(app.config)
    yield app.config
    app.config.clear()
    app.config.update(saved)


def messages():
    db.session.expire_all()
    return db.session.scalars(db.select(OutboundMessage).order_by(OutboundMessage.id)).all()


def at(seconds=0, minutes=0):
    """A now_fn: NOW plus an offset."""
    return lambda: NOW + timedelta(seconds=seconds, minutes=minutes)


def make_patient_speaking(district, language, **extra):
    """tests.factories.make_patient in a chosen language (the factory's patients speak English)."""
    from ..factories import make_patient
    patient = make_patient(district, **extra)
    patient.language = language
    db.session.commit()
    return patient
