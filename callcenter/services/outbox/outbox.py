"""The durable outbox: every SMS and call is a row here first, and is handed to the provider at most once.

The life of a message (models/messaging.OutboxStatus):

    queued ──claim (committed)──▶ sending ──provider took it──▶ sent ──status callback──▶ delivered / failed
      ▲                              │ retryable error (back-off) ─┘ queued   │ permanent error ─▶ failed
      │                              │ outcome unknown, or the sender died ──▶ unknown
      └──── the provider has no record of it ◀── reconcile ─────────────────────┘ (found ─▶ sent)

- Enqueue is set-based and idempotent: a unique idempotency key per message ("checkin:<patient>:<day>").
- A sender claims rows (queued → sending, claimed_at) and commits BEFORE calling the provider; on
  PostgreSQL FOR UPDATE SKIP LOCKED lets several senders share the work, and the conditional UPDATE
  makes a row theirs alone on every database.
- A message whose hand-off outcome is unknown is never sent again blindly: the provider's records are
  searched (gateway.find); found → sent; certainly absent → queued again; cannot tell → left 'unknown'
  for a status callback (its URL names the message) or a person on the outbox page.
- Sending is rate-limited (a token bucket on an injectable clock) and stops (cancelled) for patients
  no longer followed up, invalid numbers and SMS opt-outs, and for check-ins whose window has closed.
"""
import logging
import math
import secrets
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import JSON, case, func, insert, literal, select, text, update
from sqlalchemy.exc import IntegrityError

from ... import gateway as gateways
from ... import public_urls
from ...clock import local_date, start_of_local_day, utcnow
from ...extensions import db
from ...models import CheckinChannel, CheckinLink, Desk, MessageKind, OutboundMessage, OutboxStatus, Patient, Severity
from ..checkins import schedule as checkin_schedule
from ..checkins import sms_templates
from ..checkins.links import TOKEN_BYTES, token_hash
from ..core import audit
from ..core.tx import insert_ignoring_conflicts, is_postgres, transaction
from ..desks.escalations import raise_escalation

log = logging.getLogger(__name__)

LINK_BATCH = 5000               # SMS-link check-ins are made this many patients at a time (memory-flat)
MAX_BATCH = 100                 # rows claimed at once (about a second's worth at the configured rate)
MAX_BACKOFF = timedelta(hours=1)
CLOCK_SKEW = timedelta(minutes=2)  # our clock against the provider's, when searching its records
SENDER_LOCK = 0x53414D50        # PostgreSQL advisory lock: one sender pass at a time ("SAMP")

# How far along a message is: status updates only ever move forward (callbacks arrive out of order).
RANK = {OutboxStatus.QUEUED: 0, OutboxStatus.SENDING: 1, OutboxStatus.UNKNOWN: 1, OutboxStatus.SENT: 2,
        OutboxStatus.DELIVERED: 3, OutboxStatus.FAILED: 3, OutboxStatus.CANCELLED: 3}


# ── URLs the provider calls back ─────────────────────────────────────────────────────────────────────

def status_callback_url(message_id):
    """Delivery and call status callbacks (checkins/outbox_views.py); ?m= names our message."""
    return public_urls.webhook_url("checkins.twilio_status", m=message_id)


def call_url(message):
    """The IVR flow's URL for a call message (its body holds the flow's base URL)."""
    return f"{message.body}?m={message.id}"


# ── Enqueue ──────────────────────────────────────────────────────────────────────────────────────────

def _insert_ignoring_duplicates(target=OutboundMessage):
    """A message whose idempotency key is queued already is not queued again."""
    return insert_ignoring_conflicts(target, index_elements=["idempotency_key"])


