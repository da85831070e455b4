"""The sender: claim what is due, hand it to the provider rate-limited, record the outcome or retry."""
import logging
import math
import time
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, case, func, or_, select, text, update

from ... import gateway as gateways
from ...clock import local_date, to_local, utcnow
from ...extensions import db
from ...models import Desk, MessageKind, OutboundMessage, OutboxPriority, OutboxStatus, Patient, Severity
from ...rules import broadcasts as broadcast_rules
from ..checkins import schedule as checkin_schedule
from ..core import audit
from ..core.tx import is_postgres, transaction
from ..desks.escalations import raise_escalation
from . import messages
from .messages import MAX_BATCH, backoff, call_url, locked, status_callback_url
from .reads import warn_if_behind
from .reconcile import reconcile

log = logging.getLogger(__name__)

SENDER_LOCK = 0x53414D50        # PostgreSQL advisory lock: one sender pass at a time ("SAMP")


class Clock:
    """Real time; tests pass a fake one whose sleep() only moves its hands."""
    monotonic = staticmethod(time.monotonic)
    sleep = staticmethod(time.sleep)


class TokenBucket:
    """`rate` messages per second, evenly spaced (a burst of one): the provider's per-second limit."""

    def __init__(self, rate, clock=None, burst=1):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate, self.burst, self.clock = rate, burst, clock or Clock()
        self.tokens, self.at = float(burst), self.clock.monotonic()

    def _refill(self):
        now = self.clock.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now

    def acquire(self):
        self._refill()
        if self.tokens < 1:
            self.clock.sleep((1 - self.tokens) / self.rate)
            self._refill()
        self.tokens -= 1


@contextmanager
def _one_sender(exclusive):
    """On PostgreSQL, one pass at a time across every process (a session advisory lock, freed if the
    process dies), so the rate limit holds for the whole deployment. SQLite serialises writers anyway."""
    if not exclusive or not is_postgres():
        yield True
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        mine = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": SENDER_LOCK}).scalar()
        try:
            yield mine
        finally:
            if mine:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SENDER_LOCK})


def send_pending(gateway=None, clock=None, now_fn=utcnow, max_seconds=None, limit=None, exclusive=True):
    """One sender pass: drop expired check-ins, reconcile, then claim and send what is due, rate-limited,
    until nothing is due (or `max_seconds` / `limit`). Returns counts by outcome, or None when another
    sender is running."""
    config = current_app.config
    gateway = gateway or gateways.get()
    clock = clock or Clock()
    bucket = TokenBucket(config["OUTBOX_RATE_PER_SECOND"], clock)
    batch = max(1, min(MAX_BATCH, math.ceil(config["OUTBOX_RATE_PER_SECOND"])))
    with _one_sender(exclusive) as mine:
        if not mine:
            return None
        counts = Counter(expired=expire_checkins(now_fn()), handed=0)
        counts.update(reconcile(gateway, now_fn()))
        started = clock.monotonic()
        drained = False
        while limit is None or counts["handed"] < limit:
            if max_seconds is not None and clock.monotonic() - started >= max_seconds:
                break
            ids = claim(batch if limit is None else min(batch, limit - counts["handed"]), now_fn())
            if not ids:
                drained = True
                break
            for message_id in ids:
                bucket.acquire()
                counts[send_one(message_id, gateway, now_fn())] += 1
                counts["handed"] += 1
        if not drained:
            # What this pass achieved (the provider's answer time included) bounds the configured rate.
            elapsed = clock.monotonic() - started
            achieved = counts["handed"] / elapsed if elapsed > 0 and counts["handed"] else None
            warn_if_behind(now_fn(), achieved)
    return dict(counts)

def claim(limit, now):
    """Claim up to `limit` due messages for this sender: 'sending', committed. Returns the claimed ids, most
    urgent first."""
    try:
        due = [OutboundMessage.status == OutboxStatus.QUEUED, OutboundMessage.next_attempt_at <= now]
        if not broadcast_rules.in_promotional_hours(to_local(now).time()):
            due.append(OutboundMessage.priority < OutboxPriority.BROADCAST)  # nobody is texted a broadcast at night
        pick = (select(OutboundMessage.id)
                .where(*due)
                # Urgent first (help on the way), then one patient's messages, then the day's check-ins.
                .order_by(OutboundMessage.priority, OutboundMessage.next_attempt_at, OutboundMessage.id)
                .limit(limit).with_for_update(skip_locked=True))
        picked = db.session.scalars(pick).all()
        ids = []
        if picked:
            ids = db.session.scalars(
                update(OutboundMessage)
                .where(OutboundMessage.id.in_(picked), OutboundMessage.status == OutboxStatus.QUEUED)
                .values(status=OutboxStatus.SENDING, claimed_at=now, tries=OutboundMessage.tries + 1)
                .returning(OutboundMessage.id)
                .execution_options(synchronize_session=False)).all()
        db.session.commit()
        place = {message_id: n for n, message_id in enumerate(picked)}
        return sorted(ids, key=place.__getitem__)  # sent in the order picked: urgent first
    except BaseException:
        db.session.rollback()
        raise


