"""Reconciliation: a message whose hand-off outcome is unknown is looked up in the provider's records,
never sent again blindly."""
from collections import Counter
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from ... import gateway as gateways
from ...extensions import db
from ...models import MessageKind, OutboundMessage, OutboxStatus
from ..core.tx import transaction
from . import messages
from .messages import MAX_BACKOFF, MAX_BATCH, backoff, call_url, locked

CLOCK_SKEW = timedelta(minutes=2)  # our clock against the provider's, when searching its records


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
    content = call_url(msg) if kind == MessageKind.CALL else messages.outgoing_text(msg)  # as it was sent
    db.session.commit()  # nothing held while the provider is asked
    gateway = gateway.for_kind(kind)
    try:
        found = gateway.find(kind, to, since, content)
    except gateways.GatewayError as exc:
        return _still_unknown(message_id, exc, now)
    if found is not None:
        messages.record_result(message_id, found, gateway.name, now)
        return "found"
    return _requeue_absent(message_id, now)


@transaction
def _still_unknown(message_id, error, now):
    msg = locked(message_id)
    if msg.status == OutboxStatus.UNKNOWN:
        msg.last_error = f"outcome unknown; the provider's records cannot tell: {error}"[:2000]
        waited = now - (msg.status_at or now)  # look again later and later, up to hourly
        msg.next_attempt_at = now + min(MAX_BACKOFF, max(backoff(1), waited))
    return "unresolved"


@transaction
def _requeue_absent(message_id, now):
    msg = locked(message_id)
    if msg.status != OutboxStatus.UNKNOWN:
        return "settled"
    if msg.tries >= current_app.config["OUTBOX_MAX_TRIES"]:
        msg.status, msg.status_at = OutboxStatus.FAILED, now
        msg.last_error = "never reached the provider; no tries left"
        return "failed"
    msg.status, msg.status_at, msg.claimed_at, msg.next_attempt_at = OutboxStatus.QUEUED, now, None, now
    msg.last_error = "the provider has no record of it: queued again"
    return "requeued"
