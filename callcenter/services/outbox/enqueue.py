"""Putting messages in the outbox: one SMS, or every patient's daily check-in (set-based, idempotent)."""
import logging
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import JSON, case, func, insert, literal, select

from ... import public_urls
from ...clock import start_of_local_day, utcnow
from ...extensions import db
from ...models import (
    CheckinChannel,
    CheckinLink,
    MessageKind,
    OutboundMessage,
    OutboxPriority,
    OutboxStatus,
    Patient,
)
from ..checkins import schedule as checkin_schedule
from ..checkins import sms_templates
from ..checkins.links import PLACEHOLDER, TOKEN_BYTES, seeded_token, token_hash
from ..core import audit
from ..core.tx import insert_ignoring_conflicts

log = logging.getLogger(__name__)

LINK_BATCH = 5000               # SMS-link check-ins are made this many patients at a time (memory-flat)


def insert_ignoring_duplicates(target=OutboundMessage):
    """A message whose idempotency key is queued already is not queued again."""
    return insert_ignoring_conflicts(target, index_elements=["idempotency_key"])


def enqueue_sms(key, to_phone, template, language, now=None, patient_id=None, send_at=None, **variables):
    """One SMS from a named template (inside the caller's transaction). Returns False if `key` was
    already enqueued. The sender hands it over on its next pass."""
    now = now or utcnow()
    language = sms_templates.language_of(language)
    body = sms_templates.render(template, language, **variables)
    stmt = insert_ignoring_duplicates().values(
        idempotency_key=key, patient_id=patient_id, kind=MessageKind.SMS, to_phone=to_phone, template=template,
        params=variables, language=language, body=body, status=OutboxStatus.QUEUED,
        priority=sms_templates.TEMPLATES[template].priority, tries=0,
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


COLUMNS = ["idempotency_key", "patient_id", "kind", "to_phone", "template", "params", "language", "body",
            "status", "priority", "tries", "next_attempt_at", "last_error", "created_at"]
BULK = int(OutboxPriority.BULK)  # the day's check-ins: after every message about one patient


def _insert_select(day, channel, body, now, send_at):
    kind, template = checkin_schedule.CHANNEL_MESSAGES[channel]
    language = case((Patient.language == "en", literal("en")), else_=literal("hi"))
    rows = checkin_schedule.due(day, channel).with_only_columns(
        checkin_schedule.key_expr(day), Patient.id, literal(kind.value), Patient.phone, literal(template),
        literal({}, JSON), language, body(language), literal(OutboxStatus.QUEUED.value), literal(BULK), literal(0),
        literal(send_at), literal(""), literal(now), maintain_column_froms=True)
    stmt = insert_ignoring_duplicates().from_select(COLUMNS, rows)
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
            seed = secrets.token_urlsafe(TOKEN_BYTES)  # the token itself is made again only when it is sent
            language = sms_templates.language_of(language)
            links.append({"token_hash": token_hash(seeded_token(seed)), "patient_id": patient_id, "created_at": now,
                          "expires_at": expires})
            messages.append({
                "idempotency_key": checkin_schedule.idempotency_key(patient_id, day), "patient_id": patient_id,
                "kind": MessageKind.SMS.value, "to_phone": phone, "template": "checkin_link",
                "params": {"seed": seed}, "language": language,
                "body": render[language](token=PLACEHOLDER),
                "status": OutboxStatus.QUEUED.value, "priority": BULK, "tries": 0, "next_attempt_at": send_at,
                "last_error": "",
                "created_at": now})
        # Core executemany (the driver's batched path): several times faster than ORM bulk inserts. A run
        # racing this one may have enqueued some of these; their links are then never sent, and harmless.
        conn = db.session.connection()
        conn.execute(insert(CheckinLink.__table__), links)
        conn.execute(insert_ignoring_duplicates(OutboundMessage.__table__), messages)
        total += db.session.scalar(select(func.count()).where(  # ours: made in this batch, at this `now`
            OutboundMessage.patient_id.between(rows[0].id, after), OutboundMessage.created_at == now,
            OutboundMessage.template == "checkin_link"))
        db.session.commit()