@transaction
def _cancel_if_unreachable(message_id, now):
    """Just before sending: the patient opted out, their number proved invalid (perhaps through the
    message before this one) or their follow-up ended since the enqueue. True if cancelled."""
    patient = select(Patient.id).where(Patient.id == OutboundMessage.patient_id)
    # A broadcast may be for recovered patients: only STOP and a wrong number stop it.
    broadcast = OutboundMessage.broadcast_id.is_not(None)
    blocked = patient.where(or_(
        and_(~broadcast, ~checkin_schedule.reachable(OutboundMessage.kind)),
        and_(broadcast, or_(Patient.sms_opt_out.is_(True), Patient.phone_invalid.is_(True))))).exists()
    reason = (select(case((and_(~broadcast, Patient.status != "active"), "patient no longer followed up"),
                          (Patient.phone_invalid.is_(True), "phone number invalid"),
                          else_="opted out of SMS"))
              .where(Patient.id == OutboundMessage.patient_id).scalar_subquery())
    return db.session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id == message_id, OutboundMessage.status == OutboxStatus.SENDING, blocked)
        .values(status=OutboxStatus.CANCELLED, status_at=now, last_error=reason)
        .execution_options(synchronize_session=False), execution_options={"preserve_rowcount": True}
    ).rowcount == 1


def expire_checkins(now):
    """Cancel check-ins still waiting after their day's window closed (a late check-in asks too late)."""
    today = local_date(now)
    _start, end = checkin_schedule.window(today)
    last_open = today if now < end else today + timedelta(days=1)  # keys of days before this expire
    key = OutboundMessage.idempotency_key
    day_of_key = func.right(key, 10) if is_postgres() else func.substr(key, -10)
    result = db.session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.status == OutboxStatus.QUEUED,
               OutboundMessage.template.in_(checkin_schedule.CHECKIN_TEMPLATES),
               key.like(checkin_schedule.KEY_PREFIX + "%"), day_of_key < last_open.isoformat())
        .values(status=OutboxStatus.CANCELLED, status_at=now, last_error="check-in window closed")
        .execution_options(synchronize_session=False), execution_options={"preserve_rowcount": True})
    db.session.commit()
    return result.rowcount


def send_one(message_id, gateway, now):
    """Hand one claimed message to the provider and record the outcome. Returns the outcome's name."""
    if _cancel_if_unreachable(message_id, now):
        return "cancelled"
    msg = db.session.get(OutboundMessage, message_id)
    kind, to, template, language = msg.kind, msg.to_phone, msg.template, msg.language
    content = call_url(msg) if kind == MessageKind.CALL else messages.outgoing_text(msg)
    db.session.commit()  # no transaction (nor row lock) held while the provider is called
    gateway = gateway.for_kind(kind)
    callback = status_callback_url(message_id, gateway)
    try:
        if kind == MessageKind.CALL:
            result = gateway.start_call(to, content, status_callback=callback, message_id=message_id)
        else:
            result = gateway.send_sms(to, content, status_callback=callback, template=template, language=language)
    except gateways.ConfigurationError as exc:
        _retry(message_id, exc, now)
        raise  # every message would fail alike: stop the pass
    except gateways.RetryableError as exc:
        return _retry(message_id, exc, now)
    except gateways.PermanentError as exc:
        return _fail(message_id, exc, now)
    except Exception as exc:  # OutcomeUnknown, or anything else: it may have reached the provider
        if not isinstance(exc, gateways.OutcomeUnknown):
            log.exception("outbox message %s: unexpected error from %s", message_id, gateway.name)
        return _unknown(message_id, exc, now)
    messages.record_result(message_id, result, gateway.name, now)
    return "sent"

@transaction
def _retry(message_id, error, now):
    msg = locked(message_id)
    if msg.status != OutboxStatus.SENDING:
        return "skipped"
    msg.last_error = str(error)[:2000]
    if msg.tries >= current_app.config["OUTBOX_MAX_TRIES"]:
        msg.status, msg.status_at = OutboxStatus.FAILED, now
        return "failed"
    msg.status, msg.claimed_at, msg.next_attempt_at = OutboxStatus.QUEUED, None, now + backoff(msg.tries)
    return "retried"


@transaction
def _fail(message_id, error, now):
    msg = locked(message_id)
    if msg.status != OutboxStatus.SENDING:
        return "skipped"
    msg.status, msg.status_at, msg.last_error = OutboxStatus.FAILED, now, str(error)[:2000]
    patient = msg.patient
    if patient is not None and error.reason == "invalid_number" and not patient.phone_invalid:
        patient.phone_invalid = True  # no more messages; the control room checks the number
        raise_escalation(patient, "phone_check", Desk.CONTROL_ROOM, Severity.ROUTINE, source="job", now=now,
                         summary=f"{msg.to_phone}: {error}")
        audit.record(None, "patient.phone_invalid", "patient", patient.id, patient.district_id, now=now,
                     message_id=msg.id, code=error.code)
    elif patient is not None and error.reason == "opted_out" and not patient.sms_opt_out:
        patient.sms_opt_out = True  # the provider says the number sent STOP
        audit.record(None, "patient.sms_opt_out", "patient", patient.id, patient.district_id, now=now,
                     message_id=msg.id, code=error.code)
    return "failed"


@transaction
def _unknown(message_id, error, now):
    msg = locked(message_id)
    if msg.status != OutboxStatus.SENDING:
        return "skipped"
    msg.status, msg.status_at = OutboxStatus.UNKNOWN, now
    msg.last_error = f"outcome unknown: {error}"[:2000]
    msg.next_attempt_at = now + backoff(1)  # give the provider's records a moment before searching them
    return "unknown"