def enqueue_sms(key, to_phone, template, language, now=None, patient_id=None, send_at=None, **variables):
    """One SMS from a named template (inside the caller's transaction). Returns False if `key` was
    already enqueued. The sender hands it over on its next pass."""
    now = now or utcnow()
    language = sms_templates.language_of(language)
    body = sms_templates.render(template, language, **variables)
    stmt = _insert_ignoring_duplicates().values(
        idempotency_key=key, patient_id=patient_id, kind=MessageKind.SMS, to_phone=to_phone, template=template,
        params=variables, language=language, body=body, status=OutboxStatus.QUEUED, tries=0,
        next_attempt_at=send_at or now, last_error="", created_at=now)
    return db.session.execute(stmt, execution_options={"preserve_rowcount": True}).rowcount == 1


def enqueue_daily_checkins(day, now=None, user=None, batch_size=LINK_BATCH):
    """Enqueue `day`'s check-in of every patient due one (checkin_schedule.due), to be sent from the
    window's start. Idempotent: a second run adds nothing. Commits (the SMS links in batches, so memory
    stays flat and a crash part-way loses nothing: the next run finishes the job).

    Returns {"ivr": n, "sms_reply": n, "sms_link": n, "enqueued": total} (+ "window_closed", or
    "hours_to_send" when the configured rate cannot send them all inside the window).
    """
    now = now or utcnow()
    start, end = checkin_schedule.window(day)
    counts = {"ivr": 0, "sms_reply": 0, "sms_link": 0}
    if now >= end:
        db.session.rollback()
        return {**counts, "enqueued": 0, "window_closed": True}
    send_at = max(now, start)
    try:
        counts["ivr"] = _enqueue_ivr(day, now, send_at)
        counts["sms_reply"] = _enqueue_sms_reply(day, now, send_at)
        db.session.commit()
        counts["sms_link"] = _enqueue_sms_links(day, now, send_at, batch_size)
        counts["enqueued"] = sum(counts.values())
        hours = counts["enqueued"] / current_app.config["OUTBOX_RATE_PER_SECOND"] / 3600
        if hours > (end - send_at).total_seconds() / 3600:
            # Check-ins still queued at the window's end are dropped: the rate must suit the numbers.
            counts["hours_to_send"] = round(hours, 1)
            log.warning("%s check-ins take %.1f hours at OUTBOX_RATE_PER_SECOND=%s: longer than the window",
                        counts["enqueued"], hours, current_app.config["OUTBOX_RATE_PER_SECOND"])
        audit.record(user, "checkins.enqueue", "outbound_message", now=now, day=day.isoformat(), **counts)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return counts


_COLUMNS = ["idempotency_key", "patient_id", "kind", "to_phone", "template", "params", "language", "body",
            "status", "tries", "next_attempt_at", "last_error", "created_at"]


def _insert_select(day, channel, body, now, send_at):
    kind, template = checkin_schedule.CHANNEL_MESSAGES[channel]
    language = case((Patient.language == "en", literal("en")), else_=literal("hi"))
    rows = checkin_schedule.due(day, channel).with_only_columns(
        checkin_schedule.key_expr(day), Patient.id, literal(kind.value), Patient.phone, literal(template),
        literal({}, JSON), language, body(language), literal(OutboxStatus.QUEUED.value), literal(0),
        literal(send_at), literal(""), literal(now), maintain_column_froms=True)
    stmt = _insert_ignoring_duplicates().from_select(_COLUMNS, rows)
    return db.session.execute(stmt, execution_options={"preserve_rowcount": True}).rowcount


def _enqueue_ivr(day, now, send_at):
    voice = literal(public_urls.webhook_url("checkins.voice"))  # the IVR flow (checkins/ivr.py)
    return _insert_select(day, CheckinChannel.IVR, lambda _language: voice, now, send_at)


def _enqueue_sms_reply(day, now, send_at):
    texts = {lang: sms_templates.render("checkin_reply", lang) for lang in ("hi", "en")}
    body = lambda language: case((language == "en", literal(texts["en"])), else_=literal(texts["hi"]))  # noqa: E731
    return _insert_select(day, CheckinChannel.SMS_REPLY, body, now, send_at)


def _enqueue_sms_links(day, now, send_at, batch_size):
    """Each patient's link token is random, so these rows are made in Python, a batch at a time (keyset
    over patient ids), links and messages each one executemany, one transaction per batch."""
    expires = start_of_local_day(day + timedelta(days=1))  # as checkin_links.issue: the day's end
    due = checkin_schedule.due(day, CheckinChannel.SMS_LINK).order_by(Patient.id).limit(batch_size)
    render = {lang: sms_templates.renderer("checkin_link", lang) for lang in ("hi", "en")}
    total, after = 0, 0
    while True:
        rows = db.session.execute(due.where(Patient.id > after)).all()
        if not rows:
            return total
        after = rows[-1].id
        links, messages = [], []
        for patient_id, phone, language in rows:
            token = secrets.token_urlsafe(TOKEN_BYTES)
            language = sms_templates.language_of(language)
            links.append({"token_hash": token_hash(token), "patient_id": patient_id, "created_at": now,
                          "expires_at": expires})
            messages.append({
                "idempotency_key": checkin_schedule.idempotency_key(patient_id, day), "patient_id": patient_id,
                "kind": MessageKind.SMS.value, "to_phone": phone, "template": "checkin_link",
                "params": {"token": token}, "language": language,
                "body": render[language](token=token),
                "status": OutboxStatus.QUEUED.value, "tries": 0, "next_attempt_at": send_at, "last_error": "",
                "created_at": now})
        # Core executemany (the driver's batched path): several times faster than ORM bulk inserts. A run
        # racing this one may have enqueued some of these; their links are then never sent, and harmless.
        conn = db.session.connection()
        conn.execute(insert(CheckinLink.__table__), links)
        conn.execute(_insert_ignoring_duplicates(OutboundMessage.__table__), messages)
        total += db.session.scalar(select(func.count()).where(  # ours: made in this batch, at this `now`
            OutboundMessage.patient_id.between(rows[0].id, after), OutboundMessage.created_at == now,
            OutboundMessage.template == "checkin_link"))
        db.session.commit()


# ── The sender ───────────────────────────────────────────────────────────────────────────────────────

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


# ── Can today's queue drain before the check-in window closes? ──────────────────────────────────────

@dataclass(frozen=True)
class DrainForecast:
    """The messages waiting now against the time left in today's check-in window, at `rate` per second."""
    queued: int
    rate: float
    seconds_left: float
    configured_rate: float

    @property
    def seconds_needed(self):
        return self.queued / self.rate

    @property
    def behind(self):
        return self.seconds_needed > self.seconds_left

    @property
    def rate_needed(self):
        """Messages per second that would send them all in the time left (rounded up)."""
        return math.ceil(self.queued / self.seconds_left) if self.seconds_left > 0 else None

    @property
    def minutes_needed(self):
        return math.ceil(self.seconds_needed / 60)

    @property
    def minutes_left(self):
        return math.floor(self.seconds_left / 60)


def drain_forecast(now=None, achieved=None):
    """The forecast while today's check-in window is open (or about to open), else None. The rate is the
    configured OUTBOX_RATE_PER_SECOND, or less when a sender pass `achieved` less (the provider's answer
    time: one message is handed over at a time)."""
    now = now or utcnow()
    start, end = checkin_schedule.window(local_date(now))
    if now >= end:
        return None
    queued = db.session.scalar(select(func.count()).select_from(OutboundMessage)
                               .where(OutboundMessage.status == OutboxStatus.QUEUED))
    configured = float(current_app.config["OUTBOX_RATE_PER_SECOND"])
    rate = min(configured, achieved) if achieved else configured
    return DrainForecast(queued=queued, rate=rate, seconds_left=(end - max(now, start)).total_seconds(),
                         configured_rate=configured)


def warn_if_behind(now, achieved=None):
    """Log a warning when the queue cannot drain before the window closes (the outbox page shows it too)."""
    forecast = drain_forecast(now, achieved)
    if forecast is not None and forecast.queued and forecast.behind:
        log.warning("outbox: %s messages waiting need %s min at %.1f/s, but the check-in window closes in %s min; "
                    "those not sent by then are dropped. Raise OUTBOX_RATE_PER_SECOND to at least %s (within the "
                    "provider's limits, see README).", forecast.queued, forecast.minutes_needed, forecast.rate,
                    forecast.minutes_left, forecast.rate_needed)
    return forecast


def claim(limit, now):
    """Claim up to `limit` due messages for this sender: 'sending', committed. Returns the claimed ids."""
    try:
        pick = (select(OutboundMessage.id)
                .where(OutboundMessage.status == OutboxStatus.QUEUED, OutboundMessage.next_attempt_at <= now)
                .order_by(OutboundMessage.next_attempt_at, OutboundMessage.id)
                .limit(limit).with_for_update(skip_locked=True))
        ids = db.session.scalars(pick).all()
        if ids:
            ids = db.session.scalars(
                update(OutboundMessage)
                .where(OutboundMessage.id.in_(ids), OutboundMessage.status == OutboxStatus.QUEUED)
                .values(status=OutboxStatus.SENDING, claimed_at=now, tries=OutboundMessage.tries + 1)
                .returning(OutboundMessage.id)
                .execution_options(synchronize_session=False)).all()
        db.session.commit()
        return sorted(ids)
    except BaseException:
        db.session.rollback()
        raise


@transaction
def _cancel_if_unreachable(message_id, now):
    """Just before sending: the patient opted out, their number proved invalid (perhaps through the
    message before this one) or their follow-up ended since the enqueue. True if cancelled."""
    patient = select(Patient.id).where(Patient.id == OutboundMessage.patient_id)
    blocked = patient.where(~checkin_schedule.reachable(OutboundMessage.kind)).exists()
    reason = (select(case((Patient.status != "active", "patient no longer followed up"),
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
    kind, to, content = msg.kind, msg.to_phone, call_url(msg) if msg.kind == MessageKind.CALL else msg.body
    db.session.commit()  # no transaction (nor row lock) held while the provider is called
    callback = status_callback_url(message_id)
    try:
        if kind == MessageKind.CALL:
            result = gateway.start_call(to, content, status_callback=callback)
        else:
            result = gateway.send_sms(to, content, status_callback=callback)
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
    record_result(message_id, result, gateway.name, now)
    return "sent"


def _locked(message_id):
    return db.session.scalar(select(OutboundMessage).where(OutboundMessage.id == message_id)
                             .with_for_update().execution_options(populate_existing=True))


def _backoff(tries):
    seconds = current_app.config["OUTBOX_RETRY_SECONDS"] * 2 ** max(0, tries - 1)
    return min(timedelta(seconds=seconds), MAX_BACKOFF)


@transaction
def _retry(message_id, error, now):
    msg = _locked(message_id)
    if msg.status != OutboxStatus.SENDING:
        return "skipped"
    msg.last_error = str(error)[:2000]
    if msg.tries >= current_app.config["OUTBOX_MAX_TRIES"]:
        msg.status, msg.status_at = OutboxStatus.FAILED, now
        return "failed"
    msg.status, msg.claimed_at, msg.next_attempt_at = OutboxStatus.QUEUED, None, now + _backoff(msg.tries)
    return "retried"


@transaction
def _fail(message_id, error, now):
    msg = _locked(message_id)
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
    msg = _locked(message_id)
    if msg.status != OutboxStatus.SENDING:
        return "skipped"
    msg.status, msg.status_at = OutboxStatus.UNKNOWN, now
    msg.last_error = f"outcome unknown: {error}"[:2000]
    msg.next_attempt_at = now + _backoff(1)  # give the provider's records a moment before searching them
    return "unknown"


@transaction
def record_result(message_id, result, provider, now):
    """The provider took the message (from the sender, a reconciliation or a status callback)."""
    msg = _locked(message_id)
    _take_result(msg, result, provider, now)
    return msg


def _take_result(msg, result, provider, now):
    if msg.provider_sid and msg.provider_sid != result.sid:
        # Should never happen (it would mean the provider has it twice): keep the first, say so.
        log.error("outbox message %s: provider %s also has it as %s", msg.id, msg.provider_sid, result.sid)
        msg.last_error = f"also sent as {result.sid}"
        return False
    msg.provider, msg.provider_sid = provider, result.sid
    msg.sent_at = msg.sent_at or now
    if msg.status in (OutboxStatus.SENDING, OutboxStatus.UNKNOWN, OutboxStatus.QUEUED):
        msg.status, msg.status_at = OutboxStatus.SENT, now
        msg.last_error = ""
    advance(msg, result.status, now, result.error)
    _forget_link_token(msg, provider)
    return True


def _forget_link_token(msg, provider):
    """Only a link token's hash is kept (checkin_links): once the provider has the text, mask the token in
    our copy. The console backend keeps it, so its outbox page can open the link."""
    token = (msg.params or {}).get("token")
    if not token or _keeps_text(provider):
        return
    msg.body = msg.body.replace(token, "…")
    msg.params = {**msg.params, "token": "…"}


def _keeps_text(provider):
    try:
        return gateways.backend_class(provider).keeps_text
    except Exception:  # a provider since removed from the configuration
        return False


def advance(msg, status, now, error=""):
    """Move `msg` to `status` only if that is further along: a repeated or late callback changes nothing.
    (A cancelled message the provider turns out to have is the provider's word.)"""
    status = OutboxStatus(status)
    current = OutboxStatus(msg.status)
    if status == current:
        return False
    if current == OutboxStatus.CANCELLED:
        if status not in (OutboxStatus.SENT, OutboxStatus.DELIVERED, OutboxStatus.FAILED):
            return False
    elif RANK[status] <= RANK[current]:
        return False
    msg.status, msg.status_at = status, now
    if status == OutboxStatus.FAILED and error:
        msg.last_error = str(error)[:2000]
    return True


# ── Reconciliation ───────────────────────────────────────────────────────────────────────────────────

def reconcile(gateway, now, limit=MAX_BATCH):
    """Messages whose hand-off outcome is unknown: a sender that died mid-hand-off left them 'sending'
    (past OUTBOX_RECONCILE_AFTER_MINUTES), or the provider's answer was lost. Each is looked up in the
    provider's records: found → sent; certainly absent → queued again (or failed after the max tries);
    cannot tell → stays 'unknown' (looked up again later; a status callback or a person settles it)."""
    counts = Counter()
    stale = now - timedelta(minutes=current_app.config["OUTBOX_RECONCILE_AFTER_MINUTES"])
    counts["stalled"] = db.session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.status == OutboxStatus.SENDING, OutboundMessage.claimed_at < stale)
        .values(status=OutboxStatus.UNKNOWN, status_at=now, next_attempt_at=now,
                last_error="the sender stopped during the hand-off")
        .execution_options(synchronize_session=False), execution_options={"preserve_rowcount": True}).rowcount
    db.session.commit()
    ids = db.session.scalars(
        select(OutboundMessage.id)
        .where(OutboundMessage.status == OutboxStatus.UNKNOWN, OutboundMessage.next_attempt_at <= now)
        .order_by(OutboundMessage.next_attempt_at, OutboundMessage.id).limit(limit)).all()
    db.session.commit()
    for message_id in ids:
        counts[_reconcile_one(message_id, gateway, now)] += 1
    return {k: v for k, v in counts.items() if v}


def _reconcile_one(message_id, gateway, now):
    msg = db.session.get(OutboundMessage, message_id)
    if msg.status != OutboxStatus.UNKNOWN:
        db.session.commit()
        return "settled"
    kind, to = msg.kind, msg.to_phone
    since = (msg.claimed_at or msg.created_at) - CLOCK_SKEW
    content = call_url(msg) if kind == MessageKind.CALL else msg.body
    db.session.commit()  # nothing held while the provider is asked
    try:
        found = gateway.find(kind, to, since, content)
    except gateways.GatewayError as exc:
        return _still_unknown(message_id, exc, now)
    if found is not None:
        record_result(message_id, found, gateway.name, now)
        return "found"
    return _requeue_absent(message_id, now)


@transaction
def _still_unknown(message_id, error, now):
    msg = _locked(message_id)
    if msg.status == OutboxStatus.UNKNOWN:
        msg.last_error = f"outcome unknown; the provider's records cannot tell: {error}"[:2000]
        waited = now - (msg.status_at or now)  # look again later and later, up to hourly
        msg.next_attempt_at = now + min(MAX_BACKOFF, max(_backoff(1), waited))
    return "unresolved"


@transaction
def _requeue_absent(message_id, now):
    msg = _locked(message_id)
    if msg.status != OutboxStatus.UNKNOWN:
        return "settled"
    if msg.tries >= current_app.config["OUTBOX_MAX_TRIES"]:
        msg.status, msg.status_at = OutboxStatus.FAILED, now
        msg.last_error = "never reached the provider; no tries left"
        return "failed"
    msg.status, msg.status_at, msg.claimed_at, msg.next_attempt_at = OutboxStatus.QUEUED, now, None, now
    msg.last_error = "the provider has no record of it: queued again"
    return "requeued"


# ── Status callbacks and people ──────────────────────────────────────────────────────────────────────

def apply_status(sid, status, provider, message_id=None, error="", now=None):
    """A delivery or call status from the provider. Idempotent and monotonic. Returns the message, or None
    if it is not ours. `message_id` (from the callback URL) settles a message whose id we never recorded."""
    now = now or utcnow()
    try:
        msg = db.session.scalar(select(OutboundMessage).where(OutboundMessage.provider_sid == sid)
                                .with_for_update())
        if msg is None and message_id is not None:
            msg = _locked(message_id)
            if msg is not None and msg.provider_sid not in (None, sid):
                msg = None  # that message has another id at the provider: not this callback's
        if msg is None:
            db.session.rollback()
            return None
        if msg.provider_sid is None:
            _take_result(msg, gateways.ProviderResult(sid, status, "", error), provider, now)
        else:
            advance(msg, status, now, error)
        db.session.commit()
        return msg
    except IntegrityError:
        db.session.rollback()  # the sid belongs to another message: not this one
        return None
    except BaseException:
        db.session.rollback()
        raise


RESOLVABLE = {"resend": (OutboxStatus.UNKNOWN, OutboxStatus.FAILED),
              "cancel": (OutboxStatus.UNKNOWN, OutboxStatus.QUEUED)}


@transaction
def resolve(message_id, action, user, now=None):
    """A person settles a message: "resend" (they checked the provider: it never went) or "cancel"."""
    now = now or utcnow()
    msg = _locked(message_id)
    if msg is None or msg.status not in RESOLVABLE.get(action, ()) or not _visible(user, msg):
        return None
    if action == "resend":
        msg.status, msg.claimed_at, msg.next_attempt_at = OutboxStatus.QUEUED, None, now
        msg.tries = min(msg.tries, current_app.config["OUTBOX_MAX_TRIES"] - 1)  # one more try at least
    else:
        msg.status = OutboxStatus.CANCELLED
    msg.status_at = now
    audit.record(user, f"outbox.{action}", "outbound_message", msg.id, msg.patient.district_id if msg.patient else None,
                 now=now)
    return msg


def _visible(user, msg):
    return user.district_id is None or (msg.patient is not None and msg.patient.district_id == user.district_id)


def latest(user, status=None, before=None, limit=100):
    """The latest messages the user may see (their district's patients), newest first."""
    stmt = select(OutboundMessage).outerjoin(Patient, Patient.id == OutboundMessage.patient_id)
    if user.district_id is not None:
        stmt = stmt.where(Patient.district_id == user.district_id)
    if status:
        stmt = stmt.where(OutboundMessage.status == status)
    if before:
        stmt = stmt.where(OutboundMessage.id < before)
    return db.session.scalars(stmt.order_by(OutboundMessage.id.desc()).limit(limit)).all()
